// contra/core/random.hpp — counter-based random numbers (Philox4x32-10), the same on CPU and GPU.
// defines: contra::Philox, contra::RandomStream, contra::stream_id
#pragma once
#include <cmath>
#include <cstdint>
#include <string_view>

#include "config.hpp"

namespace contra {

// Philox4x32-10 (Salmon et al., SC'11): a keyed bijection of a 128-bit counter. Element i of a
// random tensor is a pure function of (seed, stream, i), so every device, thread count and
// traversal order produces the same numbers.
struct Philox {
    std::uint32_t key[2];

    CONTRA_HOST_DEVICE Philox(std::uint64_t seed) : key{std::uint32_t(seed), std::uint32_t(seed >> 32)} {}

    struct Block {
        std::uint32_t v[4];
    };
    CONTRA_HOST_DEVICE Block operator()(std::uint64_t counter_lo, std::uint64_t counter_hi) const {
        std::uint32_t c[4] = {std::uint32_t(counter_lo), std::uint32_t(counter_lo >> 32), std::uint32_t(counter_hi),
                              std::uint32_t(counter_hi >> 32)};
        std::uint32_t k0 = key[0], k1 = key[1];
        for (int round = 0; round < 10; ++round) {
            const std::uint64_t p0 = std::uint64_t(0xD2511F53u) * c[0];
            const std::uint64_t p1 = std::uint64_t(0xCD9E8D57u) * c[2];
            const std::uint32_t hi0 = std::uint32_t(p0 >> 32), lo0 = std::uint32_t(p0);
            const std::uint32_t hi1 = std::uint32_t(p1 >> 32), lo1 = std::uint32_t(p1);
            c[0] = hi1 ^ c[1] ^ k0;
            c[1] = lo1;
            c[2] = hi0 ^ c[3] ^ k1;
            c[3] = lo0;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        return {{c[0], c[1], c[2], c[3]}};
    }
};

// RandomStream: the numbers of one named purpose (a parameter's init, one step's dropout).
// uniform(i) in (0, 1), normal(i) ~ N(0, 1); both pure functions of (seed, stream, i).
struct RandomStream {
    std::uint64_t seed = 0;
    std::uint64_t stream = 0;

    CONTRA_HOST_DEVICE Philox::Block bits(std::uint64_t index) const { return Philox(seed)(index, stream); }
    static CONTRA_HOST_DEVICE double to_unit(std::uint32_t hi, std::uint32_t lo) {
        // 53 random bits, shifted off zero: (0, 1)
        const std::uint64_t m = (std::uint64_t(hi) << 21) ^ (lo >> 11);
        return (double(m & ((std::uint64_t(1) << 53) - 1)) + 0.5) * (1.0 / 9007199254740992.0);
    }
    CONTRA_HOST_DEVICE double uniform(std::uint64_t index) const {
        const auto b = bits(index);
        return to_unit(b.v[0], b.v[1]);
    }
    CONTRA_HOST_DEVICE double normal(std::uint64_t index) const {
        const auto b = bits(index);
        const double u1 = to_unit(b.v[0], b.v[1]), u2 = to_unit(b.v[2], b.v[3]);
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    CONTRA_HOST_DEVICE std::uint64_t below(std::uint64_t index, std::uint64_t n) const {
        const auto b = bits(index);
        const std::uint64_t r = (std::uint64_t(b.v[0]) << 32) | b.v[1];
        return n ? r % n : 0;
    }
};

// stream_id(name): a stable 64-bit id (FNV-1a) for a name, so a parameter's initial values
// depend on its name, not on the order parameters are visited in.
constexpr std::uint64_t stream_id(std::string_view name) {
    std::uint64_t h = 1469598103934665603ull;
    for (char ch : name) {
        h ^= std::uint8_t(ch);
        h *= 1099511628211ull;
    }
    return h;
}

// Rng: a sequential generator for host-side choices (shuffles, templates, data synthesis):
// draw k is RandomStream{seed, stream}.bits(k). Its whole state is (seed, stream, position),
// which checkpoints save to resume exactly.
struct Rng {
    RandomStream source;
    std::uint64_t position = 0;

    explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0) : source{seed, stream} {}
    double uniform() { return source.uniform(position++); }
    double normal() { return source.normal(position++); }
    std::uint64_t below(std::uint64_t n) { return source.below(position++, n); }
    template <class Vec>
    void shuffle(Vec& v) {
        for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
    }
};

}  // namespace contra
