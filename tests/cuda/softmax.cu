// softmax (causal mask, additive bias), log-softmax and their backward passes on the GPU against
// the reference backend, in float, double and bf16, including all-masked rows, ±1e4 logits and
// rows of −inf, for rows shorter and longer than a warp takes.
#include "gpu.cuh"

#include <limits>

using namespace contra;
using test::agree;
using test::have_gpu;
using test::on;
using test::rand;

namespace {
template <class T, class B>
const TensorOn<T, B>* no_bias(B) {
    return nullptr;
}
}  // namespace

TEST_CASE_TEMPLATE("softmax agrees with no mask, a causal mask and an additive bias", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    constexpr float inf = std::numeric_limits<float>::infinity();
    for (Shape s : {Shape{2, 3, 9, 9}, Shape{1, 1}, Shape{40, 40}, Shape{3, 1500}, Shape{2, 1100, 1100}}) {
        const auto x = rand<T>(s, 17, 3.0);
        const std::int64_t cols = s.cols();
        INFO("x " << s);
        agree<T>([&](auto be, auto& o) { ops::softmax(be, on(be, x), {}, no_bias<T>(be), o[0]); }, {s});
        if (s.rows() % cols == 0)
            agree<T>([&](auto be, auto& o) { ops::softmax(be, on(be, x), {true}, no_bias<T>(be), o[0]); }, {s});
        // A bias of several rows, its last row fully masked, or of one row; every other column of
        // its first row masked.
        const std::int64_t bias_rows = s.rows() % 3 == 0 ? 3 : 1;
        auto bias = rand<T>(Shape{bias_rows, cols}, 18);
        if (bias_rows > 1)
            for (std::int64_t c = 0; c < cols; ++c) bias.at(bias_rows - 1, c) = T(-inf);
        for (std::int64_t c = 1; c < cols; c += 2) bias.at(0, c) = T(-inf);
        agree<T>([&](auto be, auto& o) {
            const auto b = on(be, bias);
            ops::softmax(be, on(be, x), {}, &b, o[0]);
        }, {s});
        agree<T>([&](auto be, auto& o) {
            const auto b = on(be, bias);
            ops::softmax(be, on(be, x), {s.rows() % cols == 0}, &b, o[0]);
        }, {s});
    }
}

TEST_CASE_TEMPLATE("an all-masked softmax row is all zeros, never NaN", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    constexpr float inf = std::numeric_limits<float>::infinity();
    auto x = rand<T>(Shape{4, 9}, 19);
    for (int c = 0; c < 9; ++c) x.at(2, c) = T(-inf);
    auto bias = Tensor<T, cpu>::full(Shape{2, 9}, T(0.0f));
    for (int c = 0; c < 9; ++c) bias.at(1, c) = T(-inf);  // rows 1 and 3 fully masked by the bias
    const auto d_bias = to_device<cuda>(bias);
    auto y = Tensor<T, cuda>::empty(x.shape());
    ops::softmax(cuda{}, to_device<cuda>(x), {}, &d_bias, y);
    const auto h = to_device<cpu>(y);
    for (int r : {1, 2, 3})
        for (int c = 0; c < 9; ++c) CHECK(h.at(r, c) == T(0.0f));
    double row0 = 0;
    for (int c = 0; c < 9; ++c) row0 += double(h.at(0, c));
    CHECK(row0 == doctest::Approx(1.0).epsilon(std::is_same_v<T, bf16> ? 2e-2 : 1e-5));
}

TEST_CASE_TEMPLATE("softmax_backward, log_softmax and log_softmax_backward agree", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Shape s : {Shape{2, 3, 9, 9}, Shape{1, 1}, Shape{333, 7}, Shape{3, 1500}}) {
        const auto x = rand<T>(s, 20, 3.0);
        const auto dy = rand<T>(s, 21);
        INFO("x " << s);
        auto y = Tensor<T, cpu>::empty(s);
        ops::softmax(reference{}, x, {}, static_cast<const Tensor<T, cpu>*>(nullptr), y);
        agree<T>([&](auto be, auto& o) { ops::softmax_backward(be, on(be, y), on(be, dy), o[0]); }, {s});
        agree<T>([&](auto be, auto& o) { ops::log_softmax(be, on(be, x), o[0]); }, {s});
        auto ly = Tensor<T, cpu>::empty(s);
        ops::log_softmax(reference{}, x, ly);
        agree<T>([&](auto be, auto& o) { ops::log_softmax_backward(be, on(be, ly), on(be, dy), o[0]); }, {s});
    }
}

TEST_CASE_TEMPLATE("±1e4 logits and rows of −inf: no overflow, no NaN", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    constexpr float inf = std::numeric_limits<float>::infinity();
    const auto huge = Tensor<T, cpu>::from({3, 3}, {T(1e4f), T(-1e4f), T(0.0f), T(-1e4f), T(-1e4f), T(1e4f), T(-inf),
                                                    T(-inf), T(-inf)});
    agree<T>([&](auto be, auto& o) { ops::log_softmax(be, on(be, huge), o[0]); }, {huge.shape()});
    agree<T>([&](auto be, auto& o) { ops::softmax(be, on(be, huge), {}, no_bias<T>(be), o[0]); }, {huge.shape()});
    auto ly = Tensor<T, cuda>::empty(huge.shape());
    ops::log_softmax(cuda{}, to_device<cuda>(huge), ly);
    const auto h = to_device<cpu>(ly);
    CHECK(double(h.at(0, 0)) == doctest::Approx(0.0).epsilon(1e-6));
    for (int c = 0; c < 3; ++c) CHECK(double(h.at(2, c)) == -double(inf));
}
