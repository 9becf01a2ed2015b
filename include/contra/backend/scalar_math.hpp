// contra/backend/scalar_math.hpp — the scalar formulas every backend shares (host and device).
// defines: contra::scalar::{apply(UnaryOp), apply(BinaryOp), activate, activate_grad, clip_coefficient,
//          gate_step}
#pragma once
#include <cmath>

#include "../core/config.hpp"
#include "ops.hpp"

namespace contra::scalar {

template <class A>
CONTRA_HOST_DEVICE A sigmoid(A x) {
    return A(1) / (A(1) + exp(-x));
}

template <class A>
CONTRA_HOST_DEVICE A apply(ops::UnaryOp op, A x) {
    using std::abs, std::erf, std::exp, std::log, std::log1p, std::sqrt, std::tanh;
    switch (op) {
        case ops::UnaryOp::neg: return -x;
        case ops::UnaryOp::exp: return exp(x);
        case ops::UnaryOp::log: return log(x);
        case ops::UnaryOp::sqrt: return sqrt(x);
        case ops::UnaryOp::rsqrt: return A(1) / sqrt(x);
        case ops::UnaryOp::tanh: return tanh(x);
        case ops::UnaryOp::erf: return erf(x);
        case ops::UnaryOp::sigmoid: return A(1) / (A(1) + exp(-x));
        case ops::UnaryOp::square: return x * x;
        case ops::UnaryOp::reciprocal: return A(1) / x;
        case ops::UnaryOp::abs: return abs(x);
        case ops::UnaryOp::log_sigmoid: return (x < A(0) ? x : A(0)) - log1p(exp(-abs(x)));  // log σ(x), stable
    }
    return x;
}

template <class A>
CONTRA_HOST_DEVICE A apply(ops::BinaryOp op, A a, A b) {
    switch (op) {
        case ops::BinaryOp::add: return a + b;
        case ops::BinaryOp::sub: return a - b;
        case ops::BinaryOp::mul: return a * b;
        case ops::BinaryOp::div: return a / b;
    }
    return a;
}

inline constexpr double kQuickGeluAlpha = 1.702;
inline constexpr double kSqrt2OverPi = 0.7978845608028654;
inline constexpr double kInvSqrt2 = 0.7071067811865476;

// activate(f, x): quick_gelu x·σ(1.702x); gelu x·Φ(x) = x·(1 + erf(x/√2))/2;
// gelu_tanh x·(1 + tanh(√(2/π)(x + 0.044715x³)))/2; relu max(x, 0).
template <class A>
CONTRA_HOST_DEVICE A activate(ops::Activation f, A x) {
    using std::erf, std::exp, std::tanh;
    switch (f) {
        case ops::Activation::quick_gelu: return x / (A(1) + exp(A(-kQuickGeluAlpha) * x));
        case ops::Activation::gelu: return A(0.5) * x * (A(1) + erf(x * A(kInvSqrt2)));
        case ops::Activation::gelu_tanh:
            return A(0.5) * x * (A(1) + tanh(A(kSqrt2OverPi) * (x + A(0.044715) * x * x * x)));
        case ops::Activation::relu: return x > A(0) ? x : A(0);
    }
    return x;
}

// activate_grad(f, x) = f'(x).
template <class A>
CONTRA_HOST_DEVICE A activate_grad(ops::Activation f, A x) {
    using std::erf, std::exp, std::tanh;
    switch (f) {
        case ops::Activation::quick_gelu: {
            const A s = A(1) / (A(1) + exp(A(-kQuickGeluAlpha) * x));
            return s + A(kQuickGeluAlpha) * x * s * (A(1) - s);
        }
        case ops::Activation::gelu: {
            const A cdf = A(0.5) * (A(1) + erf(x * A(kInvSqrt2)));
            const A pdf = exp(A(-0.5) * x * x) * A(0.3989422804014327);
            return cdf + x * pdf;
        }
        case ops::Activation::gelu_tanh: {
            const A inner = A(kSqrt2OverPi) * (x + A(0.044715) * x * x * x);
            const A t = tanh(inner);
            const A dinner = A(kSqrt2OverPi) * (A(1) + A(3 * 0.044715) * x * x);
            return A(0.5) * (A(1) + t) + A(0.5) * x * (A(1) - t * t) * dinner;
        }
        case ops::Activation::relu: return x > A(0) ? A(1) : A(0);
    }
    return A(1);
}

// clip_coefficient(norm, max_norm): the factor gradient clipping puts on every gradient:
// max_norm / (norm + 1e-6) when that is below 1, else 1.
CONTRA_HOST_DEVICE double clip_coefficient(double norm, double max_norm) {
    const double coefficient = max_norm / (norm + 1e-6);
    return coefficient < 1 ? coefficient : 1.0;
}

// gate_step(loss, sum_squares, max_norm, gate): ops::gate_step's arithmetic for one step.
CONTRA_HOST_DEVICE void gate_step(double loss, double sum_squares, double max_norm, double* gate) {
    using std::isfinite, std::sqrt;
    const bool open = isfinite(loss) && isfinite(sum_squares);
    gate[0] = open ? 1.0 : 0.0;
    gate[1] = open && max_norm > 0 ? clip_coefficient(sqrt(sum_squares), max_norm) : 1.0;
}

}  // namespace contra::scalar
