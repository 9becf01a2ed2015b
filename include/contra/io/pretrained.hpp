// contra/io/pretrained.hpp — CLIP weights in the layouts the field uses, read into contra models.
//   contra checkpoint   model/<OpenAI name>, metadata "config"            (contra train)
//   OpenAI / open_clip  <OpenAI name> (a leading "module." is stripped)  (open_clip_model.safetensors)
//   Hugging Face        a CLIPModel folder: config.json + model.safetensors (HF names, hf_names.hpp)
// The architecture is read from the file (tensor shapes, config.json, metadata), never guessed
// from a name: describe_pretrained tells what a file holds, load_pretrained fills a model with it.
// Image towers: ViT, or ModifiedResNet (OpenAI/open_clip layout only: HF CLIPModel is ViT only).
// defines: io::WeightLayout, io::PretrainedOptions, io::Pretrained, io::describe_pretrained,
//          io::load_pretrained, io::activation_name, io::activation_from_name
#pragma once
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>

#include "../backend/ops.hpp"
#include "../autograd/parameter.hpp"
#include "checkpoint.hpp"
#include "config_json.hpp"
#include "hf_names.hpp"
#include "safetensors.hpp"

namespace contra::io {

enum class WeightLayout { contra, openai, hf };

inline std::string activation_name(ops::Activation a) {
    switch (a) {
        case ops::Activation::quick_gelu: return "quick_gelu";
        case ops::Activation::gelu: return "gelu";
        case ops::Activation::gelu_tanh: return "gelu_pytorch_tanh";
        case ops::Activation::relu: return "relu";
    }
    return "?";
}
inline ops::Activation activation_from_name(const std::string& name) {
    for (auto a : {ops::Activation::quick_gelu, ops::Activation::gelu, ops::Activation::gelu_tanh, ops::Activation::relu})
        if (activation_name(a) == name) return a;
    throw Error("unknown activation '" + name + "' (known: quick_gelu, gelu, gelu_pytorch_tanh, relu)");
}

// What the OpenAI layout cannot say about itself: heads (OpenAI's rule is width / 64) and the
// MLP activation (QuickGELU for every OpenAI model; many open_clip models use GELU).
struct PretrainedOptions {
    std::int64_t vision_heads = 0, text_heads = 0;  // 0: from the file, else width / 64
    std::optional<ops::Activation> activation;      // unset: from the file, else QuickGELU
};

struct Pretrained {
    WeightLayout layout = WeightLayout::openai;
    std::filesystem::path weights;                // the safetensors file
    std::string prefix;                           // in front of every OpenAI name in that file
    model::ClipConfig config;                        // for a ResNet image tower, config.vision is unused
    std::optional<nn::ResNetConfig> resnet;       // set when the image tower is a ModifiedResNet
    ops::Activation activation = ops::Activation::quick_gelu;
    std::map<std::string, std::string> metadata;  // the safetensors file's metadata
};

namespace detail {

// The largest extent read as a model size (a zero-size tensor may claim extents up to 2^63;
// bounding them keeps every product below computed without overflow).
inline constexpr std::int64_t kMaxInferredExtent = std::int64_t(1) << 24;

// shape_of(in, name, rank): the shape of tensor `name`, which must have `rank` dimensions
// (0: any), each at most kMaxInferredExtent.
inline const Shape& shape_of(const SafetensorsFile& in, const std::string& name, int rank = 0) {
    CONTRA_CHECK(in.contains(name), in.source(), ": tensor ", name,
                 " is missing (not a CLIP checkpoint in the OpenAI/open_clip layout?)");
    const Shape& shape = in.info(name).shape;
    CONTRA_CHECK(rank == 0 || shape.rank() == rank, in.source(), ": tensor ", name, " has shape ", shape, ", expected ",
                 rank, " dimensions");
    for (const std::int64_t e : shape)
        CONTRA_CHECK(e <= kMaxInferredExtent, in.source(), ": tensor ", name, " has shape ", shape,
                     ", an extent above ", kMaxInferredExtent, " is not a CLIP model's");
    return shape;
}

// square_grid(rows): G when rows = G² + 1 (patches or pooled positions plus one token), else -1.
//   requires: 0 <= rows <= kMaxInferredExtent.
inline std::int64_t square_grid(std::int64_t rows) {
    if (rows < 1) return -1;
    const auto grid = std::int64_t(std::llround(std::sqrt(double(rows - 1))));
    return grid * grid + 1 == rows ? grid : -1;
}

// parse_config_metadata(in, key): a ClipConfig from the JSON text of metadata `key`.
//   throws: Error naming the file and key when it is not valid JSON or not a model config.
inline model::ClipConfig parse_config_metadata(const std::string& source, const std::string& key, const std::string& text) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(source + ": metadata '" + key + "' is not valid JSON (" + e.what() + ")");
    }
    try {
        return config_from_json(j);
    } catch (const Error& e) {
        throw Error(source + ": metadata '" + key + "': " + e.what());
    }
}

