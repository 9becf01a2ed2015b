// contra/model/clip.hpp — Clip<ImageTower, TextTower, Loss>: two towers trained against each other.
//   image → visual.encode → Î;  text → text.encode → T̂;  loss(Î, T̂) (InfoNCE or SigLIP)
// loss() and logits() are defined after the class (not inline), so that a program may compile the
// models it uses once, in an explicit instantiation, and declare them `extern template` elsewhere
// (the towers do the same with encode()).
// defines: model::Clip, model::Uninitialized, model::uninitialized
#pragma once
#include "../loss/concepts.hpp"
#include "../nn/concepts.hpp"
#include "config.hpp"

namespace contra::model {

// The tag of Clip's constructors that skip the random initialisation: every parameter stays 0 until
// weights are loaded into it (io::load_pretrained, io::load_checkpoint), which saves drawing
// ViT-B/32's 151 million values only to overwrite them.
struct Uninitialized {};
inline constexpr Uninitialized uninitialized{};

template <nn::ImageTower Image, nn::TextTower Text, loss::ContrastiveLoss Loss>
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

    // A ViT-style image tower built from c.vision.
    explicit Clip(const ClipConfig& c, std::uint64_t seed = 0)
        requires std::constructible_from<Image, const nn::VisionConfig&, std::int64_t>
        : config(c), visual(c.vision, c.embed_dim), text(c.text, c.embed_dim) {
        initialize(seed);
    }
    // An image tower with its own sizes (nn::ResNetConfig for a ModifiedResNet); c.vision is unused.
    Clip(const ClipConfig& c, const typename Image::config_type& image_config, std::uint64_t seed = 0)
        : config(c), visual(image_config, c.embed_dim), text(c.text, c.embed_dim) {
        initialize(seed);
    }
    // The same models with every parameter 0, for loading (model::uninitialized).
    Clip(const ClipConfig& c, Uninitialized)
        requires std::constructible_from<Image, const nn::VisionConfig&, std::int64_t>
        : config(c), visual(c.vision, c.embed_dim), text(c.text, c.embed_dim) {}
    Clip(const ClipConfig& c, const typename Image::config_type& image_config, Uninitialized)
        : config(c), visual(image_config, c.embed_dim), text(c.text, c.embed_dim) {}

    // The reference's initialize_parameters, drawn from streams named after each parameter.
    void initialize(std::uint64_t seed) {
        visual.initialize(seed, "visual");
        text.initialize(seed, "");
        loss_fn.initialize(seed, "");
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
        visit_parameters([&](const std::string&, auto& p) { total += p.numel(); });
        return total;
    }
    void zero_grad() {
        visit_parameters([](const std::string&, auto& p) { p.zero_grad(); });
    }

    // A training step begins / ends (nn::StepAware): forwarded to the towers whose forward depends
    // on the step (a ViT with patch dropout). train::train_step calls them through nn::StepScope.
    void begin_step(std::int64_t step) {
        if constexpr (nn::StepAware<Image>) visual.begin_step(step);
        if constexpr (nn::StepAware<Text>) text.begin_step(step);
    }
    void end_step() {
        if constexpr (nn::StepAware<Image>) visual.end_step();
        if constexpr (nn::StepAware<Text>) text.end_step();
    }

    // images [N, C, S, S] → [N, E];  tokens [N, L] → [N, E]  (not normalised)
    V encode_image(const TensorOn<T, B>& images) const { return visual.encode(images); }
    V encode_text(const Tensor<ops::Index, cpu>& tokens) const { return text.encode(tokens); }

    // The training objective for a batch of matching pairs (row i of each): a scalar.
    // The loss's value type: V, or Var<float, B> for a bf16 model whose loss computes in float.
    using LossVar = decltype(std::declval<const Loss&>()(std::declval<const V&>(), std::declval<const V&>()));
    LossVar loss(const TensorOn<T, B>& images, const Tensor<ops::Index, cpu>& tokens) const;
    // logits_per_image [N, M] (logits_per_text is its transpose).
    LossVar logits(const TensorOn<T, B>& images, const Tensor<ops::Index, cpu>& tokens) const;

    // exp(logit_scale): the factor on the cosine similarities (the inverse temperature).
    double scale() const { return loss_fn.scale(); }
    // logit_scale copied on the device, queued (scale() is exp of it): what a training step
    // keeps for its log without waiting. Only for a loss that has it.
    auto log_scale_on_device() const
        requires requires(const Loss& l) { l.log_scale_on_device(); }
    {
        return loss_fn.log_scale_on_device();
    }
    // After each optimizer step: the loss's scalars back in range (logit_scale ≤ ln 100).
    void clamp_parameters() { loss_fn.clamp_parameters(); }
};

template <nn::ImageTower Image, nn::TextTower Text, loss::ContrastiveLoss Loss>
    requires SameNumerics<Image, Text> && SameNumerics<Image, Loss>
auto Clip<Image, Text, Loss>::loss(const TensorOn<T, B>& images, const Tensor<ops::Index, cpu>& tokens) const -> LossVar {
    CONTRA_CHECK(images.rank() >= 1 && tokens.rank() >= 1 && images.size(0) == tokens.size(0), "Clip::loss: ",
                 images.shape(), " images but ", tokens.shape(), " texts; a batch pairs them row by row");
    return loss_fn(encode_image(images), encode_text(tokens));
}

template <nn::ImageTower Image, nn::TextTower Text, loss::ContrastiveLoss Loss>
    requires SameNumerics<Image, Text> && SameNumerics<Image, Loss>
auto Clip<Image, Text, Loss>::logits(const TensorOn<T, B>& images, const Tensor<ops::Index, cpu>& tokens) const -> LossVar {
    return loss_fn.logits(encode_image(images), encode_text(tokens));
}

}  // namespace contra::model
