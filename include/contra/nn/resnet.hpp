// contra/nn/resnet.hpp — the ModifiedResNet image tower of OpenAI's RN50 family:
//   stem: three 3×3 convs (3→w/2 stride 2, w/2→w/2, w/2→w), each BatchNorm + ReLU, AvgPool 2
//   → four stages of anti-aliased Bottlenecks (AvgPool(stride) before conv3 and before the 1×1
//     downsample conv) → AttentionPool2d (the mean token queries the grid) → [N, E]
// defines: nn::Conv2d, nn::BatchNorm2d, nn::Bottleneck, nn::AttentionPool2d, nn::ModifiedResNet
//
// BatchNorm keeps running statistics: buffers, not parameters. visit_parameters() never shows
// them (so optimisers, gradchecks and parameter counts ignore them); visit_buffers(f, prefix)
// calls f(name, tensor) for each, named as the OpenAI state dict (…bn1.running_mean,
// …bn1.running_var; num_batches_tracked is not kept). A tower starts in training mode, as a
// PyTorch module: BatchNorm normalises with the batch's statistics and moves the running ones
// (momentum 0.1); after eval() it normalises with the running statistics and changes nothing.
#pragma once
#include <cmath>
#include <vector>

#include "../autograd/ops.hpp"
#include "config.hpp"
#include "linear.hpp"

namespace contra::nn {

// Conv2d without bias: weight [O, C, K, K].
template <class T, class B>
struct Conv2d {
    using value_type = T;
    using backend = B;

    Parameter<T, B> weight;
    ops::Conv2dShape shape;

    Conv2d() = default;
    Conv2d(std::int64_t in, std::int64_t out, std::int64_t kernel, ops::Conv2dShape s = {})
        : weight(Shape{out, in, kernel, kernel}), shape(s) {}

    Var<T, B> forward(const Var<T, B>& x) const { return ad::conv2d(x, static_cast<const Var<T, B>&>(weight), shape); }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "weight"), weight);
    }
    // PyTorch's default: kaiming-uniform, U(±1/√fan_in).
    void initialize(std::uint64_t seed, const std::string& prefix) {
        const double fan_in = double(weight.shape()[1] * weight.shape()[2] * weight.shape()[3]);
        init_uniform(weight, 1.0 / std::sqrt(fan_in), seed, join(prefix, "weight"));
    }
};

// BatchNorm2d (eps 1e-5, momentum 0.1): weight, bias [C] and the running statistics [C].
template <class T, class B>
struct BatchNorm2d {
    using value_type = T;
    using backend = B;
    using Buffer = TensorOn<T, B>;
    static constexpr double eps = 1e-5, momentum = 0.1;

    Parameter<T, B> weight, bias;
    Buffer running_mean, running_var;  // updated in place by a training-mode forward

    BatchNorm2d() = default;
    explicit BatchNorm2d(std::int64_t channels)
        : weight(Shape{channels}), bias(Shape{channels}), running_mean(Buffer::zeros(Shape{channels})),
          running_var(Buffer::zeros(Shape{channels})) {
        ops::fill(B{}, acc_t<T>(1), running_var);
    }

    Var<T, B> forward(const Var<T, B>& x, bool training) const {
        return ad::batch_norm2d(x, static_cast<const Var<T, B>&>(weight), static_cast<const Var<T, B>&>(bias),
                                running_mean, running_var, ad::BatchNormMode{training, momentum, eps});
    }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "weight"), weight);
        f(join(prefix, "bias"), bias);
    }
    template <class F>
    void visit_buffers(F&& f, const std::string& prefix) {
        f(join(prefix, "running_mean"), running_mean);
        f(join(prefix, "running_var"), running_var);
    }
    void initialize(std::uint64_t, const std::string&) {
        init_constant(weight, 1.0);
        init_constant(bias, 0.0);
        ops::fill(B{}, acc_t<T>(0), running_mean);
        ops::fill(B{}, acc_t<T>(1), running_var);
    }
};

