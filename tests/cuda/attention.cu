// attention from a fused qkv and its backward pass on the GPU against the reference backend, in
// float, double and bf16, with and without the causal mask, for CLIP's shapes and for sequence
// lengths and head dimensions that fit no tile; the short-sequence kernels against the general ones.
#include "gpu.cuh"

#include <array>
#include <limits>

using namespace contra;
using test::agree;
using test::have_gpu;
using test::on;
using test::rand;

namespace {
// [n, t, w, heads]: CLIP's towers in miniature; one token and one head; ViT-B/32's 50 tokens of
// head dimension 64; the text tower's 77; head dimensions 40 and 100 (not a multiple of 32); 300 tokens.
constexpr std::array<std::array<std::int64_t, 4>, 8> kShapes{{{3, 7, 12, 3},
                                                              {2, 17, 16, 2},
                                                              {1, 1, 4, 1},
                                                              {2, 50, 256, 4},
                                                              {2, 77, 128, 2},
                                                              {2, 9, 80, 2},
                                                              {1, 5, 200, 2},
                                                              {1, 300, 64, 2}}};

// The probabilities go through a softmax and a product in bf16: a little more room there.
template <class T>
test::Tolerance attention_tolerance() {
    return std::is_same_v<T, bf16> ? test::tolerance<T>().times(2) : test::tolerance<T>();
}
}  // namespace

TEST_CASE_TEMPLATE("attention agrees, forward and backward, with and without the causal mask", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (auto [n, t, w, h] : kShapes)
        for (bool causal : {false, true}) {
            INFO("n " << n << " t " << t << " w " << w << " heads " << h << " causal " << causal);
            const auto qkv = rand<T>(Shape{n, t, 3 * w}, 21, 2.0);
            const auto dout = rand<T>(Shape{n, t, w}, 22);
            const double scale = 1.0 / std::sqrt(double(w / h));
            agree<T>([&](auto be, auto& o) {
                ops::attention(be, on(be, qkv), h, ops::SoftmaxMask{causal}, scale, o[0], o[1]);
            }, {Shape{n, t, w}, Shape{n, h, t, t}}, attention_tolerance<T>());
            auto out = Tensor<T, cpu>::empty(Shape{n, t, w}), probs = Tensor<T, cpu>::empty(Shape{n, h, t, t});
            ops::attention(reference{}, qkv, h, ops::SoftmaxMask{causal}, scale, out, probs);
            agree<T>([&](auto be, auto& o) {
                ops::attention_backward(be, on(be, qkv), on(be, probs), on(be, dout), h, scale, o[0]);
            }, {Shape{n, t, 3 * w}}, attention_tolerance<T>());
        }
}

TEST_CASE_TEMPLATE("attention and softmax with a key-padding mask agree", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    const std::int64_t n = 3, t = 77, w = 64, h = 2;
    const std::vector<std::int64_t> lengths{77, 12, 1};
    const auto qkv = rand<T>(Shape{n, t, 3 * w}, 26, 2.0);
    for (bool causal : {false, true}) {
        INFO("causal " << causal);
        agree<T>([&](auto be, auto& o) {
            ops::attention(be, on(be, qkv), h, ops::SoftmaxMask{causal, lengths}, 0.125, o[0], o[1]);
        }, {Shape{n, t, w}, Shape{n, h, t, t}}, attention_tolerance<T>());
        const auto scores = rand<T>(Shape{n, h, t, t}, 27, 2.0);
        agree<T>([&](auto be, auto& o) {
            ops::softmax(be, on(be, scores), ops::SoftmaxMask{causal, lengths}, static_cast<const TensorOn<T, decltype(be)>*>(nullptr), o[0]);
        }, {scores.shape()}, attention_tolerance<T>());
    }
}

