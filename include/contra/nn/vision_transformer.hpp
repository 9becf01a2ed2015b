// contra/nn/vision_transformer.hpp — the ViT image tower of CLIP.
//   patches (conv1: stride = kernel = patch, no bias) → [class; patches] + positional
//   → (in a training step with patch dropout on: [class; K kept patches]) → ln_pre
//   → transformer → ln_post(class token) → ·proj
// defines: nn::VisionTransformer
#pragma once
#include <cmath>

#include "config.hpp"
#include "patch_dropout.hpp"
#include "transformer.hpp"

namespace contra::nn {

template <BlockModule Block>
    requires(!Block::attention_type::mask::causal)
struct VisionTransformer {
    using value_type = typename Block::value_type;
    using backend = typename Block::backend;
    using T = value_type;
    using B = backend;
    using V = Var<T, B>;
    using Norm = typename Block::norm_type;
    using config_type = VisionConfig;

    VisionConfig config;
    Parameter<T, B> stem;                 // [S, C, 3, 3], or undefined (stem_channels = 0: OpenAI's tower)
    Parameter<T, B> conv1;                // [W, C or S, P, P]
    Parameter<T, B> class_embedding;      // [W]
    Parameter<T, B> positional_embedding; // [1 + G², W]
    Norm ln_pre;
    Transformer<Block> transformer;
    Norm ln_post;
    Parameter<T, B> proj;                 // [W, E]
    // Off unless enabled (patch_dropout.enable(rate, seed)); drops patches only inside a training
    // step (begin_step … end_step). Not a parameter, not saved.
    PatchDropout patch_dropout;

    VisionTransformer() = default;
    VisionTransformer(const VisionConfig& c, std::int64_t embed_dim)
        : config(c),
          stem(c.stem_channels > 0 ? Parameter<T, B>(Shape{c.stem_channels, c.channels, 3, 3}) : Parameter<T, B>()),
          conv1(Shape{c.width, c.stem_channels > 0 ? c.stem_channels : c.channels, c.patch_size, c.patch_size}),
          class_embedding(Shape{c.width}),
          positional_embedding(Shape{c.tokens(), c.width}),
          ln_pre(c.width),
          transformer(c.width, c.layers, c.heads, c.mlp_hidden()),
          ln_post(c.width),
          proj(Shape{c.width, embed_dim}) {
        CONTRA_CHECK(c.patch_size > 0 && c.image_size % c.patch_size == 0, "VisionTransformer: patch size ",
                     c.patch_size, " does not divide image size ", c.image_size);
    }

    std::int64_t output_dim() const { return proj.shape()[1]; }

    // A training step begins / ends (StepAware): the step names its patch dropout draws.
    void begin_step(std::int64_t step) { patch_dropout.begin_step(step); }
    void end_step() { patch_dropout.end_step(); }

    // images [N, C, S, S] → embeddings [N, E] (not normalised); every patch token, unless patch
    // dropout is active (patch_dropout.active()).
    // Defined after the class, not inline: a program can compile it once (model/instances.hpp).
    V encode(const TensorOn<T, B>& images) const;

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "class_embedding"), class_embedding);
        f(join(prefix, "positional_embedding"), positional_embedding);
        f(join(prefix, "proj"), proj);
        if (stem_defined()) f(join(prefix, "stem.weight"), stem);
        f(join(prefix, "conv1.weight"), conv1);
        ln_pre.visit_parameters(f, join(prefix, "ln_pre"));
        transformer.visit_parameters(f, join(prefix, "transformer"));
        ln_post.visit_parameters(f, join(prefix, "ln_post"));
    }

    // As the reference: class/positional embedding and proj ~ W^-½·N(0,1); conv1 and the blocks
    // keep PyTorch's defaults.
    void initialize(std::uint64_t seed, const std::string& prefix) {
        const double scale = 1.0 / std::sqrt(double(config.width));
        init_normal(class_embedding, scale, seed, join(prefix, "class_embedding"));
        init_normal(positional_embedding, scale, seed, join(prefix, "positional_embedding"));
        init_normal(proj, scale, seed, join(prefix, "proj"));
        const double fan_in = double(conv1.shape()[1] * config.patch_size * config.patch_size);
        init_uniform(conv1, 1.0 / std::sqrt(fan_in), seed, join(prefix, "conv1.weight"));
        if (stem_defined())  // He's uniform initialisation for a ReLU layer
            init_uniform(stem, std::sqrt(6.0 / double(config.channels * 9)), seed, join(prefix, "stem.weight"));
        ln_pre.initialize(seed, join(prefix, "ln_pre"));
        transformer.initialize(seed, join(prefix, "transformer"));
        ln_post.initialize(seed, join(prefix, "ln_post"));
    }

    bool stem_defined() const { return stem.value().defined(); }

private:
    // Row n·T of the flattened [N·T, W] sequence: each image's class token.
    static TensorOn<ops::Index, B> class_rows(std::int64_t n, std::int64_t tokens) {
        auto rows = Tensor<ops::Index, cpu>::empty(Shape{n});
        for (std::int64_t i = 0; i < n; ++i) rows[i] = ops::Index(i * tokens);
        return to_device<device_of<B>>(rows);
    }
};

template <BlockModule Block>
    requires(!Block::attention_type::mask::causal)
auto VisionTransformer<Block>::encode(const TensorOn<T, B>& images) const -> V {
    const auto& c = config;
    CONTRA_CHECK(images.rank() == 4 && images.size(1) == c.channels && images.size(2) == c.image_size &&
                     images.size(3) == c.image_size,
                 "VisionTransformer: images ", images.shape(), " do not match [N, ", c.channels, ", ",
                 c.image_size, ", ", c.image_size, "]");
    const std::int64_t n = images.size(0), patches = c.grid() * c.grid(), tokens = c.tokens(), w = c.width;
    const std::int64_t patch_dim = conv1.shape()[1] * c.patch_size * c.patch_size;
    const V features = stem_defined() ? ad::activation(ad::conv2d(V(images), V(stem), ops::Conv2dShape{1, 1}),
                                                       ops::Activation::relu)   // [N, S, S, S]
                                      : V(images);
    const auto pixels = ad::im2patch(features, int(c.patch_size));                   // [N, G², C·P·P]
    const auto embedded = ad::matmul(pixels.reshape(Shape{n * patches, patch_dim}),   // [N·G², W]
                                     conv1.reshape(Shape{w, patch_dim}), ops::Trans::N, ops::Trans::T);
    const auto cls = ad::add(V(TensorOn<T, B>::zeros(Shape{n, w})), V(class_embedding));  // [N, W]
    auto x = ad::concat_cols(cls, embedded.reshape(Shape{n, patches * w}));                // [N, T·W]
    x = ad::add(x, positional_embedding.reshape(Shape{tokens * w}));                      // + pos
    std::int64_t kept = tokens;                                                           // T, or 1 + K
    if (patch_dropout.active()) {
        kept = 1 + patch_dropout.keep_count(patches);
        const auto rows = to_device<device_of<B>>(patch_dropout.kept_rows(n, tokens));       // [N·(1+K)]
        x = ad::gather_rows(x.reshape(Shape{n * tokens, w}), rows);                         // [N·(1+K), W]
    }
    x = transformer.forward(ln_pre.forward(x.reshape(Shape{n, kept, w})));                // [N, T', W]
    const auto first = ad::gather_rows(x.reshape(Shape{n * kept, w}), class_rows(n, kept));  // [N, W]
    return ad::matmul(ln_post.forward(first), V(proj));                                   // [N, E]
}

}  // namespace contra::nn