namespace detail {
template <class T, class B>
Var<T, B> relu(const Var<T, B>& x) {
    return ad::activation(x, ops::Activation::relu);
}
// The stem and every Bottleneck start with conv1..3 and bn1..3 (OpenAI's names); these visit and
// initialise that sextet of any module that has it.
template <class Module, class F>
void visit_conv_bn_parameters(Module& m, F& f, const std::string& prefix) {
    m.conv1.visit_parameters(f, join(prefix, "conv1"));
    m.bn1.visit_parameters(f, join(prefix, "bn1"));
    m.conv2.visit_parameters(f, join(prefix, "conv2"));
    m.bn2.visit_parameters(f, join(prefix, "bn2"));
    m.conv3.visit_parameters(f, join(prefix, "conv3"));
    m.bn3.visit_parameters(f, join(prefix, "bn3"));
}
template <class Module, class F>
void visit_conv_bn_buffers(Module& m, F& f, const std::string& prefix) {
    m.bn1.visit_buffers(f, join(prefix, "bn1"));
    m.bn2.visit_buffers(f, join(prefix, "bn2"));
    m.bn3.visit_buffers(f, join(prefix, "bn3"));
}
template <class Module>
void initialize_conv_bn(Module& m, std::uint64_t seed, const std::string& prefix) {
    m.conv1.initialize(seed, join(prefix, "conv1"));
    m.conv2.initialize(seed, join(prefix, "conv2"));
    m.conv3.initialize(seed, join(prefix, "conv3"));
    m.bn1.initialize(seed, join(prefix, "bn1"));
    m.bn2.initialize(seed, join(prefix, "bn2"));
    m.bn3.initialize(seed, join(prefix, "bn3"));
}
}  // namespace detail

// Bottleneck(inplanes, planes, stride): 1×1 → 3×3 → AvgPool(stride) → 1×1 (×4), each with
// BatchNorm, ReLU after the first two and after the residual sum; the shortcut is
// AvgPool(stride) → 1×1 conv → BatchNorm when the stride or the width changes ("downsample.0/1").
template <class T, class B>
struct Bottleneck {
    using value_type = T;
    using backend = B;
    static constexpr std::int64_t expansion = 4;

    Conv2d<T, B> conv1, conv2, conv3;
    BatchNorm2d<T, B> bn1, bn2, bn3;
    int stride = 1;
    bool has_downsample = false;
    Conv2d<T, B> downsample_conv;  // "downsample.0"
    BatchNorm2d<T, B> downsample_bn;  // "downsample.1"

    Bottleneck() = default;
    Bottleneck(std::int64_t inplanes, std::int64_t planes, int s)
        : conv1(inplanes, planes, 1), conv2(planes, planes, 3, {1, 1}), conv3(planes, planes * expansion, 1),
          bn1(planes), bn2(planes), bn3(planes * expansion), stride(s),
          has_downsample(s > 1 || inplanes != planes * expansion) {
        if (has_downsample) {
            downsample_conv = Conv2d<T, B>(inplanes, planes * expansion, 1);
            downsample_bn = BatchNorm2d<T, B>(planes * expansion);
        }
    }

    // x [N, inplanes, H, W] → [N, 4·planes, H/stride, W/stride]
    Var<T, B> forward(const Var<T, B>& x, bool training) const {
        auto out = detail::relu(bn1.forward(conv1.forward(x), training));
        out = detail::relu(bn2.forward(conv2.forward(out), training));
        if (stride > 1) out = ad::avg_pool2d(out, stride);
        out = bn3.forward(conv3.forward(out), training);
        Var<T, B> identity = x;
        if (has_downsample)
            identity = downsample_bn.forward(downsample_conv.forward(stride > 1 ? ad::avg_pool2d(x, stride) : x), training);
        return detail::relu(ad::add(out, identity));
    }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        detail::visit_conv_bn_parameters(*this, f, prefix);
        if (has_downsample) {
            downsample_conv.visit_parameters(f, join(prefix, "downsample.0"));
            downsample_bn.visit_parameters(f, join(prefix, "downsample.1"));
        }
    }
    template <class F>
    void visit_buffers(F&& f, const std::string& prefix) {
        detail::visit_conv_bn_buffers(*this, f, prefix);
        if (has_downsample) downsample_bn.visit_buffers(f, join(prefix, "downsample.1"));
    }
    // PyTorch's defaults, except bn3.weight = 0 (the reference's initialize_parameters): each
    // block starts as its shortcut.
    void initialize(std::uint64_t seed, const std::string& prefix) {
        detail::initialize_conv_bn(*this, seed, prefix);
        init_constant(bn3.weight, 0.0);
        if (has_downsample) {
            downsample_conv.initialize(seed, join(prefix, "downsample.0"));
            downsample_bn.initialize(seed, join(prefix, "downsample.1"));
        }
    }
};

// AttentionPool2d(grid, width, heads, output): x [N, W, G, G] → the G² tokens plus their mean in
// front, + positional_embedding [1+G², W]; multi-head attention in which only the mean token
// queries (q/k/v_proj with bias, scale 1/√(W/heads)); c_proj [E, W] with bias → [N, E].
template <class T, class B>
struct AttentionPool2d {
    using value_type = T;
    using backend = B;
    using V = Var<T, B>;