// Blocks "<head>N." present in the file: the largest N + 1.
inline std::int64_t count_blocks(const SafetensorsFile& in, const std::string& head) {
    std::int64_t blocks = 0;
    for (const auto& name : in.names()) {
        if (name.rfind(head, 0) != 0) continue;
        const auto dot = name.find('.', head.size());
        const auto index = name.substr(head.size(), dot - head.size());
        if (!index.empty() && index.find_first_not_of("0123456789") == std::string::npos && index.size() < 6)
            blocks = std::max<std::int64_t>(blocks, std::stoll(index) + 1);
    }
    return blocks;
}

inline std::int64_t heads_for(std::int64_t width, std::int64_t given, const std::string& tower) {
    if (given > 0) return given;
    CONTRA_CHECK(width % 64 == 0, "the ", tower, " width ", width,
                 " is not a multiple of 64, so its number of heads cannot follow OpenAI's rule (width / 64): give it");
    return width / 64;
}

inline std::int64_t ratio(std::int64_t hidden, std::int64_t width, const std::string& what) {
    CONTRA_CHECK(width > 0 && hidden % width == 0, what, ": the MLP width ", hidden, " is not a multiple of the width ",
                 width, " (contra's MLP is width × an integer ratio)");
    return hidden / width;
}

// The text tower and embedding sizes of an OpenAI-layout state dict, from its shapes.
inline void infer_openai_text(const SafetensorsFile& in, const std::string& p, const PretrainedOptions& o, model::ClipConfig& c) {
    auto& t = c.text;
    const Shape& tok = shape_of(in, p + "token_embedding.weight", 2);         // [V, W]
    t.vocab_size = tok[0];
    t.width = tok[1];
    t.context_length = shape_of(in, p + "positional_embedding", 2)[0];
    t.layers = count_blocks(in, p + "transformer.resblocks.");
    t.heads = heads_for(t.width, o.text_heads, "text");
    t.mlp_ratio = ratio(shape_of(in, p + "transformer.resblocks.0.mlp.c_fc.weight", 2)[0], t.width, "text");
    c.embed_dim = shape_of(in, p + "text_projection", 2)[1];                   // [W, E]
}

// The ViT image tower of an OpenAI-layout state dict, from its shapes.
inline nn::VisionConfig infer_openai_vit(const SafetensorsFile& in, const std::string& p, const PretrainedOptions& o) {
    const Shape& conv = shape_of(in, p + "visual.conv1.weight");             // [W, C, P, P]
    const Shape& vpos = shape_of(in, p + "visual.positional_embedding");     // [G² + 1, W]
    CONTRA_CHECK(conv.rank() == 4 && conv[2] == conv[3] && vpos.rank() == 2, in.source(), ": visual.conv1.weight ",
                 conv, " / visual.positional_embedding ", vpos, " are not a ViT's");
    const auto grid = square_grid(vpos[0]);
    CONTRA_CHECK(grid >= 0, in.source(), ": visual.positional_embedding has ", vpos[0],
                 " rows, not a square grid of patches plus the class token");
    nn::VisionConfig v;
    v.width = conv[0];
    v.channels = conv[1];
    v.patch_size = conv[2];
    v.image_size = grid * v.patch_size;
    v.layers = count_blocks(in, p + "visual.transformer.resblocks.");
    v.heads = heads_for(v.width, o.vision_heads, "image");
    v.mlp_ratio = ratio(shape_of(in, p + "visual.transformer.resblocks.0.mlp.c_fc.weight", 2)[0], v.width, "image");
    return v;
}

