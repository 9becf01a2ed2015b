// examples/variants/new_tower.cpp — a new image tower: a small convolutional network.
//   conv 3×3 stride 2 → ReLU → conv 3×3 → ReLU → global average pool → LayerNorm → ·proj
// It satisfies nn::ImageTower, takes its sizes from its own config struct, names its parameters
// under "visual." like the ViT does, and trains in model::Clip next to the OpenAI text tower.
#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>

#include <cmath>
#include <cstdio>

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
    V encode(const Tensor<T, device_of<B>>& images) const {
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

using namespace contra;
static_assert(nn::ImageTower<my::ConvTower<float, cpu>>);

// Random values for every parameter (the initial ones, zeros and ones, would hide mistakes).
template <class M>
void randomize(M& m) {
    for_each_parameter(m, [](const std::string& name, auto& p) { init_normal(p, 0.5, 3, name); });
}
bool report(const char* what, const GradcheckReport& r) {
    std::printf("gradcheck %-10s %s (%lld checks, max error %.2g)\n", what, r.ok ? "ok" : "FAILED", (long long)r.checked,
                r.worst_abs_error);
    if (!r.ok) std::printf("%s", r.detail.c_str());
    return r.ok;
}

int main() {
    const my::ConvTowerConfig sizes;  // 8×8 RGB images, as the tiny preset's
    Rng rng(5);
    auto images = Tensor<double>::empty(Shape{3, 3, 8, 8});
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = rng.normal();
    const auto tokens = Tensor<ops::Index>::from(Shape{3, 4}, {23, 5, 1, 0, 3, 23, 0, 0, 7, 7, 9, 23});

    // Gradients, in float64: the tower's embeddings, then the loss of a whole CLIP around it.
    my::ConvTower<double, cpu> tower(sizes, 8);
    randomize(tower);
    GradcheckOptions options;
    options.max_checks_per_input = 40;  // a spread-out subset of each parameter's elements
    bool ok = report("tower", gradcheck_module<cpu>(tower, [&](auto& m) { return m.encode(images); }, options));
    my::ConvClip<double, cpu> clip64(model::preset("tiny"), sizes);
    randomize(clip64);
    ok &= report("CLIP loss", gradcheck_module<cpu>(clip64, [&](auto& m) { return m.loss(images, tokens); }, options));

    // The names model::Clip gives the tower's parameters.
    my::ConvClip<float, cpu> model(model::preset("tiny"), sizes, /*seed=*/1);
    model.visit_parameters([](const std::string& name, Parameter<float, cpu>& p) {
        if (name.starts_with("visual.")) std::printf("  %-24s %lld elements\n", name.c_str(), (long long)p.numel());
    });

    // Training, in float32.
    optim::AdamW<float, cpu> optimizer(model);
    const auto images32 = cast<float>(images);
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
        Tape tape;
        Tape::Active recording(tape);
        optimizer.zero_grad();
        auto loss = model.loss(images32, tokens);
        backward(loss);
        optimizer.step(3e-3);
        model.clamp_parameters();
        (step == 0 ? first : last) = loss.value().item();
    }
    std::printf("conv-tower CLIP: %lld parameters, loss %.4f -> %.4f\n", (long long)model.parameter_count(), first, last);
    return ok && last < first ? 0 : 1;
}
