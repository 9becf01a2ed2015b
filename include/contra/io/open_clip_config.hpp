// contra/io/open_clip_config.hpp — open_clip's open_clip_config.json (the file open_clip writes
// beside open_clip_model.safetensors): what the weights' shapes cannot say, read strictly.
//   {"model_cfg": {"embed_dim": E, "quick_gelu": bool, "vision_cfg": {...}, "text_cfg": {...}},
//    "preprocess_cfg": {...}}
// open_clip's defaults apply to absent keys: GELU unless quick_gelu is true, vision head_width 64,
// text heads 8, mlp_ratio 4.0 (MLP width int(width · mlp_ratio)). A key that would change the
// architecture away from what contra builds (layer scale, a timm or HF tower, another pooling, a
// norm epsilon, another tokenizer, ...) is refused by name, and so is any key contra does not know:
// a model is never read as something it is not.
// defines: io::OpenClipConfig, io::read_open_clip_config
#pragma once
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "../backend/ops.hpp"
#include "config_json.hpp"

namespace contra::io {

struct OpenClipConfig {
    struct Tower {
        std::optional<std::int64_t> width, layers, heads, mlp_width;  // unset: the file does not say
    };
    std::filesystem::path file;
    ops::Activation activation = ops::Activation::gelu;
    std::optional<std::int64_t> embed_dim;
    bool resnet = false;  // vision_cfg.layers is a list of four stage depths
    Tower vision, text;   // vision.heads: the ViT's, or the ResNet attention pool's
    std::optional<std::int64_t> image_size, patch_size, context_length, vocab_size;
};

namespace detail {

// Keys of open_clip's configs that contra reads or that leave the architecture alone, and those
// contra accepts only at open_clip's default value.
struct OpenClipKeys {
    std::set<std::string> read, harmless;
    std::vector<std::pair<std::string, nlohmann::json>> only_default;
};

inline const OpenClipKeys& open_clip_model_keys() {
    static const OpenClipKeys k{{"embed_dim", "quick_gelu", "vision_cfg", "text_cfg"},
                                {"cast_dtype", "init_logit_scale", "init_logit_bias"},
                                {{"custom_text", false}}};
    return k;
}
inline const OpenClipKeys& open_clip_vision_keys() {
    static const OpenClipKeys k{
        {"layers", "width", "head_width", "mlp_ratio", "patch_size", "image_size"},
        {"patch_dropout", "output_tokens", "timm_model_pretrained"},
        {{"ls_init_value", nullptr}, {"attentional_pool", false}, {"no_ln_pre", false},
         {"pos_embed_type", "learnable"}, {"final_ln_after_pool", false}, {"pool_type", "tok"},
         {"input_patchnorm", false}, {"global_average_pool", false}, {"timm_model_name", nullptr},
         {"act_kwargs", nullptr}, {"norm_kwargs", nullptr}, {"embed_cls", false}}};
    return k;
}
inline const OpenClipKeys& open_clip_text_keys() {
    static const OpenClipKeys k{
        {"context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio"},
        {"output_tokens"},
        {{"ls_init_value", nullptr}, {"embed_cls", false}, {"no_causal_mask", false}, {"final_ln_after_pool", false},
         {"pool_type", "argmax"}, {"proj_bias", false}, {"proj_type", "linear"}, {"hf_model_name", nullptr},
         {"hf_tokenizer_name", nullptr}, {"tokenizer_kwargs", nullptr}, {"act_kwargs", nullptr},
         {"norm_kwargs", nullptr}, {"ln_post_emb", false}}};
    return k;
}

// check_open_clip_keys(object, keys, where): every key of object is known, and each key contra
// takes only at its default has that value ({} and null both mean "none" for the kwargs).
inline void check_open_clip_keys(const nlohmann::json& object, const OpenClipKeys& keys, const std::string& where) {
    CONTRA_CHECK(object.is_object(), where, " must be a JSON object");
    for (const auto& [key, value] : object.items()) {
        if (keys.read.count(key) || keys.harmless.count(key)) continue;
        const auto it = std::find_if(keys.only_default.begin(), keys.only_default.end(),
                                     [&](const auto& entry) { return entry.first == key; });
        CONTRA_CHECK(it != keys.only_default.end(), where, ".", key, " is not a setting contra knows, so it cannot say ",
                     "that the model is one it builds");
        const bool none = (value.is_null() || (value.is_object() && value.empty())) && it->second.is_null();
        CONTRA_CHECK(none || value == it->second, where, ".", key, " = ", value.dump(), ": contra builds only ",
                     it->second.dump(), " (an architecture contra does not have)");
    }
}

// The MLP width open_clip builds: int(width · mlp_ratio).
inline std::int64_t open_clip_mlp_width(const nlohmann::json& tower, std::int64_t width, const std::string& where) {
    const auto it = tower.find("mlp_ratio");
    if (it == tower.end()) return 4 * width;
    CONTRA_CHECK(it->is_number() && it->get<double>() > 0 && it->get<double>() < 1e6, where, ".mlp_ratio must be a ",
                 "positive number, got ", it->dump());
    return std::int64_t(std::floor(double(width) * it->get<double>()));
}

}  // namespace detail

// read_open_clip_config(file): the architecture settings of an open_clip_config.json.
//   throws: Error naming the file and key for invalid JSON, a mistyped size, an unknown key, or an
//           architecture contra does not build.
inline OpenClipConfig read_open_clip_config(const std::filesystem::path& file) {
    const nlohmann::json j = detail::read_json_file(file);
    const std::string where = file.string() + ": model_cfg";
    CONTRA_CHECK(j.is_object() && j.contains("model_cfg"), file.string(), ": no \"model_cfg\" object (not an open_clip_config.json)");
    const auto& m = j.at("model_cfg");
    detail::check_open_clip_keys(m, detail::open_clip_model_keys(), where);
    const auto vision = m.value("vision_cfg", nlohmann::json::object());
    const auto text = m.value("text_cfg", nlohmann::json::object());
    detail::check_open_clip_keys(vision, detail::open_clip_vision_keys(), where + ".vision_cfg");
    detail::check_open_clip_keys(text, detail::open_clip_text_keys(), where + ".text_cfg");

    OpenClipConfig c;
    c.file = file;
    const auto quick = m.value("quick_gelu", nlohmann::json(false));
    CONTRA_CHECK(quick.is_boolean(), where, ".quick_gelu must be true or false, got ", quick.dump());
    c.activation = quick.get<bool>() ? ops::Activation::quick_gelu : ops::Activation::gelu;
    const auto optional_size = [](const nlohmann::json& o, const char* key, const std::string& at) -> std::optional<std::int64_t> {
        if (!o.contains(key)) return std::nullopt;
        return detail::config_int(o.at(key), key, at);
    };
    c.embed_dim = optional_size(m, "embed_dim", where);

    const std::string vwhere = where + ".vision_cfg", twhere = where + ".text_cfg";
    // open_clip's dataclass defaults: ViT-B/16 at 224 px.
    const std::int64_t vwidth = detail::config_int(vision, "width", 768, vwhere);
    const std::int64_t head_width = detail::config_int(vision, "head_width", 64, vwhere);
    CONTRA_CHECK(head_width > 0, vwhere, ".head_width must be positive");
    c.resnet = vision.contains("layers") && vision.at("layers").is_array();
    const std::int64_t pooled_width = c.resnet ? vwidth * 32 : vwidth;  // the attention pool's, for a ResNet
    CONTRA_CHECK(pooled_width % head_width == 0, vwhere, ": width ", pooled_width, " is not a multiple of head_width ",
                 head_width);
    c.vision.width = vwidth;
    c.vision.heads = pooled_width / head_width;
    if (!c.resnet) {
        c.vision.layers = detail::config_int(vision, "layers", 12, vwhere);
        c.vision.mlp_width = detail::open_clip_mlp_width(vision, vwidth, vwhere);
        c.patch_size = detail::config_int(vision, "patch_size", 16, vwhere);
    }
    c.image_size = detail::config_int(vision, "image_size", 224, vwhere);

    c.text.width = detail::config_int(text, "width", 512, twhere);
    c.text.layers = detail::config_int(text, "layers", 12, twhere);
    c.text.heads = detail::config_int(text, "heads", 8, twhere);
    CONTRA_CHECK(*c.text.heads > 0 && *c.text.width % *c.text.heads == 0, twhere, ": width ", *c.text.width,
                 " is not divisible into ", *c.text.heads, " heads");
    c.text.mlp_width = detail::open_clip_mlp_width(text, *c.text.width, twhere);
    c.context_length = detail::config_int(text, "context_length", 77, twhere);
    c.vocab_size = detail::config_int(text, "vocab_size", 49408, twhere);
    return c;
}

}  // namespace contra::io
