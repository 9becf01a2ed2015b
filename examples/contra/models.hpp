// What the commands share about models: the models this program compiles once (models_*.cpp)
// and declares extern here, the model built for a checkpoint (its activation and image tower
// loss and text mask chosen at run time among the compiled ones), and reading ids and pixels from an inputs file.
#pragma once
#include <contra/contra.hpp>
#include <contra/io/export.hpp>
#include <contra/data/hf_tokenizer.hpp>
#include <contra/io/pretrained.hpp>
#include <contra/model/instances.hpp>
#include <contra/tasks/captions.hpp>

#include <filesystem>

#include <type_traits>

#include "commands.hpp"

CONTRA_OPENAI_CLIP_INSTANCES(extern, float, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_OPENAI_CLIP_INSTANCES(extern, float, ::contra::cpu, ::contra::nn::Gelu);
CONTRA_CLIP_VARIANT_INSTANCES(extern, float, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_CLIP_VARIANT_INSTANCES(extern, float, ::contra::cpu, ::contra::nn::Gelu);
CONTRA_RESNET_CLIP_INSTANCES(extern, float, ::contra::cpu);
CONTRA_OPENAI_CLIP_INSTANCES(extern, double, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_OPENAI_CLIP_INSTANCES(extern, double, ::contra::cpu, ::contra::nn::Gelu);
CONTRA_CLIP_VARIANT_INSTANCES(extern, double, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_CLIP_VARIANT_INSTANCES(extern, double, ::contra::cpu, ::contra::nn::Gelu);
CONTRA_RESNET_CLIP_INSTANCES(extern, double, ::contra::cpu);

namespace contra::cli {

// The model `contra train` trains and `contra eval` evaluates.
using Model = model::OpenAiClip<float, cpu>;

// describe(o): the architecture of o.path, the flags filling in what the file does not say.
inline io::Pretrained describe(const ModelOptions& o) {
    io::PretrainedOptions p;
    p.vision_heads = o.vision_heads;
    p.text_heads = o.text_heads;
    if (!o.activation.empty()) p.activation = io::activation_from_name(o.activation);
    return io::describe_pretrained(o.path, p);
}

// with_vit_model<T, B>(activation, loss, causal_text, f): f(std::type_identity<M>{}) with M the ViT
// CLIP on backend B for that MLP activation, contrastive loss and text mask.
template <class T, class B = cpu, class F>
decltype(auto) with_vit_model(ops::Activation activation, io::LossKind loss_kind, bool causal_text, F&& f) {
    const auto with_mask = [&]<class Act, class Loss>(std::type_identity<Act>, std::type_identity<Loss>) -> decltype(auto) {
        if (causal_text) return f(std::type_identity<model::ClipWithActivation<Act, T, B, ad::Fused, Loss, nn::CausalMask>>{});
        return f(std::type_identity<model::ClipWithActivation<Act, T, B, ad::Fused, Loss, nn::NoMask>>{});
    };
    const auto with_loss = [&]<class Act>(std::type_identity<Act> act) -> decltype(auto) {
        if (loss_kind == io::LossKind::siglip) return with_mask(act, std::type_identity<::contra::loss::SigLip<T, B>>{});
        return with_mask(act, std::type_identity<::contra::loss::InfoNce<T, B>>{});
    };
    switch (activation) {
        case ops::Activation::quick_gelu: return with_loss(std::type_identity<nn::QuickGelu>{});
        case ops::Activation::gelu: return with_loss(std::type_identity<nn::Gelu>{});
        default: throw Error("activation " + io::activation_name(activation) + " is not built into this program");
    }
}

// with_pretrained<T>(p, f): f(model) with model built for p and its weights loaded (a ResNet
// image tower in eval mode: BatchNorm uses the running statistics).
template <class T, class F>
void with_pretrained(const io::Pretrained& p, F&& f) {
    const auto run = [&]<class M>(std::type_identity<M>, const auto&... sizes) {
        M model(p.config, sizes..., model::uninitialized);  // every parameter is loaded next
        io::load_pretrained(p, model);
        if constexpr (requires { model.visual.eval(); }) model.visual.eval();  // BatchNorm: running statistics
        f(model);
    };
    if (p.resnet) {
        CONTRA_CHECK(p.activation == ops::Activation::quick_gelu && p.loss == io::LossKind::infonce && p.causal_text,
                     "ResNet CLIPs are built with causal QuickGELU text towers and InfoNCE");
        return run(std::type_identity<model::OpenAiResNetClip<T, cpu>>{}, *p.resnet);
    }
    with_vit_model<T>(p.activation, p.loss, p.causal_text, [&](auto model_type) { run(model_type); });
}

// tokenizer_for(p, bpe): the tokenizer of a model: the merges file bpe when given, else an HF
// folder's merges.txt + vocab.json, else a contra checkpoint's own; checked against the model's
// vocabulary.
inline data::Tokenizer tokenizer_for(const io::Pretrained& p, const std::string& bpe) {
    auto tokenizer = [&] {
        if (!bpe.empty()) return data::Tokenizer::from_merges_file(bpe);
        const auto folder = p.weights.parent_path();
        if (p.layout == io::WeightLayout::hf && std::filesystem::exists(folder / "merges.txt"))
            return data::tokenizer_from_hf_folder(folder);
        if (const auto it = p.metadata.find("tokenizer_merges"); it != p.metadata.end()) return tasks::merges_from_text(it->second);
        throw Error("no tokenizer for " + p.weights.string() + ": give --bpe (CLIP's bpe_simple_vocab_16e6.txt.gz)");
    }();
    CONTRA_CHECK(tokenizer.vocab_size() == p.config.text.vocab_size, "the tokenizer has ", tokenizer.vocab_size(),
                 " ids but the model's vocabulary is ", p.config.text.vocab_size);
    return tokenizer;
}

// input_ids of an inputs file as token rows [M, T] (int64 or int32 stored).
inline Tensor<ops::Index, cpu> read_ids(const io::SafetensorsFile& in, const std::string& name) {
    const auto& info = in.info(name);
    CONTRA_CHECK(info.shape.rank() == 2, in.source(), ": ", name, " is ", info.shape, "; [texts, tokens] is needed");
    return in.get<ops::Index>(name, io::Convert::allow);
}

// pixel_values of an inputs file [N, C, S, S], checked against the model's image size.
template <class T>
Tensor<T, cpu> read_pixels(const io::SafetensorsFile& in, const std::string& name, const nn::VisionConfig& v) {
    const auto& s = in.info(name).shape;
    CONTRA_CHECK(s.rank() == 4 && s[1] == v.channels && s[2] == v.image_size && s[3] == v.image_size, in.source(), ": ",
                 name, " is ", s, " but this model takes [N, ", v.channels, ", ", v.image_size, ", ", v.image_size,
                 "] (preprocessed images)");
    return in.get<T>(name, io::Convert::allow);
}

// with_commas(151277313) = "151,277,313"
inline std::string with_commas(long long n) {
    std::string digits = std::to_string(n < 0 ? -n : n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

}  // namespace contra::cli
