// examples/variants/conv_tower.hpp — a new image tower: a small convolutional network.
//   conv 3×3 stride 2 → ReLU → conv 3×3 → ReLU → global average pool → LayerNorm → ·proj
// It satisfies nn::ImageTower, takes its sizes from its own config struct, names its parameters
// under "visual." like the ViT does, and trains in model::Clip next to the OpenAI text tower
// (new_tower.cpp checks it; train_csv.cpp trains it on image–caption files with the runner).
#pragma once
#include <contra/contra.hpp>

#include <cmath>

namespace my {
using namespace contra;

struct ConvTowerConfig {
    std::int64_t image_size = 8, channels = 3, width = 16;  // width: channels of the first convolution
};

template <class T, class B>
struct ConvTower {
    using value_type = T;  // nn::ImageTower asks for value_type, backend, config_type, the constructor
    using backend = B;     // (config, embed_dim), visit_parameters(f, prefix), initialize(seed, prefix),
    using config_type = ConvTowerConfig;  // encode(images) → [N, E] and output_dim()
    using V = Var<T, B>;

    ConvTowerConfig config;
    Parameter<T, B> conv1;    // [W, C, 3, 3]
    Parameter<T, B> conv2;    // [2W, W, 3, 3]
    nn::LayerNorm<T, B> ln_post;  // [2W]
    Parameter<T, B> proj;     // [2W, E]

    // model::Clip builds its image tower from (image config, embed_dim).
    ConvTower(const ConvTowerConfig& c, std::int64_t embed_dim)
        : config(c), conv1(Shape{c.width, c.channels, 3, 3}), conv2(Shape{2 * c.width, c.width, 3, 3}),
          ln_post(2 * c.width), proj(Shape{2 * c.width, embed_dim}) {}

    std::int64_t output_dim() const { return proj.shape()[1]; }

    // images [N, C, S, S] → embeddings [N, E] (not normalised)
    V encode(const TensorOn<T, B>& images) const {
        const auto& c = config;
        CONTRA_CHECK(images.rank() == 4 && images.size(1) == c.channels && images.size(2) == c.image_size &&
                         images.size(3) == c.image_size,
                     "ConvTower: images ", images.shape(), " are not [N, ", c.channels, ", ", c.image_size, ", ",
                     c.image_size, "]");
        const auto relu = ops::Activation::relu;
        V x = ad::activation(ad::conv2d(V(images), V(conv1), ops::Conv2dShape{2, 1}), relu);  // [N, W, S/2, S/2]
        x = ad::activation(ad::conv2d(x, V(conv2), ops::Conv2dShape{1, 1}), relu);           // [N, 2W, S/2, S/2]
        const V pooled = ad::avg_pool2d(x, int(x.shape()[2])).reshape(Shape{x.shape()[0], 2 * c.width});  // [N, 2W]
        return ad::matmul(ln_post.forward(pooled), V(proj));                                   // [N, E]
    }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "conv1.weight"), conv1);
        f(join(prefix, "conv2.weight"), conv2);
        ln_post.visit_parameters(f, join(prefix, "ln_post"));
        f(join(prefix, "proj"), proj);
    }
    // Called by model::Clip's constructor with prefix "visual": He-uniform convolutions, proj ~ W^-½·N(0, 1).
    void initialize(std::uint64_t seed, const std::string& prefix) {
        init_uniform(conv1, std::sqrt(6.0 / double(config.channels * 9)), seed, join(prefix, "conv1.weight"));
        init_uniform(conv2, std::sqrt(6.0 / double(config.width * 9)), seed, join(prefix, "conv2.weight"));
        ln_post.initialize(seed, join(prefix, "ln_post"));
        init_normal(proj, 1.0 / std::sqrt(double(2 * config.width)), seed, join(prefix, "proj"));
    }
};

template <class T, class B>
using ConvClip = model::Clip<ConvTower<T, B>, nn::OpenAiText<T, B>, loss::InfoNce<T, B>>;
}  // namespace my
