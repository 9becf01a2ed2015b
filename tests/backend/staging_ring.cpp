// The host→device staging ring's bookkeeping (backend/cuda/staging_ring.hpp), run on the CPU with a
// simulated device: each copy's fence is a number, and a span's bytes count as the device's until
// its fence has been waited for. Every placement must avoid the spans still in flight, wait for
// as little as it can (oldest first), and refuse what cannot fit.
#include <doctest/doctest.h>

#include <contra/backend/cuda/staging_ring.hpp>
#include <vector>

using namespace contra;
using Ring = cu::StagingRing<int>;

namespace {

// The ring and a model of it: which fence owns each byte until that fence has been waited for.
struct Simulation {
    Ring ring;
    std::vector<int> owner;  // −1: free
    std::vector<int> waited, recycled;
    int next_fence = 0;
    explicit Simulation(std::size_t capacity) : ring(capacity), owner(capacity, -1) {}

    // Places `bytes`, checks the span is inside the ring and free, then marks it in flight.
    std::size_t copy(std::size_t bytes) {
        const std::size_t at = ring.place(
            bytes,
            [&](int fence) {
                waited.push_back(fence);
                for (int& o : owner)
                    if (o == fence) o = -1;
            },
            [&](int fence) { recycled.push_back(fence); });
        REQUIRE(at % Ring::kAlign == 0);
        REQUIRE(at + bytes <= owner.size());
        for (std::size_t i = at; i < at + bytes; ++i) REQUIRE(owner[i] == -1);
        const int fence = next_fence++;
        for (std::size_t i = at; i < at + bytes; ++i) owner[i] = fence;
        ring.queued(at, bytes, fence);
        return at;
    }
};

}  // namespace

TEST_CASE("staging ring: spans follow each other and nothing waits while there is room") {
    Simulation s(4096);
    CHECK(s.copy(100) == 0);
    CHECK(s.copy(256) == 256);  // the 100 bytes round up to one 256-byte unit
    CHECK(s.copy(1000) == 512);
    CHECK(s.waited.empty());
    CHECK(s.ring.in_flight() == 3);
}

TEST_CASE("staging ring: a span that does not fit before the end starts at 0, after the oldest spans there") {
    Simulation s(4096);
    s.copy(1024);  // fence 0 at 0
    s.copy(1024);  // fence 1 at 1024
    s.copy(1536);  // fence 2 at 2048
    CHECK(s.copy(1024) == 0);  // 3584 + 1024 > 4096: wraps, and only fence 0 held [0, 1024)
    CHECK(s.waited == std::vector<int>{0});
    CHECK(s.recycled == std::vector<int>{0});
    CHECK(s.copy(512) == 1024);  // overlaps fence 1's span: waits for it alone
    CHECK(s.waited == std::vector<int>{0, 1});
    CHECK(s.ring.in_flight() == 3);  // fences 2, 3, 4
}

TEST_CASE("staging ring: a long run of copies of mixed sizes never overwrites a span in flight") {
    Simulation s(8192);
    const std::size_t sizes[] = {1, 300, 8192, 4000, 256, 5000, 17, 2048, 7000, 512};
    for (int round = 0; round < 50; ++round)
        for (const std::size_t n : sizes) s.copy(n);  // each copy() checks its span was free
    // Fences were waited for in the order they were made, and each once.
    for (std::size_t i = 0; i < s.waited.size(); ++i) CHECK(s.waited[i] == int(i));
    CHECK(s.recycled == s.waited);
    int drained = 0;
    s.ring.drain([&](int) { ++drained; }, [](int) {});
    CHECK(drained + int(s.waited.size()) == s.next_fence);
    CHECK(s.ring.in_flight() == 0);
}

TEST_CASE("staging ring: bad sizes are refused") {
    CHECK_THROWS_WITH_AS(Ring(1000), doctest::Contains("multiple of 256"), Error);
    CHECK_THROWS_WITH_AS(Ring(0), doctest::Contains("positive multiple"), Error);
    Simulation s(1024);
    CHECK_THROWS_WITH_AS(s.copy(1025), doctest::Contains("1025 bytes in a ring of 1024"), Error);
    CHECK_THROWS_AS(s.copy(0), Error);
}
