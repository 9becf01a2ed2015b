// contra/nn/layer_norm.hpp — LayerNorm over the last axis, eps 1e-5, weight 1 and bias 0 at init.
// defines: nn::LayerNorm
#pragma once
#include "../autograd/ops.hpp"
#include "../autograd/parameter.hpp"

namespace contra::nn {

// Impl: ad::Fused (one node, hand-written backward) or ad::Composite (built from smaller ops).
template <class T, class B, class Impl = ad::Fused>
struct LayerNorm {
    using value_type = T;
    using backend = B;
    static constexpr double eps = 1e-5;

    Parameter<T, B> weight;  // [W] gain
    Parameter<T, B> bias;    // [W]

    LayerNorm() = default;
    explicit LayerNorm(std::int64_t width) : weight(Shape{width}), bias(Shape{width}) {}

    // x [..., W] → [..., W]
    Var<T, B> forward(const Var<T, B>& x) const { return ad::layer_norm<Impl>(x, weight, bias, eps); }
    // {x + branch, forward(x + branch)}: a residual add and this norm in one pass (ad::add_layer_norm).
    ad::ResidualAndNorm<T, B> forward_after_add(const Var<T, B>& x, const Var<T, B>& branch) const {
        return ad::add_layer_norm<Impl>(x, branch, weight, bias, eps);
    }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "weight"), weight);
        f(join(prefix, "bias"), bias);
    }
    void initialize(std::uint64_t, const std::string&) {
        init_constant(weight, 1.0);
        init_constant(bias, 0.0);
    }
};

}  // namespace contra::nn
