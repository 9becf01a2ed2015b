// contra/model/count.hpp — parameter counts and forward FLOPs of the OpenAI composition, from the
// sizes alone (no allocation), for `contra info` and for MFU figures.
// defines: model::ParameterCount, model::count_parameters, model::ForwardFlops, model::forward_flops
#pragma once
#include "config.hpp"

namespace contra::model {

struct ParameterCount {
    std::int64_t visual = 0, text = 0, other = 0;  // other: logit_scale (and logit_bias)
    std::int64_t total() const { return visual + text + other; }
};

namespace detail {
// One pre-norm block: two LayerNorms, in_proj [3W, W] + bias, out_proj, c_fc, c_proj.
constexpr std::int64_t block_parameters(std::int64_t w, std::int64_t hidden) {
    return 2 * 2 * w + (3 * w * w + 3 * w) + (w * w + w) + (hidden * w + hidden) + (w * hidden + w);
}
// Multiply-adds ×2 of one block over a sequence of n tokens.
constexpr double block_flops(double n, double w, double hidden) {
    return 2 * n * w * 3 * w + 2 * 2 * n * n * w + 2 * n * w * w + 2 * 2 * n * w * hidden;
}
}  // namespace detail

inline ParameterCount count_parameters(const ClipConfig& c, std::int64_t loss_scalars = 1) {
    const auto& v = c.vision;
    const auto& t = c.text;
    ParameterCount p;
    const std::int64_t patch_channels = v.stem_channels > 0 ? v.stem_channels : v.channels;  // after the optional stem
    p.visual = v.stem_channels * v.channels * 9 + v.width * patch_channels * v.patch_size * v.patch_size + v.width +
               v.tokens() * v.width + 2 * 2 * v.width + v.layers * detail::block_parameters(v.width, v.mlp_hidden()) +
               v.width * c.embed_dim;
    p.text = t.vocab_size * t.width + t.context_length * t.width + t.layers * detail::block_parameters(t.width, t.mlp_hidden()) +
             2 * t.width + t.width * c.embed_dim;
    p.other = loss_scalars;
    return p;
}

struct ForwardFlops {
    double per_image = 0, per_text = 0;  // floating-point operations of one forward pass
};

// Matrix products only (they are > 99% of the work): the stem, patch embedding, blocks, projections.
inline ForwardFlops forward_flops(const ClipConfig& c) {
    const auto& v = c.vision;
    const auto& t = c.text;
    ForwardFlops f;
    const double patches = double(v.grid() * v.grid());
    const double patch_channels = double(v.stem_channels > 0 ? v.stem_channels : v.channels);
    const double stem = 2 * double(v.image_size * v.image_size) * double(v.stem_channels * v.channels * 9);  // 3×3, stride 1
    f.per_image = stem + 2 * patches * patch_channels * double(v.patch_size * v.patch_size * v.width) +
                  double(v.layers) * detail::block_flops(double(v.tokens()), double(v.width), double(v.mlp_hidden())) +
                  2 * double(v.width * c.embed_dim);
    f.per_text = double(t.layers) * detail::block_flops(double(t.context_length), double(t.width), double(t.mlp_hidden())) +
                 2 * double(t.width * c.embed_dim);
    return f;
}

}  // namespace contra::model
