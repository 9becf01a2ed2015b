// contra/io/export.hpp — a contra model written in the layouts other programs read.
//   save_open_clip(model, …, "m.safetensors")   OpenAI names (open_clip's open_clip_model.safetensors)
//   save_hf(model, …, "dir/")                   dir/config.json + dir/model.safetensors (CLIPModel)
// Both record the config and activation in the file's metadata, so describe_pretrained reads
// them back exactly (heads included, which the OpenAI layout cannot otherwise say).
// defines: io::layout_tensors, io::save_open_clip, io::save_hf, io::hf_config_json
#pragma once
#include <filesystem>

#include "../core/atomic_file.hpp"
#include "pretrained.hpp"

namespace contra::io {

// layout_tensors(model, layout, of): (name, of(parameter)) for every parameter, named and shaped
// as `layout` stores it (of: the value, or the gradient for `contra grad`). Buffers (BatchNorm
// running statistics): buffer_tensors.
template <class Model, class Of>
auto layout_tensors(Model& model, WeightLayout layout, Of&& of) {
    using T = typename Model::value_type;
    std::vector<std::pair<std::string, Tensor<T, cpu>>> out;
    const auto add = [&](const std::string& name, Tensor<T, cpu> t) {
        if (name == "logit_scale" && layout != WeightLayout::contra) t = t.reshape(Shape{});  // 0-d, as they store it
        if (layout == WeightLayout::hf)
            for (auto& part : to_hf(name, t)) out.push_back(std::move(part));
        else
            out.emplace_back((layout == WeightLayout::contra ? "model/" : "") + name, t);
    };
    for_each_parameter(model, [&](const std::string& name, auto& param) { add(name, to_device<cpu>(of(param))); });
    return out;
}

// buffer_tensors(model): (OpenAI name, value) of every buffer; none for models without buffers.
template <class Model>
auto buffer_tensors(Model& model) {
    std::vector<std::pair<std::string, Tensor<typename Model::value_type, cpu>>> out;
    if constexpr (requires { model.visit_buffers([](const std::string&, auto&) {}); })
        model.visit_buffers([&](const std::string& name, auto& t) { out.emplace_back(name, to_device<cpu>(t)); });
    return out;
}

// The CLIPConfig of a contra model, as transformers writes it (end-of-text is the last id).
inline nlohmann::json hf_config_json(const model::ClipConfig& c, ops::Activation activation) {
    const auto act = activation_name(activation);
    const auto& v = c.vision;
    const auto& t = c.text;
    return {{"architectures", {"CLIPModel"}},
            {"model_type", "clip"},
            {"projection_dim", c.embed_dim},
            {"logit_scale_init_value", 2.6592},
            {"torch_dtype", "float32"},
            {"text_config",
             {{"model_type", "clip_text_model"}, {"hidden_size", t.width}, {"intermediate_size", t.mlp_hidden()},
              {"num_hidden_layers", t.layers}, {"num_attention_heads", t.heads}, {"max_position_embeddings", t.context_length},
              {"vocab_size", t.vocab_size}, {"hidden_act", act}, {"layer_norm_eps", 1e-5}, {"projection_dim", c.embed_dim},
              {"bos_token_id", t.vocab_size - 2}, {"eos_token_id", t.vocab_size - 1}, {"pad_token_id", 1}}},
            {"vision_config",
             {{"model_type", "clip_vision_model"}, {"hidden_size", v.width}, {"intermediate_size", v.mlp_hidden()},
              {"num_hidden_layers", v.layers}, {"num_attention_heads", v.heads}, {"image_size", v.image_size},
              {"patch_size", v.patch_size}, {"num_channels", v.channels}, {"hidden_act", act}, {"layer_norm_eps", 1e-5},
              {"projection_dim", c.embed_dim}}}};
}

namespace detail {
template <class Model>
void write_layout(Model& model, WeightLayout layout, const model::ClipConfig& c, ops::Activation activation,
                  const std::filesystem::path& file) {
    const auto buffers = buffer_tensors(model);
    CONTRA_CHECK(buffers.empty() || layout != WeightLayout::hf, file.string(),
                 ": the Hugging Face CLIPModel layout has no ResNet image tower; export to open_clip instead");
    CONTRA_CHECK(c.vision.stem_channels == 0 || layout != WeightLayout::hf, file.string(), ": this model has a ",
                 c.vision.stem_channels, "-channel convolution stem (visual.stem, as the fmnist preset), which the Hugging ",
                 "Face CLIPModel layout has no place for; export to open_clip instead (contra export --to open_clip)");
    SafetensorsWriter out;
    for (auto& [name, t] : layout_tensors(model, layout, [](auto& p) { return p.value(); })) out.add(name, t);
    for (auto& [name, t] : buffers) out.add(name, t);
    if constexpr (requires { model.visual.config.layers[0]; model.visual.config.heads; })
        out.set_metadata("resnet_heads", std::to_string(model.visual.config.heads));
    out.set_metadata("format", "pt");  // what transformers and open_clip expect to find
    out.set_metadata("contra_config", to_json(c).dump());
    out.set_metadata("activation", activation_name(activation));
    out.write(file);
}
}  // namespace detail

// save_open_clip(model, config, activation, file): the OpenAI state dict as safetensors.
template <class Model>
void save_open_clip(Model& model, const model::ClipConfig& c, ops::Activation activation, const std::filesystem::path& file) {
    detail::write_layout(model, WeightLayout::openai, c, activation, file);
}

// save_hf(model, config, activation, dir): an HF CLIPModel folder (config.json, model.safetensors).
template <class Model>
void save_hf(Model& model, const model::ClipConfig& c, ops::Activation activation, const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    detail::write_layout(model, WeightLayout::hf, c, activation, dir / "model.safetensors");
    const std::string text = hf_config_json(c, activation).dump(2) + "\n";
    AtomicFile config(dir / "config.json");
    config.write(text.data(), text.size());
    config.commit();
}

}  // namespace contra::io
