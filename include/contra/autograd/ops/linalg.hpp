// contra/autograd/ops/linalg.hpp — matmul, batched matmul, and the linear layer's affine map.
#pragma once
#include "reduce.hpp"

namespace contra::ad {

namespace detail {
// The gradients of C = op(A)·op(B) (Trans flags ta, tb), as gemm calls:
//   N,N: dA = dC·Bᵀ,   dB = Aᵀ·dC        N,T: dA = dC·B,    dB = dCᵀ·A
//   T,N: dA = B·dCᵀ,   dB = A·dC         T,T: dA = Bᵀ·dCᵀ,  dB = dCᵀ·Aᵀ
struct GemmGrad {
    ops::Trans first, second;
    bool swap;  // true: the product is (second operand)·(first operand) as listed below
};
inline GemmGrad grad_a(ops::Trans ta, ops::Trans tb) {
    using ops::Trans;
    if (ta == Trans::N) return {Trans::N, tb == Trans::N ? Trans::T : Trans::N, false};  // dC·op'(B)
    return {tb == Trans::N ? Trans::N : Trans::T, Trans::T, true};                     // op'(B)·dCᵀ
}
inline GemmGrad grad_b(ops::Trans ta, ops::Trans tb) {
    using ops::Trans;
    if (tb == Trans::N) return {ta == Trans::N ? Trans::T : Trans::N, Trans::N, true};  // op'(A)·dC
    return {Trans::T, ta == Trans::N ? Trans::N : Trans::T, false};                     // dCᵀ·op'(A)
}
}  // namespace detail

// matmul(a, b, ta, tb) = op(a)·op(b) on the matrix views of a and b; result [M,N].
template <class T, class B>
Var<T, B> matmul(const Var<T, B>& a, const Var<T, B>& b, ops::Trans ta = ops::Trans::N, ops::Trans tb = ops::Trans::N) {
    const std::int64_t m = ta == ops::Trans::N ? a.value().rows() : a.value().cols();
    const std::int64_t n = tb == ops::Trans::N ? b.value().cols() : b.value().rows();
    auto c = new_tensor<T, B>(Shape{m, n});
    ops::gemm(B{}, ta, tb, acc_t<T>(1), a.value(), b.value(), acc_t<T>(0), c);
    return record<T, B>(c, [a, b, ta, tb](const TensorOn<T, B>& g) {
        if (a.requires_grad()) {
            const auto r = detail::grad_a(ta, tb);
            auto [da, beta] = a.slot()->destination(B{}, Shape{a.value().rows(), a.value().cols()});
            if (r.swap) ops::gemm(B{}, r.first, r.second, acc_t<T>(1), b.value(), g, beta, da);
            else ops::gemm(B{}, r.first, r.second, acc_t<T>(1), g, b.value(), beta, da);
        }
        if (b.requires_grad()) {
            const auto r = detail::grad_b(ta, tb);
            auto [db, beta] = b.slot()->destination(B{}, Shape{b.value().rows(), b.value().cols()});
            if (r.swap) ops::gemm(B{}, r.first, r.second, acc_t<T>(1), a.value(), g, beta, db);
            else ops::gemm(B{}, r.first, r.second, acc_t<T>(1), g, a.value(), beta, db);
        }
    }, a, b);
}

// bmm(a, b, ta, tb): matmul over the leading (batch) axes of rank-≥3 tensors.
template <class T, class B>
Var<T, B> bmm(const Var<T, B>& a, const Var<T, B>& b, ops::Trans ta = ops::Trans::N, ops::Trans tb = ops::Trans::N) {
    Shape cs = a.shape();
    cs[-2] = ta == ops::Trans::N ? a.shape()[-2] : a.shape()[-1];
    cs[-1] = tb == ops::Trans::N ? b.shape()[-1] : b.shape()[-2];
    auto c = new_tensor<T, B>(cs);
    ops::gemm_batched(B{}, ta, tb, acc_t<T>(1), a.value(), b.value(), acc_t<T>(0), c);
    return record<T, B>(c, [a, b, ta, tb](const TensorOn<T, B>& g) {
        if (a.requires_grad()) {
            const auto r = detail::grad_a(ta, tb);
            auto [da, beta] = a.slot()->destination(B{}, a.shape());
            if (r.swap) ops::gemm_batched(B{}, r.first, r.second, acc_t<T>(1), b.value(), g, beta, da);
            else ops::gemm_batched(B{}, r.first, r.second, acc_t<T>(1), g, b.value(), beta, da);
        }
        if (b.requires_grad()) {
            const auto r = detail::grad_b(ta, tb);
            auto [db, beta] = b.slot()->destination(B{}, b.shape());
            if (r.swap) ops::gemm_batched(B{}, r.first, r.second, acc_t<T>(1), a.value(), g, beta, db);
            else ops::gemm_batched(B{}, r.first, r.second, acc_t<T>(1), g, a.value(), beta, db);
        }
    }, a, b);
}

// linear(x, weight, bias) = x·weightᵀ + bias: x [..., in], weight [out, in], bias [out] (or an
// undefined Var for none); result [..., out]. Weight gradients accumulate straight from GEMM.
template <class T, class B>
Var<T, B> linear(const Var<T, B>& x, const Var<T, B>& weight, const Var<T, B>& bias) {
    const std::int64_t in = weight.shape()[1], out_features = weight.shape()[0];
    CONTRA_CHECK(x.shape()[-1] == in, "linear: input ", x.shape(), " does not match weight ", weight.shape());
    const bool has_bias = bias.value().defined();
    CONTRA_CHECK(!has_bias || bias.numel() == out_features, "linear: bias ", bias.shape(), " for weight ", weight.shape());
    Shape ys = x.shape();
    ys[-1] = out_features;
    auto y = new_tensor<T, B>(ys);
    auto y2 = y.reshape(Shape{x.value().rows(), out_features});
    ops::linear(B{}, x.value(), weight.value(), has_bias ? &bias.value() : nullptr, y2);
    const std::int64_t rows = x.value().rows();
    return record<T, B>(y, [x, weight, bias, has_bias, rows, in, out_features](const TensorOn<T, B>& g) {
        auto g2 = g.reshape(Shape{rows, out_features});
        if (x.requires_grad()) {
            auto [dx, beta] = x.slot()->destination(B{}, Shape{rows, in});
            ops::gemm(B{}, ops::Trans::N, ops::Trans::N, acc_t<T>(1), g2, weight.value(), beta, dx);
        }
        if (weight.requires_grad()) {
            auto [dw, beta] = weight.slot()->destination(B{}, Shape{out_features, in});
            ops::gemm(B{}, ops::Trans::T, ops::Trans::N, acc_t<T>(1), g2, x.value(), beta, dw);
        }
        if (has_bias && bias.requires_grad()) {
            auto [db, beta] = bias.slot()->destination(B{}, Shape{out_features});
            ops::sum(B{}, ops::Axis::rows, acc_t<T>(1), g2, beta, db);
        }
    }, x, weight, bias);
}

}  // namespace contra::ad
