// contra/nn/mlp.hpp — the transformer MLP: c_fc → activation → c_proj, and the activations.
// defines: nn::QuickGelu, nn::Gelu, nn::GeluTanh, nn::Relu, nn::Mlp
#pragma once
#include "linear.hpp"

namespace contra::nn {

// Activation tags: which ops::Activation the MLP applies.
struct QuickGelu { static constexpr ops::Activation kind = ops::Activation::quick_gelu; };  // x·σ(1.702x), OpenAI
struct Gelu { static constexpr ops::Activation kind = ops::Activation::gelu; };             // erf form
struct GeluTanh { static constexpr ops::Activation kind = ops::Activation::gelu_tanh; };
struct Relu { static constexpr ops::Activation kind = ops::Activation::relu; };

template <class T, class B, class Act = QuickGelu>
struct Mlp {
    using value_type = T;
    using backend = B;
    using activation = Act;

    Linear<T, B> c_fc;    // [hidden, W]
    Linear<T, B> c_proj;  // [W, hidden]

    Mlp() = default;
    Mlp(std::int64_t width, std::int64_t hidden) : c_fc(width, hidden), c_proj(hidden, width) {}

    // x [..., W] → [..., W]
    Var<T, B> forward(const Var<T, B>& x) const { return c_proj.forward(ad::activation(c_fc.forward(x), Act::kind)); }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        c_fc.visit_parameters(f, join(prefix, "c_fc"));
        c_proj.visit_parameters(f, join(prefix, "c_proj"));
    }
    void initialize(std::uint64_t seed, const std::string& prefix) {
        c_fc.initialize(seed, join(prefix, "c_fc"));
        c_proj.initialize(seed, join(prefix, "c_proj"));
    }
};

}  // namespace contra::nn
