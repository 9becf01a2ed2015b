// contra/model/config.hpp — the sizes of a CLIP model (run-time values) and the named presets.
// defines: model::ClipConfig, model::preset, model::preset_names, model::resnet_preset
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../nn/config.hpp"

namespace contra::model {

struct ClipConfig {
    std::string name = "ViT-B-32";
    std::int64_t embed_dim = 512;
    nn::VisionConfig vision;
    nn::TextConfig text;
};

inline std::vector<std::string> preset_names() { return {"ViT-B-32", "ViT-B-16", "ViT-L-14", "fmnist", "shapes", "tiny"}; }

// preset(name): the OpenAI sizes (ViT-B-32, ViT-B-16, ViT-L-14), a small model for 28×28 grey
// images on a CPU (fmnist), one for the 32×32 colour shapes (shapes), and a tiny one for tests
// (tiny). The text sizes of fmnist and shapes are replaced by the tokenizer's vocabulary and the
// longest caption when a run starts.
inline ClipConfig preset(const std::string& name) {
    ClipConfig c;
    c.name = name;
    if (name == "ViT-B-32") return c;
    if (name == "ViT-B-16") {
        c.vision.patch_size = 16;
        return c;
    }
    if (name == "ViT-L-14") {
        c.embed_dim = 768;
        c.vision = nn::VisionConfig{.patch_size = 14, .width = 1024, .layers = 24, .heads = 16};
        c.text = nn::TextConfig{.width = 768, .layers = 12, .heads = 12};
        return c;
    }
    if (name == "fmnist") {
        c.embed_dim = 64;
        c.vision = nn::VisionConfig{.image_size = 28, .patch_size = 7, .channels = 1, .width = 96, .layers = 3, .heads = 3};
        c.vision.stem_channels = 16;  // a 3×3 convolution stem: +1.3 points zero-shot (docs/benchmarks.md)
        c.text = nn::TextConfig{.context_length = 16, .vocab_size = 512, .width = 64, .layers = 2, .heads = 2};
        return c;
    }
    if (name == "shapes") {
        c.embed_dim = 64;
        c.vision = nn::VisionConfig{.image_size = 32, .patch_size = 8, .width = 96, .layers = 3, .heads = 3};
        c.text = nn::TextConfig{.context_length = 16, .vocab_size = 512, .width = 64, .layers = 2, .heads = 2};
        return c;
    }
    if (name == "tiny") {
        c.embed_dim = 8;
        c.vision = nn::VisionConfig{.image_size = 8, .patch_size = 4, .width = 16, .layers = 2, .heads = 2, .mlp_width = 32};
        c.text = nn::TextConfig{.context_length = 6, .vocab_size = 24, .width = 12, .layers = 2, .heads = 3, .mlp_width = 24};
        return c;
    }
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown model preset '" + name + "' (known: " + known + ")");
}


// resnet_preset(name): OpenAI's ResNet CLIPs, RN50 and RN101: the text and embedding sizes (in a
// ClipConfig, whose `vision` is unused) and the image tower's sizes. Use as
//   auto [clip, resnet] = model::resnet_preset("RN50");  model::OpenAiResNetClip<float, cpu> m(clip, resnet);
inline std::pair<ClipConfig, nn::ResNetConfig> resnet_preset(const std::string& name) {
    ClipConfig c;
    c.name = name;
    nn::ResNetConfig r;
    if (name == "RN50") {
        c.embed_dim = 1024;
        return {c, r};
    }
    if (name == "RN101") {
        r.layers = {3, 4, 23, 3};
        return {c, r};
    }
    throw Error("unknown ResNet preset '" + name + "' (known: RN50, RN101)");
}

}  // namespace contra::model
