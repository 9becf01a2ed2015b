// contra/io/pretrained.hpp — CLIP weights in the layouts the field uses, read into contra models.
//   contra checkpoint   model/<OpenAI name>, metadata "config"            (contra train)
//   OpenAI / open_clip  <OpenAI name> (a leading "module." is stripped)  (open_clip_model.safetensors)
//   Hugging Face        a CLIPModel folder: config.json + model.safetensors (HF names, hf_names.hpp)
//   open_clip's heads, activation: open_clip_config.json beside the weights (open_clip_config.hpp)
// The architecture is read from the file (tensor shapes, config.json, metadata), never guessed
// from a name: describe_pretrained tells what a file holds, load_pretrained fills a model with it.
// Image towers: ViT, or ModifiedResNet (OpenAI/open_clip layout only: HF CLIPModel is ViT only).
// defines: io::WeightLayout, io::PretrainedOptions, io::Pretrained, io::describe_pretrained,
//          io::load_pretrained, io::Towers, io::activation_name, io::activation_from_name, io::LossKind, io::loss_name,
//          io::loss_from_name, io::RecordedVariant, io::recorded_variant
#pragma once
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "../backend/ops.hpp"
#include "../autograd/parameter.hpp"
#include "checkpoint.hpp"
#include "config_json.hpp"
#include "hf_names.hpp"
#include "open_clip_config.hpp"
#include "safetensors.hpp"

