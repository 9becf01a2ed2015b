// binary (every broadcast form), unary, affine, clamp, convert, axpy and fill on the GPU against the reference
// backend, in float, double and bf16.
#include "gpu.cuh"

using namespace contra;
using test::have_gpu;
using test::rand;

namespace {

// Tolerances for one elementwise operation: the reference rounds the exact result once; the GPU
// computes in acc_t<T> (its exp, erf, tanh within a few units in the last place).
template <class T>
double ew_rtol() {
    if constexpr (std::is_same_v<T, double>) return 1e-13;
    else if constexpr (std::is_same_v<T, float>) return 2e-6;
    else return 1e-2;
}
template <class T>
double ew_atol() {
    return std::is_same_v<T, double> ? 1e-14 : 1e-6;
}

// Nonzero divisors: entries pushed away from 0 by 0.5.
template <class T>
Tensor<T, cpu> tame(Tensor<T, cpu> t) {
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        const float v = float(t[i]);
        t[i] = T(v + (v >= 0 ? 0.5f : -0.5f));
    }
    return t;
}

}  // namespace

TEST_CASE_TEMPLATE("binary agrees with the reference for every broadcast form", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Shape a_shape : {Shape{6, 5}, Shape{3, 70, 33}, Shape{1000, 1}}) {
        const auto a = rand<T>(a_shape, 5);
        const std::int64_t r = a.rows(), c = a.cols();
        for (Shape b_shape : {Shape{r, c}, Shape{c}, Shape{1, c}, Shape{r, 1}, Shape{}, Shape{1, 1}}) {
            const auto b = tame(rand<T>(b_shape, 6));
            const auto d_a = to_device<cuda>(a), d_b = to_device<cuda>(b);
            for (auto op : {ops::BinaryOp::add, ops::BinaryOp::sub, ops::BinaryOp::mul, ops::BinaryOp::div}) {
                INFO("a " << a_shape << " b " << b_shape << " op " << int(op));
                auto expected = Tensor<T, cpu>::empty(a_shape);
                ops::binary(reference{}, op, a, b, expected);
                auto out = Tensor<T, cuda>::empty(a_shape);
                ops::binary(cuda{}, op, d_a, d_b, out);
                CHECK_CLOSE(to_device<cpu>(out), expected, ew_rtol<T>(), ew_atol<T>());

                auto in_place = d_a.clone();  // out may alias a
                ops::binary(cuda{}, op, in_place, d_b, in_place);
                CHECK_CLOSE(to_device<cpu>(in_place), expected, ew_rtol<T>(), ew_atol<T>());
            }
        }
    }
}

TEST_CASE_TEMPLATE("unary agrees with the reference for every function", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    const auto mixed = rand<T>(Shape{17, 31}, 7, 2.0);
    auto positive = mixed.clone();
    for (std::int64_t i = 0; i < positive.numel(); ++i) positive[i] = T(std::abs(float(positive[i])) + 0.25f);
    using U = ops::UnaryOp;
    for (auto op : {U::neg, U::exp, U::log, U::sqrt, U::rsqrt, U::tanh, U::erf, U::sigmoid, U::square, U::reciprocal,
                    U::abs}) {
        const bool needs_positive = op == U::log || op == U::sqrt || op == U::rsqrt;
        const auto& x = needs_positive ? positive : mixed;
        INFO("op " << int(op));
        auto expected = Tensor<T, cpu>::empty(x.shape());
        ops::unary(reference{}, op, x, expected);
        auto out = Tensor<T, cuda>::empty(x.shape());
        ops::unary(cuda{}, op, to_device<cuda>(x), out);
        CHECK_CLOSE(to_device<cpu>(out), expected, 4 * ew_rtol<T>(), ew_atol<T>());
    }
}

TEST_CASE_TEMPLATE("affine, clamp, axpy and fill agree with the reference", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    const auto x = rand<T>(Shape{129, 65}, 11);
    const auto y = rand<T>(Shape{129, 65}, 12);
    const auto d_x = to_device<cuda>(x);

    auto expected = Tensor<T, cpu>::empty(x.shape());
    ops::affine(reference{}, x, acc_t<T>(-1.25), acc_t<T>(0.5), expected);
    auto out = Tensor<T, cuda>::empty(x.shape());
    ops::affine(cuda{}, d_x, acc_t<T>(-1.25), acc_t<T>(0.5), out);
    CHECK_CLOSE(to_device<cpu>(out), expected, ew_rtol<T>(), ew_atol<T>());

    ops::clamp(reference{}, x, acc_t<T>(-0.5), acc_t<T>(0.25), expected);
    ops::clamp(cuda{}, d_x, acc_t<T>(-0.5), acc_t<T>(0.25), out);
    CHECK(test::bitwise_equal(to_device<cpu>(out), expected));  // a comparison and a copy: exact

    // convert to bf16 and back to T: the same bits as the reference's conversions.
    auto narrowed = Tensor<bf16, cuda>::empty(x.shape());
    auto expected_narrow = Tensor<bf16, cpu>::empty(x.shape());
    ops::convert(cuda{}, d_x, narrowed);
    ops::convert(reference{}, x, expected_narrow);
    CHECK(test::bitwise_equal(to_device<cpu>(narrowed), expected_narrow));
    ops::convert(cuda{}, narrowed, out);
    ops::convert(reference{}, expected_narrow, expected);
    CHECK(test::bitwise_equal(to_device<cpu>(out), expected));

    expected = y.clone();
    ops::axpy(reference{}, acc_t<T>(0.75), x, expected);
    auto d_y = to_device<cuda>(y);
    ops::axpy(cuda{}, acc_t<T>(0.75), d_x, d_y);
    CHECK_CLOSE(to_device<cpu>(d_y), expected, ew_rtol<T>(), ew_atol<T>());

    ops::fill(cuda{}, acc_t<T>(3.5), d_y);
    const auto filled = Tensor<T, cpu>::full(y.shape(), T(3.5f));
    CHECK_CLOSE(to_device<cpu>(d_y), filled, 0.0, 0.0);
}
