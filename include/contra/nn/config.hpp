// contra/nn/config.hpp — the sizes of the towers (run-time values); the presets are in
// model/config.hpp.
// defines: nn::VisionConfig, nn::TextConfig, nn::ResNetConfig
#pragma once
#include <array>
#include <cstdint>
#include <utility>
#include <string>
#include <vector>

#include "../core/error.hpp"

namespace contra::nn {

// mlp_width: each block's MLP hidden units, any positive number (open_clip's int(width · mlp_ratio),
// HF's intermediate_size); 0 means OpenAI's 4 × width. Heads: any count that divides the width.
struct VisionConfig {
    std::int64_t image_size = 224, patch_size = 32, channels = 3;
    std::int64_t width = 768, layers = 12, heads = 12, mlp_width = 0;
    std::int64_t stem_channels = 0;  // > 0: a 3×3 convolution + ReLU to this many channels before the patches
    std::int64_t mlp_hidden() const { return mlp_width > 0 ? mlp_width : 4 * width; }
    std::int64_t grid() const { return image_size / patch_size; }
    std::int64_t tokens() const { return grid() * grid() + 1; }  // patches + class token
};

struct TextConfig {
    std::int64_t context_length = 77, vocab_size = 49408;
    std::int64_t width = 512, layers = 12, heads = 8, mlp_width = 0;  // mlp_width: as VisionConfig's
    std::int64_t mlp_hidden() const { return mlp_width > 0 ? mlp_width : 4 * width; }
};

// The ModifiedResNet image tower (OpenAI's RN50 family): stem width/2, width/2, width; four
// Bottleneck stages of planes width·{1,2,4,8} (×4 out); an attention pool over the
// (image_size/32)² grid of width·32 channels with `heads` heads.
struct ResNetConfig {
    std::int64_t image_size = 224, channels = 3, width = 64, heads = 32;
    std::array<std::int64_t, 4> layers{3, 4, 6, 3};
    std::int64_t grid() const { return image_size / 32; }
    std::int64_t embed_width() const { return width * 32; }  // channels out of the last stage
};

}  // namespace contra::nn