    Parameter<T, B> positional_embedding;  // [1 + G², W]
    Linear<T, B> q_proj, k_proj, v_proj, c_proj;
    std::int64_t heads = 1;

    AttentionPool2d() = default;
    AttentionPool2d(std::int64_t grid, std::int64_t width, std::int64_t h, std::int64_t output_dim)
        : positional_embedding(Shape{grid * grid + 1, width}), q_proj(width, width), k_proj(width, width),
          v_proj(width, width), c_proj(width, output_dim), heads(h) {
        CONTRA_CHECK(h > 0 && width % h == 0, "AttentionPool2d: width ", width, " is not divisible into ", h, " heads");
    }

    std::int64_t width() const { return positional_embedding.shape()[1]; }
    std::int64_t tokens() const { return positional_embedding.shape()[0]; }

    V forward(const V& x) const {
        const Shape& s = x.shape();
        const std::int64_t n = s[0], w = width(), hw = s[2] * s[3], L = tokens(), dh = w / heads;
        CONTRA_CHECK(s.rank() == 4 && s[1] == w && hw + 1 == L, "AttentionPool2d: input ", s, " does not match ", L - 1,
                     " positions of width ", w);
        const auto grid = ad::transpose(x.reshape(Shape{n, w, hw}));                         // [N, HW, W]
        const auto mean = ad::mean(x.reshape(Shape{n * w, hw}), ops::Axis::cols);           // [N·W]
        auto seq = ad::concat_cols(mean.reshape(Shape{n, w}), grid.reshape(Shape{n, hw * w}));  // [N, L·W]
        seq = ad::add(seq, positional_embedding.reshape(Shape{L * w}));                        // + pos
        const auto rows = seq.reshape(Shape{n * L, w});                                       // [N·L, W]
        const auto first = ad::gather_rows(rows, first_rows(n, L));                           // [N, W]
        const auto q = ad::permute_0213(q_proj.forward(first).reshape(Shape{n, 1, heads, dh}));  // [N, H, 1, Dh]
        const auto k = ad::permute_0213(k_proj.forward(rows).reshape(Shape{n, L, heads, dh}));   // [N, H, L, Dh]
        const auto v = ad::permute_0213(v_proj.forward(rows).reshape(Shape{n, L, heads, dh}));   // [N, H, L, Dh]
        const auto scores = ad::affine(ad::bmm(q, k, ops::Trans::N, ops::Trans::T),
                                       acc_t<T>(1.0 / std::sqrt(double(dh))));                 // [N, H, 1, L]
        const auto out = ad::bmm(ad::softmax(scores), v);                                      // [N, H, 1, Dh]
        return c_proj.forward(ad::permute_0213(out).reshape(Shape{n, w}));                     // [N, E]
    }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "positional_embedding"), positional_embedding);
        q_proj.visit_parameters(f, join(prefix, "q_proj"));
        k_proj.visit_parameters(f, join(prefix, "k_proj"));
        v_proj.visit_parameters(f, join(prefix, "v_proj"));
        c_proj.visit_parameters(f, join(prefix, "c_proj"));
    }
    // As the reference: positional_embedding ~ N(0,1)/√W; q/k/v/c_proj weights ~ N(0, 1/W);
    // the biases keep nn.Linear's default.
    void initialize(std::uint64_t seed, const std::string& prefix) {
        const double std = 1.0 / std::sqrt(double(width()));
        init_normal(positional_embedding, std, seed, join(prefix, "positional_embedding"));
        for (auto [name, linear] : {std::pair<const char*, Linear<T, B>*>{"q_proj", &q_proj},
                                    {"k_proj", &k_proj}, {"v_proj", &v_proj}, {"c_proj", &c_proj}}) {
            linear->initialize(seed, join(prefix, name));
            init_normal(linear->weight, std, seed, join(join(prefix, name), "weight"));
        }
    }

private:
    static TensorOn<ops::Index, B> first_rows(std::int64_t n, std::int64_t tokens) {
        auto rows = Tensor<ops::Index, cpu>::empty(Shape{n});
        for (std::int64_t i = 0; i < n; ++i) rows[i] = ops::Index(i * tokens);
        return to_device<device_of<B>>(rows);
    }
};

// ModifiedResNet<T, B>: images [N, C, S, S] → [N, E]. An ImageTower.
template <class T, class B>
struct ModifiedResNet {
    using value_type = T;
    using backend = B;
    using V = Var<T, B>;
    using config_type = ResNetConfig;

