// The doctest main shared by every test program. A program whose tests need hardware or data
// that is absent exits with 77 after saying what was skipped (ctest reports it as skipped).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

#include "support/skip.hpp"

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int failures = context.run();
    if (context.shouldExit()) return failures;
    if (failures == 0 && contra::test::skipped_everything()) return 77;
    return failures;
}
