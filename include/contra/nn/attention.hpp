// contra/nn/attention.hpp — multi-head self-attention in the OpenAI layout: one fused input
// projection in_proj_weight [3W, W] (rows q, k, v), in_proj_bias [3W], out_proj (with bias),
// scale 1/√head_dim, no mask or a causal mask, and optionally a key-padding mask (key_lengths).
// defines: nn::NoMask, nn::CausalMask, nn::MultiHeadAttention
#pragma once
#include <cmath>
#include <span>

#include "linear.hpp"

namespace contra::nn {

struct NoMask { static constexpr bool causal = false; };     // every token sees every token (vision)
struct CausalMask { static constexpr bool causal = true; };  // token t sees tokens ≤ t (text)

template <class T, class B, class Mask = NoMask, class Impl = ad::Fused>
struct MultiHeadAttention {
    using value_type = T;
    using backend = B;
    using mask = Mask;

    std::int64_t heads = 1;
    Parameter<T, B> in_proj_weight;  // [3W, W]
    Parameter<T, B> in_proj_bias;    // [3W]
    Linear<T, B> out_proj;           // [W, W]

    MultiHeadAttention() = default;
    MultiHeadAttention(std::int64_t width, std::int64_t heads_)
        : heads(heads_), in_proj_weight(Shape{3 * width, width}), in_proj_bias(Shape{3 * width}), out_proj(width, width) {
        CONTRA_CHECK(heads_ > 0 && width % heads_ == 0, "MultiHeadAttention: width ", width, " is not divisible by ",
                     heads_, " heads");
    }

    std::int64_t width() const { return in_proj_weight.shape()[1]; }

    // x [N, T, W] → [N, T, W]
    // key_lengths: empty, or one per sequence (host memory): sequence n's queries attend only to
    // its first key_lengths[n] tokens, the rest being padding.
    Var<T, B> forward(const Var<T, B>& x, std::span<const std::int64_t> key_lengths = {}) const {
        const auto qkv = ad::linear<T, B>(x, in_proj_weight, in_proj_bias);  // [N, T, 3W]
        const auto mixed = ad::attention<Impl>(qkv, heads, ops::SoftmaxMask{Mask::causal, key_lengths});  // [N, T, W]
        return out_proj.forward(mixed);
    }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "in_proj_weight"), in_proj_weight);
        f(join(prefix, "in_proj_bias"), in_proj_bias);
        out_proj.visit_parameters(f, join(prefix, "out_proj"));
    }

    // PyTorch's nn.MultiheadAttention: xavier-uniform in_proj, zero biases, default out_proj weight.
    void initialize(std::uint64_t seed, const std::string& prefix) {
        const double w = double(width());
        init_uniform(in_proj_weight, std::sqrt(6.0 / (w + 3 * w)), seed, join(prefix, "in_proj_weight"));
        init_constant(in_proj_bias, 0.0);
        out_proj.initialize(seed, join(prefix, "out_proj"));
        init_constant(out_proj.bias, 0.0);
    }
};

}  // namespace contra::nn
