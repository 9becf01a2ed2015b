// contra/nn/text_transformer.hpp — the text tower of CLIP.
//   token_embedding + positional_embedding → transformer (causal) → ln_final at the end-of-text
//   token (the position of the largest id, as the reference pools) → ·text_projection
// A batch is as long as its longest text; the tokens after a text's end are padding. With a causal
// mask nothing before the end token sees them; with any other mask the blocks are given a
// key-padding mask (each text's keys end at its end token), so a text's embedding never depends
// on the other texts of its batch.
// Its parameters have no prefix in the OpenAI state dict (token_embedding.weight, transformer.*).
// defines: nn::TextTransformer
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "config.hpp"
#include "embedding.hpp"
#include "transformer.hpp"

namespace contra::nn {

template <BlockModule Block>
struct TextTransformer {
    using value_type = typename Block::value_type;
    using backend = typename Block::backend;
    using T = value_type;
    using B = backend;
    using V = Var<T, B>;
    using Norm = typename Block::norm_type;
    using config_type = TextConfig;
    static constexpr bool causal = Block::attention_type::mask::causal;
    static_assert(causal || PaddingAwareModule<Block>,
                  "a text tower without a causal mask needs blocks that take a key-padding mask, forward(x, key_lengths): "
                  "otherwise its padding tokens would change every text's embedding");

    TextConfig config;
    Embedding<T, B> token_embedding;      // [vocab, W]
    Parameter<T, B> positional_embedding; // [ctx, W]
    Transformer<Block> transformer;
    Norm ln_final;
    Parameter<T, B> text_projection;      // [W, E]

    TextTransformer() = default;
    TextTransformer(const TextConfig& c, std::int64_t embed_dim)
        : config(c),
          token_embedding(c.vocab_size, c.width),
          positional_embedding(Shape{c.context_length, c.width}),
          transformer(c.width, c.layers, c.heads, c.mlp_hidden()),
          ln_final(c.width),
          text_projection(Shape{c.width, embed_dim}) {}

    std::int64_t output_dim() const { return text_projection.shape()[1]; }
    std::int64_t context_length() const { return config.context_length; }

    // tokens [N, L] (L ≤ context length, ids in [0, vocab)) → embeddings [N, E] (not normalised)
    // Defined after the class, not inline: a program can compile it once (model/instances.hpp).
    V encode(const Tensor<ops::Index, cpu>& tokens) const;

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "positional_embedding"), positional_embedding);
        f(join(prefix, "text_projection"), text_projection);
        token_embedding.visit_parameters(f, join(prefix, "token_embedding"));
        transformer.visit_parameters(f, join(prefix, "transformer"));
        ln_final.visit_parameters(f, join(prefix, "ln_final"));
    }

    // As the reference's initialize_parameters: token N(0, 0.02), positions N(0, 0.01); in each
    // block in_proj ~ W^-½, out_proj and c_proj ~ W^-½·(2L)^-½, c_fc ~ (2W)^-½; projection W^-½.
    void initialize(std::uint64_t seed, const std::string& prefix) {
        const double w = double(config.width), layers = double(config.layers);
        const double attn_std = 1 / std::sqrt(w), proj_std = attn_std / std::sqrt(2 * layers), fc_std = 1 / std::sqrt(2 * w);
        init_normal(token_embedding.weight, 0.02, seed, join(prefix, "token_embedding.weight"));
        init_normal(positional_embedding, 0.01, seed, join(prefix, "positional_embedding"));
        transformer.initialize(seed, join(prefix, "transformer"));
        for (std::size_t i = 0; i < transformer.resblocks.size(); ++i) {
            auto& block = transformer.resblocks[i];
            const std::string name = join(prefix, "transformer.resblocks." + std::to_string(i));
            if constexpr (requires { block.attn.in_proj_weight; block.attn.out_proj.weight; }) {
                init_normal(block.attn.in_proj_weight, attn_std, seed, name + ".attn.in_proj_weight");
                init_normal(block.attn.out_proj.weight, proj_std, seed, name + ".attn.out_proj.weight");
            }
            if constexpr (requires { block.mlp.c_fc.weight; block.mlp.c_proj.weight; }) {
                init_normal(block.mlp.c_fc.weight, fc_std, seed, name + ".mlp.c_fc.weight");
                init_normal(block.mlp.c_proj.weight, proj_std, seed, name + ".mlp.c_proj.weight");
            }
        }
        ln_final.initialize(seed, join(prefix, "ln_final"));
        init_normal(text_projection, attn_std, seed, join(prefix, "text_projection"));
    }

private:
    // The first `len` rows of the positional table [len, W] (all of it when len = context length).
    V positions(std::int64_t len) const {
        if (len == config.context_length) return positional_embedding;
        auto rows = Tensor<ops::Index, cpu>::empty(Shape{len});
        for (std::int64_t t = 0; t < len; ++t) rows[t] = ops::Index(t);
        return ad::gather_rows<T, B>(positional_embedding, to_device<device_of<B>>(rows));
    }
};

template <BlockModule Block>
auto TextTransformer<Block>::encode(const Tensor<ops::Index, cpu>& tokens) const -> V {
    const std::int64_t n = tokens.rank() == 2 ? tokens.size(0) : 0, len = tokens.rank() == 2 ? tokens.size(1) : 0;
    const std::int64_t w = config.width;
    CONTRA_CHECK(tokens.rank() == 2 && len >= 1 && len <= config.context_length, "TextTransformer: tokens ",
                 tokens.shape(), " must be [N, L] with 1 ≤ L ≤ ", config.context_length);
    auto pooled = Tensor<ops::Index, cpu>::empty(Shape{n});  // row of each text's end token
    std::vector<std::int64_t> key_lengths;                    // non-causal: tokens up to each end token
    for (std::int64_t i = 0; i < n; ++i) {
        std::int64_t best = 0;
        for (std::int64_t t = 0; t < len; ++t) {
            const auto id = tokens[i * len + t];
            CONTRA_CHECK(id >= 0 && id < config.vocab_size, "TextTransformer: token id ", id, " at [", i, ", ", t,
                         "] is outside the vocabulary [0, ", config.vocab_size, ")");
            if (id > tokens[i * len + best]) best = t;
        }
        pooled[i] = ops::Index(i * len + best);
        if (!causal) key_lengths.push_back(best + 1);
    }
    if (std::all_of(key_lengths.begin(), key_lengths.end(), [&](std::int64_t k) { return k == len; })) key_lengths.clear();
    using DIndex = TensorOn<ops::Index, B>;
    // Both copies before any kernel of this tower is queued: a copy from the host waits for the device.
    const DIndex ids = to_device<device_of<B>>(tokens.reshape(Shape{n * len}));
    const DIndex end_rows = to_device<device_of<B>>(pooled);
    auto x = token_embedding.forward(ids).reshape(Shape{n, len * w});      // [N, L·W]
    x = ad::add(x, positions(len).reshape(Shape{len * w}));                // + pos
    x = transformer.forward(x.reshape(Shape{n, len, w}), key_lengths);     // [N, L, W]
    const auto last = ad::gather_rows(x.reshape(Shape{n * len, w}), end_rows);  // [N, W]
    return ad::matmul(ln_final.forward(last), V(text_projection));        // [N, E]
}

}  // namespace contra::nn
