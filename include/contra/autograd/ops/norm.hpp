// contra/autograd/ops/norm.hpp — layer norm (composite and fused), a residual add with the layer
// norm after it, and L2 row normalisation.
#pragma once
#include "elementwise.hpp"
#include "reduce.hpp"

namespace contra::ad {

namespace detail {
// The fused layer norm's node: y = layer_norm(x) was computed with mean mu and rstd saved.
template <class T, class B>
Var<T, B> record_layer_norm(const TensorOn<T, B>& y, const Var<T, B>& x, const Var<T, B>& gamma, const Var<T, B>& beta,
                            const TensorOn<T, B>& mu, const TensorOn<T, B>& rstd) {
    return record<T, B>(y, [x, gamma, beta, mu, rstd](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(x.shape());
        auto dgamma = new_tensor<T, B>(gamma.shape());
        auto dbeta = new_tensor<T, B>(beta.shape());
        ops::layer_norm_backward(B{}, x.value(), gamma.value(), mu, rstd, g, dx, dgamma, dbeta);
        x.accumulate(dx);
        gamma.accumulate(dgamma);
        beta.accumulate(dbeta);
    }, x, gamma, beta);
}
}  // namespace detail

// layer_norm<Impl>(x, gamma, beta, eps): per row of x [..., C]:
//   y = (x − mean) / sqrt(var + eps) · gamma + beta, var the biased variance.
template <class Impl, class T, class B>
Var<T, B> layer_norm(const Var<T, B>& x, const Var<T, B>& gamma, const Var<T, B>& beta, double eps = 1e-5) {
    static_assert(ImplPolicy<Impl>, "layer_norm: Impl is ad::Composite or ad::Fused");
    const std::int64_t R = x.value().rows(), C = x.value().cols();
    CONTRA_CHECK(gamma.numel() == C && beta.numel() == C, "layer_norm: gamma ", gamma.shape(), " and beta ", beta.shape(),
                 " do not match input ", x.shape());
    if constexpr (std::same_as<Impl, Composite>) {
        const auto x2 = x.reshape(Shape{R, C});
        const auto mu = mean(x2, ops::Axis::cols).reshape(Shape{R, 1});                          // [R,1]
        const auto centred = x2 - mu;                                                              // [R,C]
        const auto var = mean(square(centred), ops::Axis::cols).reshape(Shape{R, 1});              // [R,1]
        const auto normalised = centred * rsqrt(affine(var, acc_t<T>(1), acc_t<T>(eps)));          // [R,C]
        return (normalised * gamma + beta).reshape(x.shape());
    } else {
        auto y = new_tensor<T, B>(x.shape());
        auto mu = new_tensor<T, B>(Shape{R});
        auto rstd = new_tensor<T, B>(Shape{R});
        ops::layer_norm(B{}, x.value(), gamma.value(), beta.value(), eps, y, mu, rstd);
        return detail::record_layer_norm(y, x, gamma, beta, mu, rstd);
    }
}

// What add_layer_norm returns: the residual stream after the add, and its layer norm.
template <class T, class B>
struct ResidualAndNorm {
    Var<T, B> sum;     // x + branch
    Var<T, B> normed;  // layer_norm(x + branch)
};

// add_layer_norm<Impl>(x, branch, gamma, beta, eps) = {x + branch, layer_norm(x + branch)}, the
// pre-norm transformer's residual add and the norm that reads it. Fused: one pass computes both
// (ops::add_layer_norm), with the same values and gradients as the composite add then layer_norm.
//   requires: x and branch of one shape [..., C]; gamma and beta [C].
template <class Impl, class T, class B>
ResidualAndNorm<T, B> add_layer_norm(const Var<T, B>& x, const Var<T, B>& branch, const Var<T, B>& gamma,
                                     const Var<T, B>& beta, double eps = 1e-5) {
    static_assert(ImplPolicy<Impl>, "add_layer_norm: Impl is ad::Composite or ad::Fused");
    CONTRA_CHECK(x.shape() == branch.shape(), "add_layer_norm: input ", x.shape(), " and branch ", branch.shape(),
                 " differ in shape");
    if constexpr (std::same_as<Impl, Composite>) {
        const Var<T, B> sum = add(x, branch);
        return {sum, layer_norm<Composite>(sum, gamma, beta, eps)};
    } else {
        const std::int64_t R = x.value().rows(), C = x.value().cols();
        CONTRA_CHECK(gamma.numel() == C && beta.numel() == C, "add_layer_norm: gamma ", gamma.shape(), " and beta ",
                     beta.shape(), " do not match input ", x.shape());
        auto sum = new_tensor<T, B>(x.shape()), y = new_tensor<T, B>(x.shape());
        auto mu = new_tensor<T, B>(Shape{R}), rstd = new_tensor<T, B>(Shape{R});
        ops::add_layer_norm(B{}, x.value(), branch.value(), gamma.value(), beta.value(), eps, sum, y, mu, rstd);
        const Var<T, B> residual = record<T, B>(sum, [x, branch](const TensorOn<T, B>& g) {
            x.accumulate(g, false);
            branch.accumulate(g, false);
        }, x, branch);
        return {residual, detail::record_layer_norm(y, residual, gamma, beta, mu, rstd)};
    }
}

// l2_normalize(x, eps): each row of x [..., C] divided by max(its L2 norm, eps) (torch's F.normalize).
template <class T, class B>
Var<T, B> l2_normalize(const Var<T, B>& x, double eps = 1e-12) {
    auto y = new_tensor<T, B>(x.shape());
    auto norm = new_tensor<T, B>(Shape{x.value().rows()});
    ops::l2_normalize(B{}, x.value(), eps, y, norm);
    return record<T, B>(y, [x, y, norm, eps](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(x.shape());
        ops::l2_normalize_backward(B{}, y, norm, eps, g, dx);
        x.accumulate(dx);
    }, x);
}

}  // namespace contra::ad
