// What the subcommands on pretrained models share: the options that say how to read a
// checkpoint, the model built for it (its activation chosen at run time among the compiled
// ones), and reading ids and pixels from an inputs file.
#pragma once
#include <CLI/CLI.hpp>
#include <type_traits>
#include <contra/contra.hpp>
#include <contra/io/export.hpp>
#include <contra/io/pretrained.hpp>
#include <contra/nn/nn.hpp>

namespace contra::cli {

struct ModelOptions {
    std::string path;
    std::int64_t vision_heads = 0, text_heads = 0;
    std::string activation;  // empty: from the checkpoint

    io::Pretrained describe() const {
        io::PretrainedOptions o;
        o.vision_heads = vision_heads;
        o.text_heads = text_heads;
        if (!activation.empty()) o.activation = io::activation_from_name(activation);
        return io::describe_pretrained(path, o);
    }
};

inline void add_model_options(CLI::App* cmd, ModelOptions& o) {
    cmd->add_option("--model", o.path,
                    "An HF CLIPModel folder, an OpenAI/open_clip-layout .safetensors file, or a contra checkpoint")
        ->required();
    cmd->add_option("--vision-heads", o.vision_heads, "Image attention heads (OpenAI layout only; default width/64)");
    cmd->add_option("--text-heads", o.text_heads, "Text attention heads (OpenAI layout only; default width/64)");
    cmd->add_option("--activation", o.activation, "MLP activation if the file does not say: quick_gelu or gelu");
}

// with_pretrained<T>(p, f): f(model) with model built for p and its weights loaded (a ResNet
// image tower in eval mode: BatchNorm uses the running statistics).
template <class T, class F>
void with_pretrained(const io::Pretrained& p, F&& f) {
    const auto run = [&]<class Model>(std::type_identity<Model>, const auto&... sizes) {
        Model model(p.config, sizes...);
        io::load_pretrained(p, model);
        if constexpr (requires { model.visual.eval(); }) model.visual.eval();  // BatchNorm: running statistics
        f(model);
    };
    if (p.resnet) {
        CONTRA_CHECK(p.activation == ops::Activation::quick_gelu, "ResNet CLIPs are built with QuickGELU text towers");
        return run(std::type_identity<model::OpenAiResNetClip<T, cpu>>{}, *p.resnet);
    }
    switch (p.activation) {
        case ops::Activation::quick_gelu: return run(std::type_identity<model::OpenAiClip<T, cpu>>{});
        case ops::Activation::gelu: return run(std::type_identity<model::ClipWithActivation<nn::Gelu, T, cpu>>{});
        default: throw Error("activation " + io::activation_name(p.activation) + " is not built into this program");
    }
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

}  // namespace contra::cli