// The ModifiedResNet image tower of an OpenAI-layout state dict (OpenAI's build_model rules:
// width from the stem, blocks per stage counted, image size from the attention pool's positions,
// heads = width·32 / 64).
inline nn::ResNetConfig infer_openai_resnet(const SafetensorsFile& in, const std::string& p, const PretrainedOptions& o) {
    nn::ResNetConfig r;
    const Shape& stem = shape_of(in, p + "visual.conv1.weight", 4);           // [W/2, C, 3, 3]
    r.width = 2 * stem[0];
    r.channels = stem[1];
    for (int k = 0; k < 4; ++k) r.layers[std::size_t(k)] = count_blocks(in, p + "visual.layer" + std::to_string(k + 1) + ".");
    const auto rows = shape_of(in, p + "visual.attnpool.positional_embedding", 2)[0];  // [G² + 1, 32·W]
    const auto grid = square_grid(rows);
    CONTRA_CHECK(grid >= 0, in.source(), ": visual.attnpool.positional_embedding has ", rows,
                 " rows, not a square grid plus the mean token");
    r.image_size = grid * 32;
    r.heads = o.vision_heads > 0 ? o.vision_heads : r.width * 32 / 64;
    CONTRA_CHECK(r.heads > 0 && (r.width * 32) % r.heads == 0, in.source(), ": ", r.heads,
                 " heads do not divide the attention pool's width ", r.width * 32);
    return r;
}

// HF CLIPConfig: the fields contra needs, with the library's defaults for absent ones.
inline model::ClipConfig read_hf_config(const std::filesystem::path& file, ops::Activation& activation) {
    std::ifstream f(file);
    CONTRA_CHECK(f.good(), file.string(), ": cannot be read");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
        throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
    }
    try {
        const auto text = j.value("text_config", nlohmann::json::object());
        const auto vision = j.value("vision_config", nlohmann::json::object());
        CONTRA_CHECK(text.is_object() && vision.is_object(), file.string(),
                     ": text_config and vision_config must be JSON objects");
        // sizes: integers in [0, 2^31)
        const std::string where = file.string(), text_where = where + " text_config", vision_where = where + " vision_config";
        model::ClipConfig c;
        c.name = j.value("_name_or_path", std::string("hf-clip"));
        c.embed_dim = config_int(j, "projection_dim", 512, where);
        auto& v = c.vision;
        v.width = config_int(vision, "hidden_size", 768, vision_where);
        v.layers = config_int(vision, "num_hidden_layers", 12, vision_where);
        v.heads = config_int(vision, "num_attention_heads", 12, vision_where);
        v.mlp_ratio = ratio(config_int(vision, "intermediate_size", 3072, vision_where), v.width, vision_where);
        v.image_size = config_int(vision, "image_size", 224, vision_where);
        v.patch_size = config_int(vision, "patch_size", 32, vision_where);
        v.channels = config_int(vision, "num_channels", 3, vision_where);
        auto& t = c.text;
        t.width = config_int(text, "hidden_size", 512, text_where);
        t.layers = config_int(text, "num_hidden_layers", 12, text_where);
        t.heads = config_int(text, "num_attention_heads", 8, text_where);
        t.mlp_ratio = ratio(config_int(text, "intermediate_size", 2048, text_where), t.width, text_where);
        t.context_length = config_int(text, "max_position_embeddings", 77, text_where);
        t.vocab_size = config_int(text, "vocab_size", 49408, text_where);
        const auto act = vision.value("hidden_act", std::string("quick_gelu"));
        CONTRA_CHECK(act == text.value("hidden_act", std::string("quick_gelu")), file.string(),
                     ": the towers use different activations; contra builds both with one");
        activation = activation_from_name(act);
        for (const auto* tower : {&text, &vision})
            CONTRA_CHECK(tower->value("layer_norm_eps", 1e-5) == 1e-5, file.string(), ": layer_norm_eps ",
                         tower->value("layer_norm_eps", 1e-5), " (contra's LayerNorm uses 1e-5)");
        // HF pools the text at the first end-of-text id (or the largest id for legacy eos 2);
        // contra pools at the first largest id: the same when end-of-text is the last id.
        const auto eos = config_int(text, "eos_token_id", 2, text_where);
        CONTRA_CHECK(eos == 2 || eos == t.vocab_size - 1, file.string(), ": eos_token_id ", eos,
                     " is not the vocabulary's last id, so HF pools where contra (at the largest id) does not");
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw Error(file.string() + ": " + e.what());
    }
}