namespace contra::io {

enum class WeightLayout { contra, openai, hf };

// The contrastive loss a checkpoint carries the parameters of: InfoNCE (logit_scale) or SigLIP
// (logit_scale and logit_bias). Only contra checkpoints hold SigLIP models (metadata "loss").
enum class LossKind { infonce, siglip };
inline std::string loss_name(LossKind l) { return l == LossKind::siglip ? "siglip" : "infonce"; }
inline LossKind loss_from_name(const std::string& name) {
    if (name == "infonce") return LossKind::infonce;
    if (name == "siglip") return LossKind::siglip;
    throw Error("unknown loss '" + name + "' (known: infonce, siglip)");
}

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

// What a contra checkpoint's metadata records of its model beyond the sizes: the loss and the text
// mask (absent: InfoNCE and causal, the only model contra train trained before it recorded them).
//   throws: Error naming the file for a value that is neither.
struct RecordedVariant {
    LossKind loss = LossKind::infonce;
    bool causal_text = true;
};
inline RecordedVariant recorded_variant(const std::map<std::string, std::string>& metadata, const std::string& source) {
    RecordedVariant r;
    if (const auto it = metadata.find("loss"); it != metadata.end()) r.loss = loss_from_name(it->second);
    if (const auto it = metadata.find("text_mask"); it != metadata.end()) {
        CONTRA_CHECK(it->second == "causal" || it->second == "none", source, ": metadata text_mask '", it->second,
                     "', expected causal or none");
        r.causal_text = it->second == "causal";
    }
    return r;
}

// What a file may leave unsaid, given by the caller. The OpenAI/open_clip layout's tensor shapes
// fix every size but the attention heads and the MLP activation; those come from the file's
// metadata, an open_clip_config.json (or HF config.json) beside it, or these options. When none of
// them says, describe_pretrained stops and names the option: it never guesses. An option that
// contradicts what the file says is an error too.
struct PretrainedOptions {
    std::int64_t vision_heads = 0, text_heads = 0;  // 0: not given (vision: the ResNet pool's for RN)
    std::optional<ops::Activation> activation;      // unset: not given
};

struct Pretrained {
    WeightLayout layout = WeightLayout::openai;
    std::filesystem::path weights;                // the safetensors file
    std::string prefix;                           // in front of every OpenAI name in that file
    model::ClipConfig config;                     // for a ResNet image tower, config.vision holds only its input
                                                  // (image_size, channels: what images are preprocessed to)
    std::optional<nn::ResNetConfig> resnet;       // set when the image tower is a ModifiedResNet
    ops::Activation activation = ops::Activation::quick_gelu;
    LossKind loss = LossKind::infonce;
    bool causal_text = true;                      // false: a bidirectional text tower (contra checkpoints only)
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

// The text tower and embedding sizes of an OpenAI-layout state dict, from its shapes (heads: 0,
// which shapes cannot tell).
inline void infer_openai_text(const SafetensorsFile& in, const std::string& p, model::ClipConfig& c) {
    auto& t = c.text;
    const Shape& tok = shape_of(in, p + "token_embedding.weight", 2);         // [V, W]
    t.vocab_size = tok[0];
    t.width = tok[1];
    t.context_length = shape_of(in, p + "positional_embedding", 2)[0];
    t.layers = count_blocks(in, p + "transformer.resblocks.");
    t.heads = 0;
    t.mlp_width = shape_of(in, p + "transformer.resblocks.0.mlp.c_fc.weight", 2)[0];  // [hidden, W]
    c.embed_dim = shape_of(in, p + "text_projection", 2)[1];                   // [W, E]
}

// The ViT image tower of an OpenAI-layout state dict, from its shapes (heads: 0).
inline nn::VisionConfig infer_openai_vit(const SafetensorsFile& in, const std::string& p) {
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
    v.heads = 0;
    v.mlp_width = shape_of(in, p + "visual.transformer.resblocks.0.mlp.c_fc.weight", 2)[0];  // [hidden, W]
    return v;
}

// The ModifiedResNet image tower of an OpenAI-layout state dict (OpenAI's build_model rules:
// width from the stem, blocks per stage counted, image size from the attention pool's positions;
// heads: 0, which shapes cannot tell).
inline nn::ResNetConfig infer_openai_resnet(const SafetensorsFile& in, const std::string& p) {
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
    r.heads = 0;
    return r;
}

// HF CLIPConfig: the fields contra needs, with the library's defaults for absent ones.
inline model::ClipConfig read_hf_config(const std::filesystem::path& file, ops::Activation& activation) {
    const nlohmann::json j = detail::read_json_file(file);
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
        v.mlp_width = config_int(vision, "intermediate_size", 3072, vision_where);
        v.image_size = config_int(vision, "image_size", 224, vision_where);
        v.patch_size = config_int(vision, "patch_size", 32, vision_where);
        v.channels = config_int(vision, "num_channels", 3, vision_where);
        auto& t = c.text;
        t.width = config_int(text, "hidden_size", 512, text_where);
        t.layers = config_int(text, "num_hidden_layers", 12, text_where);
        t.heads = config_int(text, "num_attention_heads", 8, text_where);
        t.mlp_width = config_int(text, "intermediate_size", 2048, text_where);
        t.context_length = config_int(text, "max_position_embeddings", 77, text_where);
        t.vocab_size = config_int(text, "vocab_size", 49408, text_where);
        CONTRA_CHECK(v.mlp_width > 0 && t.mlp_width > 0, file.string(), ": intermediate_size must be positive");
        CONTRA_CHECK(v.heads > 0 && v.width % v.heads == 0 && t.heads > 0 && t.width % t.heads == 0, file.string(),
                     ": num_attention_heads must divide hidden_size (image ", v.heads, " of ", v.width, ", text ", t.heads,
                     " of ", t.width, ")");
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

// What a file beside OpenAI-layout weights says: open_clip_config.json, else an HF config.json.
inline std::optional<OpenClipConfig> description_beside(const std::filesystem::path& weights) {
    namespace fs = std::filesystem;
    const auto folder = weights.parent_path().empty() ? fs::path(".") : weights.parent_path();
    if (fs::exists(folder / "open_clip_config.json")) return read_open_clip_config(folder / "open_clip_config.json");
    if (!fs::exists(folder / "config.json")) return std::nullopt;
    OpenClipConfig d;
    d.file = folder / "config.json";
    const auto c = read_hf_config(d.file, d.activation);
    d.embed_dim = c.embed_dim;
    d.vision = {c.vision.width, c.vision.layers, c.vision.heads, c.vision.mlp_width};
    d.text = {c.text.width, c.text.layers, c.text.heads, c.text.mlp_width};
    d.image_size = c.vision.image_size;
    d.patch_size = c.vision.patch_size;
    d.context_length = c.text.context_length;
    d.vocab_size = c.text.vocab_size;
    return d;
}

// agree(source, what, stated, found): a size the description states must be the weights' size.
inline void agree(const std::filesystem::path& source, const char* what, const std::optional<std::int64_t>& stated,
                  std::int64_t found) {
    CONTRA_CHECK(!stated || *stated == found, source.string(), " says ", what, " ", stated.value_or(0),
                 ", the weights have ", found, ": they do not belong together");
}

// settle(value, given, source): a described value and the caller's; they must agree when both exist.
template <class V>
void settle(std::optional<V>& value, const std::optional<V>& given, const std::string& what, const std::string& source) {
    if (!given) return;
    if constexpr (std::same_as<V, ops::Activation>)
        CONTRA_CHECK(!value || *value == *given, what, " ", activation_name(*given), " contradicts ", source,
                     ", which says ", activation_name(*value));
    else
        CONTRA_CHECK(!value || *value == *given, what, " ", *given, " contradicts ", source, ", which says ", *value);
    value = given;
}
inline std::optional<std::int64_t> given(std::int64_t heads) { return heads > 0 ? std::optional(heads) : std::nullopt; }

// Heads and activation of an OpenAI-layout file: from its metadata and a description beside it,
// then the caller's options; what none of them says is an Error naming the option to pass.
inline void describe_heads_and_activation(const std::filesystem::path& path, Pretrained& p, std::optional<ops::Activation> activation,
                                          const PretrainedOptions& options) {
    auto& v = p.config.vision;
    auto& t = p.config.text;
    std::optional<std::int64_t> vision_heads = p.resnet ? p.resnet->heads : v.heads, text_heads = t.heads;
    for (auto* heads : {&vision_heads, &text_heads})
        if (heads->value_or(0) == 0) heads->reset();
    std::string source = path.string() + "'s metadata";
    const auto d = vision_heads && text_heads && activation ? std::nullopt : description_beside(path);
    if (d) {
        agree(d->file, "the embedding width", d->embed_dim, p.config.embed_dim);
        agree(d->file, "the text width", d->text.width, t.width);
        agree(d->file, "the text layers", d->text.layers, t.layers);
        agree(d->file, "the text MLP width", d->text.mlp_width, t.mlp_hidden());
        agree(d->file, "the context length", d->context_length, t.context_length);
        agree(d->file, "the vocabulary size", d->vocab_size, t.vocab_size);
        agree(d->file, "the image size", d->image_size, p.resnet ? p.resnet->image_size : v.image_size);
        CONTRA_CHECK(d->resnet == p.resnet.has_value(), d->file.string(), " describes a ", d->resnet ? "ResNet" : "ViT",
                     " image tower, the weights hold a ", p.resnet ? "ResNet" : "ViT");
        agree(d->file, "the image width", d->vision.width, p.resnet ? p.resnet->width : v.width);
        if (!p.resnet) {
            agree(d->file, "the image layers", d->vision.layers, v.layers);
            agree(d->file, "the image MLP width", d->vision.mlp_width, v.mlp_hidden());
            agree(d->file, "the patch size", d->patch_size, v.patch_size);
        }
        settle(activation, std::optional(d->activation), d->file.string() + "'s activation", source);
        settle(vision_heads, d->vision.heads, d->file.string() + "'s image heads", source);
        settle(text_heads, d->text.heads, d->file.string() + "'s text heads", source);
        source = d->file.string();
    }
    settle(activation, options.activation, "the activation", source);
    settle(vision_heads, given(options.vision_heads), "vision heads", source);
    settle(text_heads, given(options.text_heads), "text heads", source);
    const auto vision_width = p.resnet ? p.resnet->embed_width() : v.width;
    const auto rule = [](std::int64_t width) { return width % 64 == 0 ? std::to_string(width / 64) : "N"; };
    CONTRA_CHECK(activation && vision_heads && text_heads, path.string(),
                 ": the OpenAI layout does not say its MLP activation or attention heads, and no open_clip_config.json "
                 "sits beside it. Put the model's open_clip_config.json next to it, or pass ",
                 activation ? "" : "--activation quick_gelu|gelu (quick_gelu for OpenAI's own models, gelu for most open_clip ones) ",
                 vision_heads ? "" : "--vision-heads " + rule(vision_width) + " ", text_heads ? "" : "--text-heads " + rule(t.width) + " ",
                 "(OpenAI's models have width / 64 heads; ViT-H has 16 image heads of width 80). Library: io::PretrainedOptions.");
    for (const auto& [heads, width, tower] : {std::tuple{*vision_heads, vision_width, "image"}, std::tuple{*text_heads, t.width, "text"}})
        CONTRA_CHECK(heads > 0 && width % heads == 0, path.string(), ": ", heads, " ", tower,
                     " heads do not divide the attention width ", width);
    p.activation = *activation;
    (p.resnet ? p.resnet->heads : v.heads) = *vision_heads;
    t.heads = *text_heads;
}

inline bool openai_ignored(std::string_view name) {  // scalars the OpenAI TorchScript files add
    return name == "input_resolution" || name == "context_length" || name == "vocab_size" ||
           name.ends_with("num_batches_tracked");  // BatchNorm's counter: contra keeps no such buffer
}

}  // namespace detail

// describe_pretrained(path): the layout, architecture and activation of a checkpoint.
//   path: an HF CLIPModel folder, a contra run folder or checkpoint, an open_clip folder
//   (open_clip_model.safetensors + open_clip_config.json) or an OpenAI/open_clip-layout safetensors
//   file. Errors name the file and what is wrong; what the file does not say is never guessed.
inline Pretrained describe_pretrained(const std::filesystem::path& path, const PretrainedOptions& options = {}) {
    namespace fs = std::filesystem;
    Pretrained p;
    CONTRA_CHECK(fs::exists(path), path.string(), ": no such file or folder");
    if (fs::is_directory(path)) {
        if (fs::exists(path / "checkpoint.safetensors")) return describe_pretrained(path / "checkpoint.safetensors", options);
        if (fs::exists(path / "open_clip_model.safetensors"))  // an open_clip model folder (open_clip's hub layout)
            return describe_pretrained(path / "open_clip_model.safetensors", options);
        CONTRA_CHECK(fs::exists(path / "config.json"), path.string(),
                     ": a folder without config.json (an HF CLIPModel folder), open_clip_model.safetensors (open_clip) or "
                     "checkpoint.safetensors (a contra run)");
        CONTRA_CHECK(fs::exists(path / "model.safetensors"), path.string(), ": no model.safetensors",
                     fs::exists(path / "pytorch_model.bin") ? " (only pytorch_model.bin: contra reads safetensors)" : "");
        p.layout = WeightLayout::hf;
        p.weights = path / "model.safetensors";
        p.config = detail::read_hf_config(path / "config.json", p.activation);
        p.metadata = SafetensorsFile::read(p.weights).metadata();
        const auto source = (path / "config.json").string();
        std::optional<ops::Activation> activation = p.activation;
        std::optional<std::int64_t> vision_heads = p.config.vision.heads, text_heads = p.config.text.heads;
        detail::settle(activation, options.activation, "the activation", source);
        detail::settle(vision_heads, detail::given(options.vision_heads), "vision heads", source);
        detail::settle(text_heads, detail::given(options.text_heads), "text heads", source);
        return p;
    }
    p.weights = path;
    const auto in = SafetensorsFile::read(path);
    p.metadata = in.metadata();
    const auto meta = [&](const std::string& key) -> std::optional<std::string> {
        const auto it = p.metadata.find(key);
        return it == p.metadata.end() ? std::nullopt : std::optional(it->second);
    };
    std::optional<ops::Activation> activation;
    if (const auto act = meta("activation")) activation = activation_from_name(*act);
    if (meta("format") == std::string(kCheckpointFormat)) {
        p.layout = WeightLayout::contra;
        p.prefix = "model/";
        CONTRA_CHECK(meta("config"), path.string(), ": a contra checkpoint without its 'config' metadata");
        p.config = detail::parse_config_metadata(path.string(), "config", *meta("config"));
        detail::settle(activation, options.activation, "the activation", path.string() + "'s metadata");
        // Checkpoints of `contra train` record their activation; those written before it did were
        // all QuickGELU (the only model the program trained then).
        p.activation = activation.value_or(ops::Activation::quick_gelu);
        const auto variant = recorded_variant(p.metadata, path.string());
        p.loss = variant.loss;
        p.causal_text = variant.causal_text;
        return p;
    }
    if (in.contains("vision_model.embeddings.patch_embedding.weight")) {
        CONTRA_CHECK(fs::exists(path.parent_path() / "config.json"), path.string(),
                     ": Hugging Face tensor names but no config.json beside it; pass the model's folder");
        return describe_pretrained(path.parent_path(), options);
    }
    p.layout = WeightLayout::openai;
    if (!in.names().empty() && in.names().front().rfind("module.", 0) == 0) p.prefix = "module.";
    const bool resnet = in.contains(p.prefix + "visual.layer1.0.conv1.weight");
    if (const auto config = meta("contra_config")) {
        p.config = detail::parse_config_metadata(path.string(), "contra_config", *config);
    } else {
        detail::infer_openai_text(in, p.prefix, p.config);
        p.config.name = "pretrained";
        if (!resnet) p.config.vision = detail::infer_openai_vit(in, p.prefix);
    }
    if (resnet) {
        p.resnet = detail::infer_openai_resnet(in, p.prefix);
        if (const auto heads = meta("resnet_heads")) {
            const auto end = heads->data() + heads->size();
            const auto [stop, ec] = std::from_chars(heads->data(), end, p.resnet->heads);
            CONTRA_CHECK(ec == std::errc() && stop == end && p.resnet->heads > 0 && p.resnet->heads <= detail::kMaxInferredExtent,
                         path.string(), ": metadata 'resnet_heads' is '", *heads, "', expected a positive integer");
        }
        // One reading of the model's input for every program: RN50x4 takes 288 pixels, not a ViT's 224.
        p.config.vision.image_size = p.resnet->image_size;
        p.config.vision.channels = p.resnet->channels;
    }
    detail::describe_heads_and_activation(path, p, activation, options);
    return p;
}

// Which parameters load_pretrained reads: the whole model, or only its image tower (LiT: a
// pretrained image tower beside a fresh text tower).
enum class Towers : std::uint8_t { both, image_only };

// load_pretrained(p, model, towers): every parameter of model (towers = image_only: of model.visual,
// the rest keeps its values) from p's file, cast to the model's type.
//   requires: model was built with p.config (image_only: with p.config.vision and embed_dim), and an
//             MLP with p.activation.
//   ensures: a missing or misshapen tensor is an Error that names them (file's spelling), and so is
//            one the model lacks (both towers only); buffers (BatchNorm running statistics) are read
//            like parameters.
template <class Model>
void load_pretrained(const Pretrained& p, Model& model, Towers towers = Towers::both) {
    const auto in = SafetensorsFile::read(p.weights);
    std::set<std::string> used;
    std::vector<std::string> missing, misshapen;
    const auto fill = [&](const std::string& name, auto& target) {  // target: the parameter's or buffer's tensor
        using T = typename std::remove_cvref_t<decltype(target)>::value_type;
        if (towers == Towers::image_only && name.rfind("visual.", 0) != 0) return;
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
        if (towers == Towers::image_only) break;  // the file's text tower is left out on purpose
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
