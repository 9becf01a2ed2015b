// A replacement global operator new that remembers the largest single request, so tests can show
// that a file's header did not make a reader allocate what it promised. In its own translation
// unit so the compiler never sees the malloc/free pairing behind new/delete. Declared in
// allocation_probe.hpp.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> largest{0};
}

namespace contra::test {
std::size_t largest_allocation() { return largest.load(); }
void reset_largest_allocation() { largest = 0; }
}  // namespace contra::test

void* operator new(std::size_t bytes) {
    std::size_t seen = largest.load(std::memory_order_relaxed);
    while (bytes > seen && !largest.compare_exchange_weak(seen, bytes, std::memory_order_relaxed)) {
    }
    if (void* p = std::malloc(bytes ? bytes : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