inline bool openai_ignored(std::string_view name) {  // scalars the OpenAI TorchScript files add
    return name == "input_resolution" || name == "context_length" || name == "vocab_size" ||
           name.ends_with("num_batches_tracked");  // BatchNorm's counter: contra keeps no such buffer
}

}  // namespace detail

// describe_pretrained(path): the layout, architecture and activation of a checkpoint.
//   path: an HF CLIPModel folder, a contra run folder or checkpoint, or an OpenAI/open_clip-layout
//   safetensors file. Errors name the file and what is wrong.
inline Pretrained describe_pretrained(const std::filesystem::path& path, const PretrainedOptions& options = {}) {
    namespace fs = std::filesystem;
    Pretrained p;
    CONTRA_CHECK(fs::exists(path), path.string(), ": no such file or folder");
    if (fs::is_directory(path)) {
        if (fs::exists(path / "checkpoint.safetensors")) return describe_pretrained(path / "checkpoint.safetensors", options);
        CONTRA_CHECK(fs::exists(path / "config.json"), path.string(),
                     ": a folder without config.json (an HF CLIPModel folder) or checkpoint.safetensors (a contra run)");
        CONTRA_CHECK(fs::exists(path / "model.safetensors"), path.string(), ": no model.safetensors",
                     fs::exists(path / "pytorch_model.bin") ? " (only pytorch_model.bin: contra reads safetensors)" : "");
        p.layout = WeightLayout::hf;
        p.weights = path / "model.safetensors";
        p.config = detail::read_hf_config(path / "config.json", p.activation);
        p.metadata = SafetensorsFile::read(p.weights).metadata();
        if (options.activation) p.activation = *options.activation;
        return p;
    }
    p.weights = path;
    const auto in = SafetensorsFile::read(path);
    p.metadata = in.metadata();
    const auto meta = [&](const std::string& key) -> std::optional<std::string> {
        const auto it = p.metadata.find(key);
        return it == p.metadata.end() ? std::nullopt : std::optional(it->second);
    };
    if (meta("format") == std::string(kCheckpointFormat)) {
        p.layout = WeightLayout::contra;
        p.prefix = "model/";
        CONTRA_CHECK(meta("config"), path.string(), ": a contra checkpoint without its 'config' metadata");
        p.config = detail::parse_config_metadata(path.string(), "config", *meta("config"));
    } else if (in.contains("vision_model.embeddings.patch_embedding.weight")) {
        CONTRA_CHECK(fs::exists(path.parent_path() / "config.json"), path.string(),
                     ": Hugging Face tensor names but no config.json beside it; pass the model's folder");
        return describe_pretrained(path.parent_path(), options);
    } else {
        p.layout = WeightLayout::openai;
        if (!in.names().empty() && in.names().front().rfind("module.", 0) == 0) p.prefix = "module.";
        const bool resnet = in.contains(p.prefix + "visual.layer1.0.conv1.weight");
        if (const auto config = meta("contra_config")) {
            p.config = detail::parse_config_metadata(path.string(), "contra_config", *config);
        } else {
            detail::infer_openai_text(in, p.prefix, options, p.config);
            p.config.name = "pretrained";
            if (!resnet) p.config.vision = detail::infer_openai_vit(in, p.prefix, options);
        }
        if (resnet) {
            auto o = options;
            if (const auto heads = meta("resnet_heads"); heads && o.vision_heads == 0) {
                const auto end = heads->data() + heads->size();
                const auto [stop, ec] = std::from_chars(heads->data(), end, o.vision_heads);
                CONTRA_CHECK(ec == std::errc() && stop == end && o.vision_heads > 0 && o.vision_heads <= detail::kMaxInferredExtent,
                             path.string(), ": metadata 'resnet_heads' is '", *heads, "', expected a positive integer");
            }
            p.resnet = detail::infer_openai_resnet(in, p.prefix, o);
        }
    }
    if (const auto act = meta("activation")) p.activation = activation_from_name(*act);
    if (options.activation) p.activation = *options.activation;
    return p;
}

