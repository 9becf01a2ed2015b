// contra/nn/transformer.hpp — the pre-norm residual block and a stack of them.
//   block(x) = x + attn(ln_1 x);  then  x + mlp(ln_2 x)
// The first residual add and ln_2 run as one pass where the norm offers it (LayerNorm).
// defines: nn::forward_padded, nn::add_then_norm, nn::TransformerBlock, nn::Transformer
#pragma once
#include <span>
#include <vector>

#include "attention.hpp"
#include "concepts.hpp"
#include "layer_norm.hpp"
#include "mlp.hpp"

namespace contra::nn {

// forward_padded(m, x, key_lengths): m.forward(x, key_lengths) for a module that takes a
// key-padding mask; m.forward(x) for one that does not, which is an Error if there is padding.
template <SequenceModule M>
Var<typename M::value_type, typename M::backend> forward_padded(const M& m, const Var<typename M::value_type, typename M::backend>& x,
                                                                std::span<const std::int64_t> key_lengths) {
    if constexpr (PaddingAwareModule<M>) {
        return m.forward(x, key_lengths);
    } else {
        CONTRA_CHECK(key_lengths.empty(), "this module has no key-padding mask (forward(x, key_lengths)), and the ",
                     "sequences are padded");
        return m.forward(x);
    }
}

// add_then_norm(norm, x, branch) = {x + branch, norm(x + branch)}: one pass where the norm has
// forward_after_add (nn::LayerNorm), an add and the norm otherwise.
template <SequenceModule Norm>
ad::ResidualAndNorm<typename Norm::value_type, typename Norm::backend> add_then_norm(
    const Norm& norm, const Var<typename Norm::value_type, typename Norm::backend>& x,
    const Var<typename Norm::value_type, typename Norm::backend>& branch) {
    if constexpr (requires { norm.forward_after_add(x, branch); }) {
        return norm.forward_after_add(x, branch);
    } else {
        const auto sum = ad::add(x, branch);
        return {sum, norm.forward(sum)};
    }
}

template <class Attention, class MlpT, class Norm>
    requires AttentionModule<Attention> && SequenceModule<MlpT> && SequenceModule<Norm> &&
             SameNumerics<Attention, MlpT> && SameNumerics<Attention, Norm>
struct TransformerBlock {
    using value_type = typename Attention::value_type;
    using backend = typename Attention::backend;
    using attention_type = Attention;
    using norm_type = Norm;
    using V = Var<value_type, backend>;

    Norm ln_1;
    Attention attn;
    Norm ln_2;
    MlpT mlp;

    TransformerBlock() = default;
    TransformerBlock(std::int64_t width, std::int64_t heads, std::int64_t mlp_hidden)
        : ln_1(width), attn(width, heads), ln_2(width), mlp(width, mlp_hidden) {}

    // x [N, T, W] → [N, T, W]; key_lengths: a key-padding mask for the attention (attention.hpp).
    V forward(const V& x, std::span<const std::int64_t> key_lengths = {}) const {
        const auto [h, normed] = add_then_norm(ln_2, x, forward_padded(attn, ln_1.forward(x), key_lengths));
        return ad::add(h, mlp.forward(normed));
    }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        ln_1.visit_parameters(f, join(prefix, "ln_1"));
        attn.visit_parameters(f, join(prefix, "attn"));
        ln_2.visit_parameters(f, join(prefix, "ln_2"));
        mlp.visit_parameters(f, join(prefix, "mlp"));
    }
    void initialize(std::uint64_t seed, const std::string& prefix) {
        ln_1.initialize(seed, join(prefix, "ln_1"));
        attn.initialize(seed, join(prefix, "attn"));
        ln_2.initialize(seed, join(prefix, "ln_2"));
        mlp.initialize(seed, join(prefix, "mlp"));
    }

};

// Transformer: `layers` blocks applied in order; parameters named resblocks.{i}.*
template <BlockModule Block>
struct Transformer {
    using value_type = typename Block::value_type;
    using backend = typename Block::backend;
    using V = Var<value_type, backend>;

    std::vector<Block> resblocks;
    // Activation checkpointing: each block keeps only its input and recomputes its activations
    // during backward (less memory, one more forward pass). Gradients are unchanged.
    bool checkpointing = false;

    Transformer() = default;
    Transformer(std::int64_t width, std::int64_t layers, std::int64_t heads, std::int64_t mlp_hidden) {
        resblocks.reserve(std::size_t(layers));
        for (std::int64_t i = 0; i < layers; ++i) resblocks.emplace_back(width, heads, mlp_hidden);
    }
    std::int64_t layers() const { return std::int64_t(resblocks.size()); }

    // x [N, T, W] → [N, T, W]; key_lengths: a key-padding mask (attention.hpp), for blocks that
    // take one (PaddingAwareModule).
    V forward(V x, std::span<const std::int64_t> key_lengths = {}) const {
        for (const auto& block : resblocks) {
            if (checkpointing && grad_enabled()) {
                // The recomputation runs during backward: it keeps its own copy of the lengths.
                x = ad::checkpoint([&block, lengths = std::vector<std::int64_t>(key_lengths.begin(), key_lengths.end())](
                                       const V& in) { return forward_padded(block, in, lengths); },
                                   x, const_cast<Block&>(block));  // visited only to name its parameters
            } else {
                x = forward_padded(block, x, key_lengths);
            }
        }
        return x;
    }
    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        for (std::size_t i = 0; i < resblocks.size(); ++i)
            resblocks[i].visit_parameters(f, join(prefix, "resblocks." + std::to_string(i)));
    }
    void initialize(std::uint64_t seed, const std::string& prefix) {
        for (std::size_t i = 0; i < resblocks.size(); ++i)
            resblocks[i].initialize(seed, join(prefix, "resblocks." + std::to_string(i)));
    }
};

}  // namespace contra::nn
