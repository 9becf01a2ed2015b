// examples/variants/new_attention.cpp — a new attention: cosine attention with a learned
// temperature (Swin Transformer v2). Each head's queries and keys are scaled to unit length, so a
// score is a cosine in [−1, 1] times exp(logit_scale), a learned scalar of the layer:
//   out_h = softmax(exp(logit_scale)·q̂_h k̂_hᵀ, mask) v_h
// It is built from differentiable ops (the tape derives its backward), fills the attention slot
// of a TransformerBlock, and the blocks make both towers of a CLIP.
#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>

#include <cmath>
#include <cstdio>

namespace my {
using namespace contra;

template <class T, class B, class Mask = nn::NoMask>
struct CosineAttention {
    using value_type = T;  // nn::AttentionModule asks for value_type, backend and mask, a
    using backend = B;     // (width, heads) constructor, forward(x) and visit_parameters(f, prefix)
    using mask = Mask;
    using V = Var<T, B>;

    std::int64_t heads = 1;
    Parameter<T, B> in_proj_weight;        // [3W, W] rows q, k, v, as nn::MultiHeadAttention
    Parameter<T, B> in_proj_bias;          // [3W]
    Parameter<T, B> logit_scale{Shape{}};  // [] the log of the scores' scale
    nn::Linear<T, B> out_proj;                 // [W, W]

    CosineAttention(std::int64_t width, std::int64_t heads_)
        : heads(heads_), in_proj_weight(Shape{3 * width, width}), in_proj_bias(Shape{3 * width}), out_proj(width, width) {
        CONTRA_CHECK(width % heads_ == 0, "CosineAttention: width ", width, " is not divisible by ", heads_, " heads");
    }

    // x [N, T, W] → [N, T, W]
    V forward(const V& x) const {
        const std::int64_t n = x.shape()[0], t = x.shape()[1], w = x.shape()[2];
        const V qkv = ad::linear<T, B>(x, in_proj_weight, in_proj_bias).reshape(Shape{n * t, 3 * w});
        auto heads_of = [&](std::int64_t column) {  // columns [column, column + W) as [N, H, T, Dh]
            const V part = ad::slice_cols(qkv, column, column + w).reshape(Shape{n, t, heads, w / heads});
            return ad::permute_0213(part);
        };
        const V q = ad::l2_normalize(heads_of(0)), k = ad::l2_normalize(heads_of(w)), v = heads_of(2 * w);
        const V cosine = ad::bmm(q, k, ops::Trans::N, ops::Trans::T);                 // [N, H, T, T]
        const V probs = ad::softmax(ad::mul(cosine, ad::exp(V(logit_scale))), ops::SoftmaxMask{Mask::causal});
        const V mixed = ad::permute_0213(ad::bmm(probs, v)).reshape(Shape{n, t, w});  // heads side by side
        return out_proj.forward(mixed);
    }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "in_proj_weight"), in_proj_weight);
        f(join(prefix, "in_proj_bias"), in_proj_bias);
        f(join(prefix, "logit_scale"), logit_scale);
        out_proj.visit_parameters(f, join(prefix, "out_proj"));
    }
    // Called by TransformerBlock::initialize: xavier-uniform in_proj, zero biases, scale 10.
    void initialize(std::uint64_t seed, const std::string& prefix) {
        const double w = double(in_proj_weight.shape()[1]);
        init_uniform(in_proj_weight, std::sqrt(6.0 / (4 * w)), seed, join(prefix, "in_proj_weight"));
        init_constant(in_proj_bias, 0.0);
        init_constant(logit_scale, std::log(10.0));
        out_proj.initialize(seed, join(prefix, "out_proj"));
    }
};

// The attention goes into the block's first slot; the blocks make the towers.
template <class T, class B, class Mask>
using CosineBlock = nn::TransformerBlock<CosineAttention<T, B, Mask>, nn::Mlp<T, B, nn::QuickGelu>, nn::LayerNorm<T, B>>;
template <class T, class B>
using CosineClip = model::Clip<nn::VisionTransformer<CosineBlock<T, B, nn::NoMask>>,
                            nn::TextTransformer<CosineBlock<T, B, nn::CausalMask>>, loss::InfoNce<T, B>>;
}  // namespace my

using namespace contra;
static_assert(nn::AttentionModule<my::CosineAttention<float, cpu, nn::CausalMask>>);

// Random values for every parameter (the initial ones, zeros and ones, would hide mistakes).
template <class M>
void randomize(M& m) {
    for_each_parameter(m, [](const std::string& name, auto& p) { init_normal(p, 0.5, 3, name); });
}
bool report(const char* what, const GradcheckReport& r) {
    std::printf("gradcheck %-22s %s (%lld checks, max error %.2g)\n", what, r.ok ? "ok" : "FAILED", (long long)r.checked,
                r.worst_abs_error);
    if (!r.ok) std::printf("%s", r.detail.c_str());
    return r.ok;
}

int main() {
    // Gradients, in float64: the attention with each mask, a block, and a whole CLIP built from them.
    Rng rng(11);
    auto x_host = Tensor<double>::empty(Shape{2, 3, 6});  // [N, T, W]
    for (std::int64_t i = 0; i < x_host.numel(); ++i) x_host[i] = rng.normal();
    const Var<double, cpu> x(x_host);
    my::CosineAttention<double, cpu, nn::NoMask> attention(6, 2);
    my::CosineAttention<double, cpu, nn::CausalMask> causal(6, 3);
    my::CosineBlock<double, cpu, nn::CausalMask> block(6, 2, 8);
    randomize(attention), randomize(causal), randomize(block);
    bool ok = report("attention", gradcheck_module<cpu>(attention, [&](auto& m) { return m.forward(x); }));
    ok &= report("causal attention", gradcheck_module<cpu>(causal, [&](auto& m) { return m.forward(x); }));
    ok &= report("block", gradcheck_module<cpu>(block, [&](auto& m) { return m.forward(x); }));

    auto images = Tensor<double>::empty(Shape{3, 3, 8, 8});
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = rng.normal();
    const auto tokens = Tensor<ops::Index>::from(Shape{3, 4}, {23, 5, 1, 0, 3, 23, 0, 0, 7, 7, 9, 23});
    my::CosineClip<double, cpu> clip64(model::preset("tiny"));
    randomize(clip64);
    GradcheckOptions options;
    options.max_checks_per_input = 40;  // a spread-out subset of each parameter's elements
    ok &= report("CLIP loss", gradcheck_module<cpu>(clip64, [&](auto& m) { return m.loss(images, tokens); }, options));

    // Training, in float32: the tiny CLIP with cosine attention in all its blocks.
    my::CosineClip<float, cpu> model(model::preset("tiny"), /*seed=*/1);
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
    const auto& scale = model.visual.transformer.resblocks[0].attn.logit_scale;
    std::printf("cosine-attention CLIP: %lld parameters, loss %.4f -> %.4f, "
                "visual.transformer.resblocks.0.attn.logit_scale %.4f\n",
                (long long)model.parameter_count(), first, last, double(to_device<cpu>(scale.value())[0]));
    return ok && last < first ? 0 : 1;
}