TEST_CASE("attention_backward writes every column of dqkv, and the same bits on every run") {
    if (!have_gpu()) return;
    const std::int64_t n = 2, t = 77, w = 128, h = 2;
    const auto qkv = to_device<cuda>(rand<float>(Shape{n, t, 3 * w}, 23));
    const auto dout = to_device<cuda>(rand<float>(Shape{n, t, w}, 24));
    auto out = Tensor<float, cuda>::empty(Shape{n, t, w}), probs = Tensor<float, cuda>::empty(Shape{n, h, t, t});
    ops::attention(cuda{}, qkv, h, ops::SoftmaxMask{true}, 0.125, out, probs);
    const auto nan = Tensor<float, cpu>::full(Shape{n, t, 3 * w}, std::numeric_limits<float>::quiet_NaN());
    auto first = to_device<cuda>(nan), second = to_device<cuda>(nan);
    ops::attention_backward(cuda{}, qkv, probs, dout, h, 0.125, first);
    ops::attention_backward(cuda{}, qkv, probs, dout, h, 0.125, second);
    CHECK(ops::reduce_all(cuda{}, ops::ReduceOp::count_nonfinite, first) == 0);
    CHECK(test::bitwise_equal(first, second));
    // Each row of probabilities sums to 1 and is 0 above the diagonal.
    const auto p = to_device<cpu>(probs);
    for (std::int64_t i : {std::int64_t(0), std::int64_t(40), t - 1}) {
        double total = 0;
        for (std::int64_t j = 0; j < t; ++j) total += double(p.at(1, 1, i, j));
        CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
        for (std::int64_t j = i + 1; j < t; ++j) CHECK(p.at(1, 1, i, j) == 0.0f);
    }
}

TEST_CASE_TEMPLATE("the short-sequence attention kernels agree with the general kernels, forward and backward", T, float, bf16) {
    if (!have_gpu()) return;
    // [n, t, heads] at head dimension 64: ViT-B/32's 50 tokens, the text tower's 77, the longest.
    for (auto [n, t, h] : {std::array<std::int64_t, 3>{4, 50, 3}, {3, 77, 2}, {1, 128, 2}})
        for (bool causal : {false, true})
            for (bool padded : {false, true}) {
                INFO("n " << n << " t " << t << " heads " << h << " causal " << causal << " padded " << padded);
                const cu::HeadLayout g{t, 64 * h, h, 64};
                REQUIRE(cu::short_attention_fits<T>(n, g));
                const auto qkv = to_device<cuda>(rand<T>(Shape{n, t, 3 * 64 * h}, 41, 1.5));
                const auto dout = to_device<cuda>(rand<T>(Shape{n, t, 64 * h}, 42));
                std::vector<std::int64_t> lengths;
                for (std::int64_t i = 0; i < n && padded; ++i) lengths.push_back(std::max<std::int64_t>(1, t - 11 * i - 2));
                const auto device_lengths = padded ? cu::device_copy(std::span<const std::int64_t>(lengths))
                                                   : Tensor<std::int64_t, cuda>();
                const std::int64_t* key_lengths = padded ? device_lengths.data() : nullptr;
                auto outputs = [&](bool short_kernels) {
                    auto out = Tensor<T, cuda>::empty(Shape{n, t, 64 * h});
                    auto probs = Tensor<T, cuda>::empty(Shape{n, h, t, t});
                    auto dqkv = Tensor<T, cuda>::empty(qkv.shape());
                    const auto stream = cu::current_stream();
                    if (short_kernels) {
                        cu::launch_short_attention(stream, n, g, causal, key_lengths, 0.125, qkv.data(), out.data(), probs.data());
                        cu::launch_short_attention_backward(stream, n, g, 0.125, qkv.data(), probs.data(), dout.data(), dqkv.data());
                    } else {
                        cu::launch_attention(stream, n, g, causal, key_lengths, 0.125, qkv.data(), out.data(), probs.data());
                        cu::launch_attention_backward(stream, n, g, 0.125, qkv.data(), probs.data(), dout.data(), dqkv.data());
                    }
                    return std::array<Tensor<T, cpu>, 3>{to_device<cpu>(out), to_device<cpu>(probs), to_device<cpu>(dqkv)};
                };
                const auto fused = outputs(true), general = outputs(false);
                const auto tol = attention_tolerance<T>();
                for (int i = 0; i < 3; ++i) {
                    INFO("output " << i << " (out, probs, dqkv)");
                    CHECK_CLOSE(fused[i], general[i], tol.rtol, tol.atol + tol.scaled * test::max_finite_abs(general[i]));
                }
            }
}