    ResNetConfig config;
    Conv2d<T, B> conv1, conv2, conv3;
    BatchNorm2d<T, B> bn1, bn2, bn3;
    std::array<std::vector<Bottleneck<T, B>>, 4> layers;  // "layer1" … "layer4"
    AttentionPool2d<T, B> attnpool;

    ModifiedResNet() = default;
    ModifiedResNet(const ResNetConfig& c, std::int64_t embed_dim)
        : config(c),
          conv1(c.channels, c.width / 2, 3, {2, 1}),
          conv2(c.width / 2, c.width / 2, 3, {1, 1}),
          conv3(c.width / 2, c.width, 3, {1, 1}),
          bn1(c.width / 2),
          bn2(c.width / 2),
          bn3(c.width),
          attnpool(c.grid(), c.embed_width(), c.heads, embed_dim) {
        CONTRA_CHECK(c.width >= 2 && c.width % 2 == 0 && c.image_size >= 32 && c.image_size % 32 == 0,
                     "ModifiedResNet: width ", c.width, " must be even and image size ", c.image_size,
                     " a multiple of 32");
        std::int64_t inplanes = c.width;
        for (std::size_t stage = 0; stage < 4; ++stage) {
            const std::int64_t planes = c.width << stage;
            CONTRA_CHECK(c.layers[stage] >= 1, "ModifiedResNet: stage ", stage + 1, " needs at least one block");
            for (std::int64_t b = 0; b < c.layers[stage]; ++b) {
                layers[stage].emplace_back(inplanes, planes, b == 0 && stage > 0 ? 2 : 1);
                inplanes = planes * Bottleneck<T, B>::expansion;
            }
        }
    }

    std::int64_t output_dim() const { return attnpool.c_proj.out_features(); }

    // Training mode (the default): BatchNorm uses and tracks batch statistics; eval(): running ones.
    void train(bool on = true) { training_ = on; }
    void eval() { training_ = false; }
    bool training() const { return training_; }

    // images [N, C, S, S] → embeddings [N, E] (not normalised)
    // Defined after the class, not inline: a program can compile it once (model/instances.hpp).
    V encode(const TensorOn<T, B>& images) const;

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        detail::visit_conv_bn_parameters(*this, f, prefix);
        for_each_block([&](Bottleneck<T, B>& block, const std::string& name) { block.visit_parameters(f, join(prefix, name)); });
        attnpool.visit_parameters(f, join(prefix, "attnpool"));
    }
    // f(name, tensor) for every BatchNorm running statistic.
    template <class F>
    void visit_buffers(F&& f, const std::string& prefix) {
        detail::visit_conv_bn_buffers(*this, f, prefix);
        for_each_block([&](Bottleneck<T, B>& block, const std::string& name) { block.visit_buffers(f, join(prefix, name)); });
    }

    // The reference's initialize_parameters for a ModifiedResNet (see AttentionPool2d and
    // Bottleneck), PyTorch's defaults elsewhere.
    void initialize(std::uint64_t seed, const std::string& prefix) {
        detail::initialize_conv_bn(*this, seed, prefix);
        for_each_block([&](Bottleneck<T, B>& block, const std::string& name) { block.initialize(seed, join(prefix, name)); });
        attnpool.initialize(seed, join(prefix, "attnpool"));
    }

private:
    bool training_ = true;

    template <class F>
    void for_each_block(F&& f) {
        for (std::size_t stage = 0; stage < 4; ++stage)
            for (std::size_t b = 0; b < layers[stage].size(); ++b)
                f(layers[stage][b], "layer" + std::to_string(stage + 1) + "." + std::to_string(b));
    }
};

template <class T, class B>
auto ModifiedResNet<T, B>::encode(const TensorOn<T, B>& images) const -> Var<T, B> {
    const auto& c = config;
    CONTRA_CHECK(images.rank() == 4 && images.size(1) == c.channels && images.size(2) == c.image_size &&
                     images.size(3) == c.image_size,
                 "ModifiedResNet: images ", images.shape(), " do not match [N, ", c.channels, ", ", c.image_size,
                 ", ", c.image_size, "]");
    auto x = detail::relu(bn1.forward(conv1.forward(V(images)), training_));  // [N, w/2, S/2, S/2]
    x = detail::relu(bn2.forward(conv2.forward(x), training_));
    x = detail::relu(bn3.forward(conv3.forward(x), training_));              // [N, w, S/2, S/2]
    x = ad::avg_pool2d(x, 2);                                                // [N, w, S/4, S/4]
    for (const auto& stage : layers)
        for (const auto& block : stage) x = block.forward(x, training_);     // → [N, 32w, S/32, S/32]
    return attnpool.forward(x);                                              // [N, E]
}

}  // namespace contra::nn
