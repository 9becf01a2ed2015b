// contra/nn/clip.hpp — Clip<ImageTower, TextTower, Loss>: two towers trained against each other.
//   image → visual.encode → Î;  text → text.encode → T̂;  loss(Î, T̂) (InfoNCE or SigLIP)
// and the OpenAI composition (ViT + causal text transformer, QuickGELU, pre-norm blocks).
// defines: nn::Clip, nn::ResidualBlock, nn::OpenAiVision, nn::OpenAiText, nn::OpenAiClip, nn::ClipWithActivation,
//          nn::OpenAiResNetClip
#pragma once
#include "../loss/info_nce.hpp"
#include "../loss/siglip.hpp"
#include "concepts.hpp"
#include "resnet.hpp"
#include "text_transformer.hpp"
#include "vision_transformer.hpp"

namespace contra::nn {

template <ImageTower Image, TextTower Text, ContrastiveLoss Loss>
    requires SameNumerics<Image, Text> && SameNumerics<Image, Loss>
struct Clip {
    using value_type = typename Image::value_type;
    using backend = typename Image::backend;
    using T = value_type;
    using B = backend;
    using V = Var<T, B>;
    using image_tower = Image;
    using text_tower = Text;
    using loss_type = Loss;

    ClipConfig config;
    Image visual;   // parameters under "visual."
    Text text;      // parameters at the top level, as in the OpenAI state dict
    Loss loss_fn;   // logit_scale (and logit_bias for SigLIP)

    explicit Clip(const ClipConfig& c, std::uint64_t seed = 0)
        requires std::constructible_from<Image, const VisionConfig&, std::int64_t>
        : config(c), visual(c.vision, c.embed_dim), text(c.text, c.embed_dim) {
        initialize(seed);
    }
    // An image tower with its own sizes (nn::ResNetConfig for a ModifiedResNet); c.vision is unused.
    template <class ImageConfig>
        requires std::constructible_from<Image, const ImageConfig&, std::int64_t>
    Clip(const ClipConfig& c, const ImageConfig& image_config, std::uint64_t seed = 0)
        : config(c), visual(image_config, c.embed_dim), text(c.text, c.embed_dim) {
        initialize(seed);
    }

    // The reference's initialize_parameters, drawn from streams named after each parameter.
    void initialize(std::uint64_t seed) {
        visual.initialize(seed, "visual");
        text.initialize(seed, "");
        loss_fn.initialize(seed);
    }

    // f(name, parameter) for every parameter, named as in the OpenAI / open_clip state dict.
    template <class F>
    void visit_parameters(F&& f) {
        loss_fn.visit_parameters(f, "");
        visual.visit_parameters(f, "visual");
        text.visit_parameters(f, "");
    }
    // f(name, tensor) for every buffer (state that is not trained, e.g. BatchNorm running statistics).
    template <class F>
    void visit_buffers(F&& f) {
        if constexpr (requires { visual.visit_buffers(f, std::string("visual")); }) visual.visit_buffers(f, "visual");
        if constexpr (requires { text.visit_buffers(f, std::string()); }) text.visit_buffers(f, "");
    }
    std::int64_t parameter_count() {
        std::int64_t total = 0;
        visit_parameters([&](const std::string&, Parameter<T, B>& p) { total += p.numel(); });
        return total;
    }
    void zero_grad() {
        visit_parameters([](const std::string&, Parameter<T, B>& p) { p.zero_grad(); });
    }

    // images [N, C, S, S] → [N, E];  tokens [N, L] → [N, E]  (not normalised)
    V encode_image(const Tensor<T, device_of<B>>& images) const { return visual.encode(images); }
    V encode_text(const Tensor<ops::Index, cpu>& tokens) const { return text.encode(tokens); }

    // The training objective for a batch of matching pairs (row i of each).
    V loss(const Tensor<T, device_of<B>>& images, const Tensor<ops::Index, cpu>& tokens) const {
        CONTRA_CHECK(images.rank() >= 1 && tokens.rank() >= 1 && images.size(0) == tokens.size(0), "Clip::loss: ",
                     images.shape(), " images but ", tokens.shape(), " texts; a batch pairs them row by row");
        return loss_fn(encode_image(images), encode_text(tokens));
    }
    // logits_per_image [N, M] (logits_per_text is its transpose).
    V logits(const Tensor<T, device_of<B>>& images, const Tensor<ops::Index, cpu>& tokens) const {
        return loss_fn.logits(encode_image(images), encode_text(tokens));
    }
    void clamp_parameters() { loss_fn.clamp_parameters(); }
};

// The OpenAI block: pre-norm, fused q/k/v attention, MLP with QuickGELU, eps-1e-5 LayerNorm.
template <class T, class B, class Mask, class Act = QuickGelu, class Impl = ad::Fused>
using ResidualBlock = TransformerBlock<MultiHeadAttention<T, B, Mask, Impl>, Mlp<T, B, Act>, LayerNorm<T, B, Impl>>;

template <class T, class B, class Impl = ad::Fused>
using OpenAiVision = VisionTransformer<ResidualBlock<T, B, NoMask, QuickGelu, Impl>>;
template <class T, class B, class Impl = ad::Fused>
using OpenAiText = TextTransformer<ResidualBlock<T, B, CausalMask, QuickGelu, Impl>>;

// The model of the paper: Clip<OpenAiVision, OpenAiText, InfoNce>.
template <class T = float, class B = cpu, class Impl = ad::Fused, class Loss = loss::InfoNce<T, B, Impl>>
using OpenAiClip = Clip<OpenAiVision<T, B, Impl>, OpenAiText<T, B, Impl>, Loss>;

// OpenAI's RN50 family: Clip<ModifiedResNet, OpenAiText, InfoNce>, built from (ClipConfig, ResNetConfig).
template <class T = float, class B = cpu, class Impl = ad::Fused, class Loss = loss::InfoNce<T, B, Impl>>
using OpenAiResNetClip = Clip<ModifiedResNet<T, B>, OpenAiText<T, B, Impl>, Loss>;

// The same composition with another MLP activation (many open_clip models use GELU).
template <class Act, class T = float, class B = cpu, class Impl = ad::Fused>
using ClipWithActivation = Clip<VisionTransformer<ResidualBlock<T, B, NoMask, Act, Impl>>,
                                TextTransformer<ResidualBlock<T, B, CausalMask, Act, Impl>>, loss::InfoNce<T, B, Impl>>;

}  // namespace contra::nn
