// contra/autograd/ops/elementwise.hpp — differentiable +, −, ×, ÷ (b broadcast as in
// ops::binary), scaling, a change of element type (cast), unary functions and activations.
#pragma once
#include "reduce.hpp"

namespace contra::ad {

namespace detail {
template <class T, class B>
TensorOn<T, B> binary_value(ops::BinaryOp op, const TensorOn<T, B>& a, const TensorOn<T, B>& b) {
    auto out = new_tensor<T, B>(a.shape());
    ops::binary(B{}, op, a, b, out);
    return out;
}
}  // namespace detail

// add(a, b) = a + b, b broadcast over a as a row [C], a column [R,1], a scalar or a full matrix.
template <class T, class B>
Var<T, B> add(const Var<T, B>& a, const Var<T, B>& b) {
    auto out = detail::binary_value<T, B>(ops::BinaryOp::add, a.value(), b.value());
    const std::int64_t br = b.value().rows(), bc = b.value().cols();
    return record<T, B>(out, [a, b, br, bc](const TensorOn<T, B>& g) {
        a.accumulate(g, false);
        if (b.requires_grad()) b.accumulate(reduce_to<T, B>(g, br, bc), false);
    }, a, b);
}

// sub(a, b) = a − b (b broadcast as in add).
template <class T, class B>
Var<T, B> sub(const Var<T, B>& a, const Var<T, B>& b) {
    auto out = detail::binary_value<T, B>(ops::BinaryOp::sub, a.value(), b.value());
    const std::int64_t br = b.value().rows(), bc = b.value().cols();
    return record<T, B>(out, [a, b, br, bc](const TensorOn<T, B>& g) {
        a.accumulate(g, false);
        if (b.requires_grad()) b.accumulate(reduce_to<T, B>(g, br, bc, acc_t<T>(-1)));
    }, a, b);
}

// mul(a, b) = a ⊙ b (b broadcast as in add).
template <class T, class B>
Var<T, B> mul(const Var<T, B>& a, const Var<T, B>& b) {
    auto out = detail::binary_value<T, B>(ops::BinaryOp::mul, a.value(), b.value());
    const std::int64_t br = b.value().rows(), bc = b.value().cols();
    return record<T, B>(out, [a, b, br, bc](const TensorOn<T, B>& g) {
        if (a.requires_grad()) a.accumulate(detail::binary_value<T, B>(ops::BinaryOp::mul, g, b.value()));
        if (b.requires_grad()) {
            auto ga = detail::binary_value<T, B>(ops::BinaryOp::mul, g, a.value());
            b.accumulate(reduce_to<T, B>(ga, br, bc));
        }
    }, a, b);
}

// div(a, b) = a ⊘ b (b broadcast as in add).
template <class T, class B>
Var<T, B> div(const Var<T, B>& a, const Var<T, B>& b) {
    auto out = detail::binary_value<T, B>(ops::BinaryOp::div, a.value(), b.value());
    const std::int64_t br = b.value().rows(), bc = b.value().cols();
    return record<T, B>(out, [a, b, out, br, bc](const TensorOn<T, B>& g) {
        auto g_over_b = detail::binary_value<T, B>(ops::BinaryOp::div, g, b.value());
        if (b.requires_grad()) {  // d/db (a/b) = −(a/b)/b
            auto gb = detail::binary_value<T, B>(ops::BinaryOp::mul, g_over_b, out);
            b.accumulate(reduce_to<T, B>(gb, br, bc, acc_t<T>(-1)));
        }
        a.accumulate(g_over_b);
    }, a, b);
}

// affine(x, alpha, beta) = alpha·x + beta for constants alpha, beta.
template <class T, class B>
Var<T, B> affine(const Var<T, B>& x, acc_t<T> alpha, acc_t<T> beta = 0) {
    auto out = new_tensor<T, B>(x.shape());
    ops::affine(B{}, x.value(), alpha, beta, out);
    return record<T, B>(out, [x, alpha](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(g.shape());
        ops::affine(B{}, g, alpha, acc_t<T>(0), dx);
        x.accumulate(dx);
    }, x);
}

// cast<U>(x): x's values as U (widening is exact; narrowing rounds to nearest even); the gradient
// flows back converted to x's type. Mixed precision computes the loss of bf16 features in float.
template <class U, class T, class B>
Var<U, B> cast(const Var<T, B>& x) {
    auto out = new_tensor<U, B>(x.shape());
    ops::convert(B{}, x.value(), out);
    return record<U, B>(out, [x](const TensorOn<U, B>& g) {
        auto dx = new_tensor<T, B>(g.shape());
        ops::convert(B{}, g, dx);
        x.accumulate(dx);
    }, x);
}

template <class T, class B> Var<T, B> operator+(const Var<T, B>& a, const Var<T, B>& b) { return add(a, b); }
template <class T, class B> Var<T, B> operator-(const Var<T, B>& a, const Var<T, B>& b) { return sub(a, b); }
template <class T, class B> Var<T, B> operator*(const Var<T, B>& a, const Var<T, B>& b) { return mul(a, b); }
template <class T, class B> Var<T, B> operator/(const Var<T, B>& a, const Var<T, B>& b) { return div(a, b); }
template <class T, class B> Var<T, B> operator*(acc_t<T> alpha, const Var<T, B>& x) { return affine(x, alpha); }

// unary(x, op): y = f(x) for f in ops::UnaryOp except abs; the derivative is built from y or x.
template <class T, class B>
Var<T, B> unary(const Var<T, B>& x, ops::UnaryOp op) {
    auto y = new_tensor<T, B>(x.shape());
    ops::unary(B{}, op, x.value(), y);
    return record<T, B>(y, [x, y, op](const TensorOn<T, B>& g) {
        using U = ops::UnaryOp;
        auto t = new_tensor<T, B>(g.shape());  // f'(x), then f'(x)·g
        switch (op) {
            case U::neg: ops::affine(B{}, g, acc_t<T>(-1), acc_t<T>(0), t); x.accumulate(t); return;
            case U::exp: copy(y, t); break;
            case U::log: ops::unary(B{}, U::reciprocal, x.value(), t); break;
            case U::sqrt: ops::unary(B{}, U::reciprocal, y, t); ops::affine(B{}, t, acc_t<T>(0.5), acc_t<T>(0), t); break;
            case U::rsqrt:  // −y³/2
                ops::unary(B{}, U::square, y, t);
                ops::binary(B{}, ops::BinaryOp::mul, t, y, t);
                ops::affine(B{}, t, acc_t<T>(-0.5), acc_t<T>(0), t);
                break;
            case U::tanh: ops::unary(B{}, U::square, y, t); ops::affine(B{}, t, acc_t<T>(-1), acc_t<T>(1), t); break;
            case U::erf:  // 2/√π·exp(−x²)
                ops::unary(B{}, U::square, x.value(), t);
                ops::affine(B{}, t, acc_t<T>(-1), acc_t<T>(0), t);
                ops::unary(B{}, U::exp, t, t);
                ops::affine(B{}, t, acc_t<T>(1.1283791670955126), acc_t<T>(0), t);
                break;
            case U::sigmoid: {  // y(1 − y)
                ops::affine(B{}, y, acc_t<T>(-1), acc_t<T>(1), t);
                ops::binary(B{}, ops::BinaryOp::mul, t, y, t);
                break;
            }
            case U::log_sigmoid:  // σ(−x) = 1 − σ(x)
                ops::unary(B{}, U::sigmoid, x.value(), t);
                ops::affine(B{}, t, acc_t<T>(-1), acc_t<T>(1), t);
                break;
            case U::square: ops::affine(B{}, x.value(), acc_t<T>(2), acc_t<T>(0), t); break;
            case U::reciprocal:  // −y²
                ops::unary(B{}, U::square, y, t);
                ops::affine(B{}, t, acc_t<T>(-1), acc_t<T>(0), t);
                break;
            case U::abs: CONTRA_CHECK(false, "abs has no derivative at 0 and is not differentiable in contra");
        }
        ops::binary(B{}, ops::BinaryOp::mul, t, g, t);
        x.accumulate(t);
    }, x);
}

template <class T, class B> Var<T, B> exp(const Var<T, B>& x) { return unary(x, ops::UnaryOp::exp); }
template <class T, class B> Var<T, B> log(const Var<T, B>& x) { return unary(x, ops::UnaryOp::log); }
template <class T, class B> Var<T, B> sqrt(const Var<T, B>& x) { return unary(x, ops::UnaryOp::sqrt); }
template <class T, class B> Var<T, B> rsqrt(const Var<T, B>& x) { return unary(x, ops::UnaryOp::rsqrt); }
template <class T, class B> Var<T, B> tanh(const Var<T, B>& x) { return unary(x, ops::UnaryOp::tanh); }
template <class T, class B> Var<T, B> sigmoid(const Var<T, B>& x) { return unary(x, ops::UnaryOp::sigmoid); }
template <class T, class B> Var<T, B> square(const Var<T, B>& x) { return unary(x, ops::UnaryOp::square); }
template <class T, class B> Var<T, B> operator-(const Var<T, B>& x) { return unary(x, ops::UnaryOp::neg); }

// activation(x, f): y = f(x) for the MLP nonlinearities (QuickGELU, GELU, tanh-GELU, ReLU).
template <class T, class B>
Var<T, B> activation(const Var<T, B>& x, ops::Activation f) {
    auto y = new_tensor<T, B>(x.shape());
    ops::activation(B{}, f, x.value(), y);
    return record<T, B>(y, [x, f](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(g.shape());
        ops::activation_backward(B{}, f, x.value(), g, dx);
        x.accumulate(dx);
    }, x);
}

}  // namespace contra::ad
