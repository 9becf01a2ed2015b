// The short-sequence attention kernels' block program (backend/cuda/attention_block.hpp) run on the
// CPU as a GPU runs it, thread by thread with a barrier between steps, against the reference
// backend's attention, in float and bf16: CLIP's 50 and 77 tokens, odd lengths, the causal mask and
// a key-padding mask. Shared memory and outputs start as NaN, so a value read before it is staged
// or an output left unwritten shows.
#include <doctest/doctest.h>

#include <contra/backend/cuda/attention_block.hpp>
#include <cstring>
#include <limits>

#include "../support/agree.hpp"

using namespace contra;
namespace sa = contra::cu::short_attention;

namespace {

// A block's shared memory, every byte 0xff (NaN in float and bf16) before each block.
struct SharedMemory {
    std::vector<float> words;
    explicit SharedMemory(std::size_t bytes) : words((bytes + sizeof(float) - 1) / sizeof(float)) {}
    void* fresh() {
        std::memset(words.data(), 0xff, words.size() * sizeof(float));
        return words.data();
    }
};

template <class T>
Tensor<T, cpu> nans(const Shape& shape) {
    return Tensor<T, cpu>::full(shape, T(std::numeric_limits<float>::quiet_NaN()));
}

// Runs each step for every thread of the block before the next step, as __syncthreads() orders them.
template <class T>
void forward_on_host(const sa::Problem& p, std::int64_t N, const Tensor<T, cpu>& qkv, Tensor<T, cpu>& out,
                     Tensor<T, cpu>& probs) {
    const int threads = sa::threads(p.tokens);
    SharedMemory shared(sa::ForwardShared<T>::bytes(p.tokens));
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t h = 0; h < p.heads; ++h) {
            const auto s = sa::ForwardShared<T>::at(shared.fresh(), p.tokens);
            for (int t = 0; t < threads; ++t) sa::stage_keys_values(t, threads, p, n, h, qkv.data(), s);
            for (int t = 0; t < threads; ++t) sa::attend(t, p, n, h, qkv.data(), s, out.data(), probs.data());
        }
}

template <class T>
void backward_on_host(const sa::Problem& p, std::int64_t N, const Tensor<T, cpu>& qkv, const Tensor<T, cpu>& probs,
                      const Tensor<T, cpu>& dout, Tensor<T, cpu>& dqkv) {
    const int threads = sa::threads(p.tokens);
    SharedMemory shared(sa::BackwardShared<T>::bytes(p.tokens));
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t h = 0; h < p.heads; ++h) {
            const auto s = sa::BackwardShared<T>::at(shared.fresh(), p.tokens);
            for (int t = 0; t < threads; ++t) sa::stage_backward(t, threads, p, n, h, qkv.data(), dout.data(), s);
            for (int t = 0; t < threads; ++t)
                sa::backward_scores_and_dq(t, p, n, h, probs.data(), dout.data(), s, dqkv.data());
            for (int t = 0; t < threads; ++t) sa::backward_dk_dv(t, p, n, h, probs.data(), s, dqkv.data());
        }
}

// |a − b| ≤ rtol·|b| + scaled·max|b| everywhere: float sums against the reference's double ones.
// `scaled` allows for cancellation (the backward's entries sum terms of both signs).
template <class T>
void check_close(const Tensor<T, cpu>& got, const Tensor<T, cpu>& want, double rtol, double scaled) {
    double largest = 0;
    for (std::int64_t i = 0; i < want.numel(); ++i) largest = std::max(largest, std::abs(double(want[i])));
    std::int64_t bad = 0, first = -1;
    for (std::int64_t i = 0; i < want.numel(); ++i) {
        const double a = double(got[i]), b = double(want[i]);
        if (!(std::abs(a - b) <= rtol * std::abs(b) + scaled * largest)) {
            if (first < 0) first = i;
            ++bad;
        }
    }
    INFO("first differing element " << first << ": " << (first >= 0 ? double(got[first]) : 0.0) << " against "
                                    << (first >= 0 ? double(want[first]) : 0.0));
    CHECK(bad == 0);
}

template <class T>
double rtol() {
    return std::is_same_v<T, bf16> ? 2e-2 : 1e-5;
}

}  // namespace

TEST_CASE_TEMPLATE("the short-sequence attention block program agrees with the reference", T, float, bf16) {
    const std::int64_t D = sa::kHeadDim;
    // [N, tokens, heads]: ViT-B/32's 50 tokens, the text tower's 77, one token, a length that fills
    // no warp, the longest sequence the kernels take.
    for (auto [N, L, heads] : {std::array<std::int64_t, 3>{2, 50, 2}, {2, 77, 2}, {2, 1, 1}, {3, 33, 3}, {1, 128, 1}})
        for (bool causal : {false, true})
            for (bool padded : {false, true}) {
                INFO("N " << N << " tokens " << L << " heads " << heads << " causal " << causal << " padded " << padded);
                REQUIRE(sa::fits<T>(L, D));
                const std::int64_t W = heads * D;
                const auto qkv = test::rand<T>(Shape{N, L, 3 * W}, 31, 0.5);
                const auto dout = test::rand<T>(Shape{N, L, W}, 32);
                std::vector<std::int64_t> lengths;
                for (std::int64_t n = 0; n < N && padded; ++n) lengths.push_back(std::max<std::int64_t>(1, L - 7 * n - 3));
                const ops::SoftmaxMask mask{causal, lengths};
                const double scale = 1.0 / std::sqrt(double(D));
                const sa::Problem p{L, W, heads, causal, padded ? lengths.data() : nullptr, float(scale)};

                auto out = nans<T>(Shape{N, L, W}), probs = nans<T>(Shape{N, heads, L, L});
                forward_on_host(p, N, qkv, out, probs);
                auto ref_out = nans<T>(Shape{N, L, W}), ref_probs = nans<T>(Shape{N, heads, L, L});
                ops::attention(reference{}, qkv, heads, mask, scale, ref_out, ref_probs);
                check_close(probs, ref_probs, rtol<T>(), rtol<T>());
                check_close(out, ref_out, rtol<T>(), rtol<T>());

                // The backward from the reference's probabilities, so both see the same inputs.
                auto dqkv = nans<T>(qkv.shape()), ref_dqkv = nans<T>(qkv.shape());
                backward_on_host(p, N, qkv, ref_probs, dout, dqkv);
                ops::attention_backward(reference{}, qkv, ref_probs, dout, heads, scale, ref_dqkv);
                check_close(dqkv, ref_dqkv, rtol<T>(), rtol<T>());
            }
}

TEST_CASE("the short-sequence kernels take CLIP's shapes and leave the rest to the general kernels") {
    CHECK(sa::fits<float>(50, 64));
    CHECK(sa::fits<bf16>(77, 64));
    CHECK_FALSE(sa::fits<float>(129, 64));  // longer than four warps
    CHECK_FALSE(sa::fits<float>(77, 32));   // another head dimension
    CHECK_FALSE(sa::fits<double>(77, 64));  // double stays on the checking path
    CHECK(sa::threads(50) == 64);
    CHECK(sa::threads(77) == 96);
    CHECK(sa::threads(128) == 128);
    // The backward's shared memory: four [L, 64] blocks, then ds with an odd row stride.
    CHECK(sa::BackwardShared<float>::bytes(77) == 4 * 77 * 64 * 4 + 77 * 77 * 4);
    CHECK(sa::BackwardShared<bf16>::bytes(50) == 4 * 50 * 64 * 2 + 50 * 51 * 4);
}
