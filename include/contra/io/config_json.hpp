// contra/io/config_json.hpp — ClipConfig to and from JSON (checkpoint metadata, results files).
// defines: io::to_json(ClipConfig), io::config_from_json, io::to_json(ResNetConfig),
//          io::resnet_config_from_json, io::detail::config_int, io::detail::read_json_file
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "../core/config.hpp"
#include "../nn/config.hpp"

namespace contra::io {

inline nlohmann::json to_json(const model::ClipConfig& c) {
    const auto& v = c.vision;
    const auto& t = c.text;
    return {{"name", c.name},
            {"embed_dim", c.embed_dim},
            {"vision", {{"image_size", v.image_size}, {"patch_size", v.patch_size}, {"channels", v.channels},
                        {"width", v.width}, {"layers", v.layers}, {"heads", v.heads}, {"mlp_width", v.mlp_hidden()},
                        {"stem_channels", v.stem_channels}}},
            {"text", {{"context_length", t.context_length}, {"vocab_size", t.vocab_size}, {"width", t.width},
                      {"layers", t.layers}, {"heads", t.heads}, {"mlp_width", t.mlp_hidden()}}}};
}

namespace detail {

// config_int(j, key, where): j[key] as a size: an integer in [0, 2^31). A float, a string or an
// out-of-range number is a contra::Error naming `where` and the key (nlohmann's get<int64_t>
// would truncate 1.5 to 1 and has undefined behaviour for 1e300).
inline std::int64_t config_int(const nlohmann::json& value, std::string_view key, std::string_view where) {
    // (an unsigned value of 2^63 or more reads as negative, so it fails the range test too)
    CONTRA_CHECK(value.is_number_integer() && value.get<std::int64_t>() >= 0 && value.get<std::int64_t>() < (std::int64_t(1) << 31),
                 where, ": \"", key, "\" must be an integer in [0, 2^31), got ", value.dump());
    return value.get<std::int64_t>();
}
// read_json_file(file): a JSON file's value; an unreadable file or invalid JSON is an Error naming it.
inline nlohmann::json read_json_file(const std::filesystem::path& file) {
    std::ifstream f(file);
    CONTRA_CHECK(f.good(), file.string(), ": cannot be read");
    try {
        return nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
        throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
    }
}

// config_int(j, key, fallback, where): the same, fallback when j has no such key.
inline std::int64_t config_int(const nlohmann::json& object, const char* key, std::int64_t fallback, std::string_view where) {
    const auto it = object.find(key);
    return it == object.end() ? fallback : config_int(*it, key, where);
}

}  // namespace detail

// config_from_json(j): the inverse of to_json; a missing or mistyped field is a contra::Error
// (except vision.stem_channels, absent from checkpoints of towers without a stem). Sizes must be
// integers in [0, 2^31). Each tower's MLP is "mlp_width" hidden units, or, in files written before
// any width was allowed, "mlp_ratio" × width.
inline model::ClipConfig config_from_json(const nlohmann::json& j) {
    try {
        const auto size = [](const nlohmann::json& object, const char* key) {
            return detail::config_int(object.at(key), key, "model config");
        };
        const auto mlp_width = [&](const nlohmann::json& tower) {
            const auto hidden = tower.contains("mlp_width") || !tower.contains("mlp_ratio")
                                    ? size(tower, "mlp_width")
                                    : size(tower, "mlp_ratio") * size(tower, "width");
            CONTRA_CHECK(hidden > 0, "model config: the MLP width must be positive");
            return hidden;
        };
        model::ClipConfig c;
        c.name = j.at("name").get<std::string>();
        c.embed_dim = size(j, "embed_dim");
        const auto& v = j.at("vision");
        c.vision = nn::VisionConfig{size(v, "image_size"), size(v, "patch_size"), size(v, "channels"),
                                    size(v, "width"),      size(v, "layers"),     size(v, "heads"),
                                    mlp_width(v),          detail::config_int(v, "stem_channels", 0, "model config")};
        const auto& t = j.at("text");
        c.text = nn::TextConfig{size(t, "context_length"), size(t, "vocab_size"), size(t, "width"),
                                size(t, "layers"),         size(t, "heads"),      mlp_width(t)};
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("model config: ") + e.what());
    }
}

// to_json(r): a ModifiedResNet tower's sizes (stored beside the ClipConfig of a ResNet CLIP).
inline nlohmann::json to_json(const nn::ResNetConfig& r) {
    return {{"image_size", r.image_size}, {"channels", r.channels}, {"width", r.width}, {"heads", r.heads},
            {"layers", {r.layers[0], r.layers[1], r.layers[2], r.layers[3]}}};
}

// resnet_config_from_json(j): the inverse; a missing or mistyped field is a contra::Error, and so
// is a tower contra cannot build (image size not a multiple of 32, a stage without blocks, width
// not a multiple of 2, no heads).
inline nn::ResNetConfig resnet_config_from_json(const nlohmann::json& j) {
    try {
        const auto size = [](const nlohmann::json& object, const char* key) {
            return detail::config_int(object.at(key), key, "ResNet config");
        };
        nn::ResNetConfig r;
        r.image_size = size(j, "image_size");
        r.channels = size(j, "channels");
        r.width = size(j, "width");
        r.heads = size(j, "heads");
        const auto& layers = j.at("layers");
        CONTRA_CHECK(layers.is_array() && layers.size() == 4, "ResNet config: \"layers\" must hold 4 stage depths, got ",
                     layers.dump());
        for (std::size_t i = 0; i < 4; ++i) {
            r.layers[i] = detail::config_int(layers[i], "layers", "ResNet config");
            CONTRA_CHECK(r.layers[i] > 0, "ResNet config: stage ", i + 1, " has no blocks");
        }
        CONTRA_CHECK(r.image_size > 0 && r.image_size % 32 == 0, "ResNet config: image_size must be a positive multiple of 32, got ",
                     r.image_size);
        CONTRA_CHECK(r.width > 0 && r.width % 2 == 0, "ResNet config: width must be a positive even number, got ", r.width);
        CONTRA_CHECK(r.heads > 0 && r.channels > 0, "ResNet config: heads and channels must be positive");
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("ResNet config: ") + e.what());
    }
}

}  // namespace contra::io
