// Every module gradchecked in float64 on tiny sizes, with respect to all of its parameters and
// its input, on the reference and the cpu backend.
#include <doctest/doctest.h>

#include <contra/nn/nn.hpp>

#include "../support/compare.hpp"

using namespace contra;
using test::random_tensor;

namespace {
GradcheckOptions options() {
    GradcheckOptions o;
    o.max_checks_per_input = 40;
    o.atol = 1e-6;
    o.rtol = 1e-5;
    return o;
}
// Randomises every parameter (init values like 1 and 0 would hide mistakes).
template <class M>
void randomize(M& m, std::uint64_t seed) {
    for_each_parameter(m, [&](const std::string& name, auto& p) {
        init_normal(p, 0.5, seed, name);
    });
}
template <class B, class M, class F>
void expect_module_gradients(M& m, F&& forward) {
    randomize(m, 3);
    const auto report = gradcheck_module<B>(m, forward, options());
    INFO(report.detail);
    CHECK(report.ok);
}
template <class B>
Var<double, B> input(const Shape& s, std::uint64_t seed) {
    return Var<double, B>(to_device<device_of<B>>(random_tensor(s, seed)));
}
}  // namespace

#define BACKENDS reference, cpu

TEST_CASE_TEMPLATE("gradcheck: Linear, LayerNorm, Embedding, Mlp", B, BACKENDS) {
    const auto x = input<B>(Shape{2, 3, 5}, 1);
    nn::Linear<double, B> linear(5, 4);
    expect_module_gradients<B>(linear, [&](auto& m) { return m.forward(x); });
    nn::Linear<double, B> no_bias(5, 1, false);
    expect_module_gradients<B>(no_bias, [&](auto& m) { return m.forward(x); });
    nn::LayerNorm<double, B, ad::Fused> fused_norm(5);
    expect_module_gradients<B>(fused_norm, [&](auto& m) { return m.forward(x); });
    nn::LayerNorm<double, B, ad::Composite> composite_norm(5);
    expect_module_gradients<B>(composite_norm, [&](auto& m) { return m.forward(x); });
    nn::Embedding<double, B> embedding(7, 3);
    const auto ids = Tensor<ops::Index, cpu>::from(Shape{5}, {6, 0, 2, 2, 6});
    expect_module_gradients<B>(embedding, [&](auto& m) { return m.forward(ids); });
    nn::Mlp<double, B, nn::QuickGelu> quick(5, 7);
    expect_module_gradients<B>(quick, [&](auto& m) { return m.forward(x); });
    nn::Mlp<double, B, nn::Gelu> gelu(5, 3);
    expect_module_gradients<B>(gelu, [&](auto& m) { return m.forward(x); });
}

TEST_CASE_TEMPLATE("gradcheck: attention with either mask and either implementation, and a block", B, BACKENDS) {
    const auto x = input<B>(Shape{2, 3, 6}, 2);
    nn::MultiHeadAttention<double, B, nn::NoMask, ad::Fused> a1(6, 2);
    expect_module_gradients<B>(a1, [&](auto& m) { return m.forward(x); });
    nn::MultiHeadAttention<double, B, nn::CausalMask, ad::Fused> a2(6, 3);
    expect_module_gradients<B>(a2, [&](auto& m) { return m.forward(x); });
    nn::MultiHeadAttention<double, B, nn::CausalMask, ad::Composite> a3(6, 1);
    expect_module_gradients<B>(a3, [&](auto& m) { return m.forward(x); });
    nn::ResidualBlock<double, B, nn::CausalMask> block(6, 2, 8);
    expect_module_gradients<B>(block, [&](auto& m) { return m.forward(x); });
}

TEST_CASE_TEMPLATE("gradcheck: the towers and the whole CLIP with each loss", B, BACKENDS) {
    const auto config = model::preset("tiny");
    const auto images = to_device<device_of<B>>(random_tensor(Shape{3, 3, 8, 8}, 4));
    const auto tokens = Tensor<ops::Index, cpu>::from(Shape{3, 4}, {23, 5, 1, 0, 3, 23, 0, 0, 7, 7, 9, 23});
    nn::OpenAiVision<double, B> vision(config.vision, config.embed_dim);
    expect_module_gradients<B>(vision, [&](auto& m) { return m.encode(images); });
    nn::OpenAiText<double, B> text(config.text, config.embed_dim);
    expect_module_gradients<B>(text, [&](auto& m) { return m.encode(tokens); });

    model::OpenAiClip<double, B, ad::Fused> fused(config);
    expect_module_gradients<B>(fused, [&](auto& m) { return m.loss(images, tokens); });
    model::OpenAiClip<double, B, ad::Composite> composite(config);
    expect_module_gradients<B>(composite, [&](auto& m) { return m.loss(images, tokens); });
    model::OpenAiClip<double, B, ad::Fused, loss::SigLip<double, B>> siglip(config);
    expect_module_gradients<B>(siglip, [&](auto& m) { return m.loss(images, tokens); });
}
