// The counter-based RNG: known answers, independence of streams, distribution moments.
#include <doctest/doctest.h>

#include <cmath>
#include <contra/contra.hpp>

using namespace contra;

TEST_CASE("philox4x32-10: known-answer vectors of Salmon et al.") {
    // Random123 kat_vectors: philox4x32 10 rounds, counter 0, key 0 → 6627e8d5 e169c58d bc57ac4c 9b00dbd8
    const auto zero = Philox(0)(0, 0);
    CHECK(zero.v[0] == 0x6627e8d5u);
    CHECK(zero.v[1] == 0xe169c58du);
    CHECK(zero.v[2] == 0xbc57ac4cu);
    CHECK(zero.v[3] == 0x9b00dbd8u);
    // counter all ones, key all ones → 408f276d 41c83b0e a20bc7c6 6d5451fd
    const auto ones = Philox(~0ull)(~0ull, ~0ull);
    CHECK(ones.v[0] == 0x408f276du);
    CHECK(ones.v[1] == 0x41c83b0eu);
    CHECK(ones.v[2] == 0xa20bc7c6u);
    CHECK(ones.v[3] == 0x6d5451fdu);
}

TEST_CASE("random streams: pure functions of (seed, stream, index); normal moments") {
    RandomStream a{1, stream_id("visual.proj")}, b{1, stream_id("text_projection")};
    CHECK(a.normal(5) == a.normal(5));
    CHECK(a.normal(5) != b.normal(5));
    double sum = 0, sum2 = 0, usum = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
        const double z = a.normal(std::uint64_t(i));
        sum += z;
        sum2 += z * z;
        const double u = a.uniform(std::uint64_t(i));
        CHECK_MESSAGE((u > 0 && u < 1), "uniform out of (0,1)");
        usum += u;
    }
    CHECK(std::abs(sum / n) < 0.01);
    CHECK(std::abs(sum2 / n - 1) < 0.01);
    CHECK(std::abs(usum / n - 0.5) < 0.005);
}

TEST_CASE("rng: sequential draws are resumable from (seed, stream, position)") {
    Rng r(3, 9);
    for (int i = 0; i < 10; ++i) r.uniform();
    Rng resumed(3, 9);
    resumed.position = r.position;
    CHECK(r.uniform() == resumed.uniform());
    std::vector<int> v{0, 1, 2, 3, 4, 5, 6, 7};
    Rng s(11);
    s.shuffle(v);
    std::vector<int> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
}