// load_pretrained(p, model): every parameter of model from p's file, cast to the model's type.
//   requires: model was built with p.config (and an MLP with p.activation).
//   ensures: a missing, extra or misshapen tensor is an Error that names them (file's spelling);
//            buffers (BatchNorm running statistics) are read like parameters.
template <class Model>
void load_pretrained(const Pretrained& p, Model& model) {
    const auto in = SafetensorsFile::read(p.weights);
    std::set<std::string> used;
    std::vector<std::string> missing, misshapen;
    const auto fill = [&](const std::string& name, auto& target) {  // target: the parameter's or buffer's tensor
        using T = typename std::remove_cvref_t<decltype(target)>::value_type;
        std::optional<Tensor<T, cpu>> value;
        if (p.layout == WeightLayout::hf) {
            const auto parts = hf_parts(name);
            std::vector<Tensor<T, cpu>> pieces;
            for (const auto& part : parts) {
                if (!in.contains(part.name)) missing.push_back(part.name);
                else pieces.push_back(in.get<T>(part.name, Convert::allow)), used.insert(part.name);
            }
            if (parts.empty()) missing.push_back(name + " (no Hugging Face name)");
            if (!parts.empty() && pieces.size() == parts.size()) value = from_hf(parts, pieces);
        } else if (in.contains(p.prefix + name)) {
            value = in.get<T>(p.prefix + name, Convert::allow);
            used.insert(p.prefix + name);
        } else {
            missing.push_back(p.prefix + name);
        }
        if (!value) return;
        if (value->numel() == 1 && target.numel() == 1) *value = value->reshape(target.shape());  // [] ⇄ [1]
        if (value->shape() != target.shape()) {
            misshapen.push_back(contra::detail::concat(name, " is ", value->shape(), ", the model's ", target.shape()));
            return;
        }
        copy(*value, target);
    };
    for_each_parameter(model, [&](const std::string& name, auto& param) { fill(name, param.value()); });
    if constexpr (requires { model.visit_buffers(fill); }) model.visit_buffers(fill);
    std::vector<std::string> extra;
    for (const auto& name : in.names()) {
        const bool belongs = p.layout != WeightLayout::contra || name.rfind("model/", 0) == 0;
        if (belongs && !used.count(name) && !hf_ignored(name) && !detail::openai_ignored(name)) extra.push_back(name);
    }
    std::string problems;
    const auto list = [&](const char* what, const std::vector<std::string>& names) {
        if (names.empty()) return;
        problems += "\n  " + std::to_string(names.size()) + " " + what + ":";
        for (std::size_t i = 0; i < names.size() && i < 10; ++i) problems += " " + names[i] + (i + 1 < names.size() ? "," : "");
        if (names.size() > 10) problems += " ...";
    };
    list("missing", missing);
    list("misshapen", misshapen);
    list("not in the model", extra);
    CONTRA_CHECK(problems.empty(), p.weights.string(), " does not match the model:", problems);
}

}  // namespace contra::io
