// contra/io/config_json.hpp — ClipConfig to and from JSON (checkpoint metadata, results files).
// defines: io::to_json(ClipConfig), io::config_from_json
#pragma once
#include <nlohmann/json.hpp>

#include "../nn/config.hpp"

namespace contra::io {

inline nlohmann::json to_json(const nn::ClipConfig& c) {
    const auto& v = c.vision;
    const auto& t = c.text;
    return {{"name", c.name},
            {"embed_dim", c.embed_dim},
            {"vision", {{"image_size", v.image_size}, {"patch_size", v.patch_size}, {"channels", v.channels},
                        {"width", v.width}, {"layers", v.layers}, {"heads", v.heads}, {"mlp_ratio", v.mlp_ratio},
                        {"stem_channels", v.stem_channels}}},
            {"text", {{"context_length", t.context_length}, {"vocab_size", t.vocab_size}, {"width", t.width},
                      {"layers", t.layers}, {"heads", t.heads}, {"mlp_ratio", t.mlp_ratio}}}};
}

// config_from_json(j): the inverse of to_json; a missing or mistyped field is a contra::Error
// (except vision.stem_channels, absent from checkpoints of towers without a stem).
inline nn::ClipConfig config_from_json(const nlohmann::json& j) {
    try {
        nn::ClipConfig c;
        c.name = j.at("name").get<std::string>();
        c.embed_dim = j.at("embed_dim").get<std::int64_t>();
        const auto& v = j.at("vision");
        c.vision = nn::VisionConfig{v.at("image_size").get<std::int64_t>(), v.at("patch_size").get<std::int64_t>(),
                                    v.at("channels").get<std::int64_t>(),   v.at("width").get<std::int64_t>(),
                                    v.at("layers").get<std::int64_t>(),     v.at("heads").get<std::int64_t>(),
                                    v.at("mlp_ratio").get<std::int64_t>(), v.value("stem_channels", std::int64_t(0))};
        const auto& t = j.at("text");
        c.text = nn::TextConfig{t.at("context_length").get<std::int64_t>(), t.at("vocab_size").get<std::int64_t>(),
                                t.at("width").get<std::int64_t>(),          t.at("layers").get<std::int64_t>(),
                                t.at("heads").get<std::int64_t>(),          t.at("mlp_ratio").get<std::int64_t>()};
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("model config: ") + e.what());
    }
}

}  // namespace contra::io
