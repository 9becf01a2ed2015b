// tests/support/allocation_probe.hpp — the largest single allocation since the last reset, for
// tests that show a malformed header did not make a reader allocate what it promised. Test
// programs that use it link the contra_allocation_probe object library (allocation_probe.cpp).
#pragma once
#include <cstddef>

namespace contra::test {
std::size_t largest_allocation();
void reset_largest_allocation();
}  // namespace contra::test
