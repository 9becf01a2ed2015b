// contra/io/hf_names.hpp — the Hugging Face CLIPModel spelling of the OpenAI state dict.
//   visual.transformer.resblocks.3.attn.in_proj_weight [3W, W]
//     ⇄ vision_model.encoder.layers.3.self_attn.{q,k,v}_proj.weight  3 × [W, W]   (rows split)
//   visual.proj [W, E] ⇄ visual_projection.weight [E, W]                          (transposed)
//   visual.ln_pre.weight ⇄ vision_model.pre_layrnorm.weight                       (renamed)
// defines: io::HfPart, io::hf_parts, io::to_hf, io::from_hf, io::kHfIgnored
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"

namespace contra::io {

// How one OpenAI tensor is stored in the HF layout: under one name, possibly transposed, or as
// the rows of a q/k/v split (rows [k·R, (k+1)·R) under the k-th name).
struct HfPart {
    std::string name;
    enum class How { same, transpose, row_block } how = How::same;
    int block = 0, blocks = 1;  // row_block: this is block `block` of `blocks`
};

// Tensors an HF checkpoint may carry that no OpenAI parameter corresponds to.
inline bool hf_ignored(std::string_view name) {
    return name == "text_model.embeddings.position_ids" || name == "vision_model.embeddings.position_ids";
}

namespace detail {
inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "transformer.resblocks.N.<rest>" → ("N", "<rest>") when name starts with prefix + "resblocks."
inline bool split_block(std::string_view name, std::string_view prefix, std::string& index, std::string& rest) {
    const std::string head = std::string(prefix) + "resblocks.";
    if (!starts_with(name, head)) return false;
    const auto dot = name.find('.', head.size());
    if (dot == std::string_view::npos) return false;
    index = std::string(name.substr(head.size(), dot - head.size()));
    rest = std::string(name.substr(dot + 1));
    return true;
}

inline std::string hf_block_rest(const std::string& rest) {
    constexpr std::array<std::pair<std::string_view, std::string_view>, 5> renames{{
        {"ln_1.", "layer_norm1."},
        {"ln_2.", "layer_norm2."},
        {"attn.out_proj.", "self_attn.out_proj."},
        {"mlp.c_fc.", "mlp.fc1."},
        {"mlp.c_proj.", "mlp.fc2."},
    }};
    for (const auto& [from, to] : renames)
        if (starts_with(rest, from)) return std::string(to) + rest.substr(from.size());
    return {};
}
}  // namespace detail

// hf_parts(openai_name): where the HF layout keeps this tensor; empty when it has no HF name
// (e.g. a ModifiedResNet tensor: HF CLIPModel is ViT only).
inline std::vector<HfPart> hf_parts(std::string_view name) {
    using How = HfPart::How;
    const std::string n(name);
    if (n == "logit_scale") return {{n}};
    if (n == "visual.conv1.weight") return {{"vision_model.embeddings.patch_embedding.weight"}};
    if (n == "visual.class_embedding") return {{"vision_model.embeddings.class_embedding"}};
    if (n == "visual.positional_embedding") return {{"vision_model.embeddings.position_embedding.weight"}};
    if (n == "visual.proj") return {{"visual_projection.weight", How::transpose}};
    if (n == "token_embedding.weight") return {{"text_model.embeddings.token_embedding.weight"}};
    if (n == "positional_embedding") return {{"text_model.embeddings.position_embedding.weight"}};
    if (n == "text_projection") return {{"text_projection.weight", How::transpose}};
    for (const auto& [from, to] : {std::pair{"visual.ln_pre.", "vision_model.pre_layrnorm."},
                                   std::pair{"visual.ln_post.", "vision_model.post_layernorm."},
                                   std::pair{"ln_final.", "text_model.final_layer_norm."}})
        if (detail::starts_with(n, from)) return {{to + n.substr(std::string_view(from).size())}};
    std::string index, rest;
    for (const auto& [from, to] : {std::pair{"visual.transformer.", "vision_model.encoder.layers."},
                                   std::pair{"transformer.", "text_model.encoder.layers."}}) {
        if (!detail::split_block(n, from, index, rest)) continue;
        const std::string layer = to + index + ".";
        if (rest == "attn.in_proj_weight" || rest == "attn.in_proj_bias") {
            const std::string kind = rest == "attn.in_proj_weight" ? "weight" : "bias";
            return {{layer + "self_attn.q_proj." + kind, How::row_block, 0, 3},
                    {layer + "self_attn.k_proj." + kind, How::row_block, 1, 3},
                    {layer + "self_attn.v_proj." + kind, How::row_block, 2, 3}};
        }
        const auto hf_rest = detail::hf_block_rest(rest);
        if (hf_rest.empty()) return {};
        return {{layer + hf_rest}};
    }
    return {};
}

namespace detail {
template <class T>
Tensor<T, cpu> transposed(const Tensor<T, cpu>& t) {  // [R, C] → [C, R]
    CONTRA_CHECK(t.rank() == 2, "transpose: a matrix is needed, got ", t.shape());
    const std::int64_t r = t.size(0), c = t.size(1);
    auto out = Tensor<T, cpu>::empty(Shape{c, r});
    for (std::int64_t i = 0; i < r; ++i)
        for (std::int64_t j = 0; j < c; ++j) out.data()[j * r + i] = t.data()[i * c + j];
    return out;
}
}  // namespace detail

// to_hf(openai_name, t): the HF (name, tensor) pairs holding t.
//   requires: hf_parts(openai_name) is not empty; a row_block tensor's rows divide by 3.
template <class T>
std::vector<std::pair<std::string, Tensor<T, cpu>>> to_hf(std::string_view openai_name, const Tensor<T, cpu>& t) {
    const auto parts = hf_parts(openai_name);
    CONTRA_CHECK(!parts.empty(), "the Hugging Face CLIP layout has no place for ", openai_name);
    std::vector<std::pair<std::string, Tensor<T, cpu>>> out;
    for (const auto& p : parts) {
        if (p.how == HfPart::How::same) out.emplace_back(p.name, t);
        if (p.how == HfPart::How::transpose) out.emplace_back(p.name, detail::transposed(t));
        if (p.how == HfPart::How::row_block) {
            CONTRA_CHECK(t.rank() >= 1 && t.size(0) % p.blocks == 0, openai_name, " ", t.shape(), " does not split into ",
                         p.blocks, " row blocks");
            const std::int64_t rows = t.size(0) / p.blocks;
            out.emplace_back(p.name, t.rows(p.block * rows, (p.block + 1) * rows).clone());
        }
    }
    return out;
}

// from_hf(parts, tensors): the OpenAI tensor made of the HF tensors named by parts (in order).
//   requires: the row blocks agree in every dimension but the first.
template <class T>
Tensor<T, cpu> from_hf(const std::vector<HfPart>& parts, const std::vector<Tensor<T, cpu>>& tensors) {
    CONTRA_CHECK(parts.size() == tensors.size() && !parts.empty(), "from_hf: one tensor per part");
    if (parts[0].how == HfPart::How::same) return tensors[0];
    if (parts[0].how == HfPart::How::transpose) return detail::transposed(tensors[0]);
    Shape shape = tensors[0].shape();
    for (std::size_t k = 1; k < tensors.size(); ++k)
        CONTRA_CHECK(tensors[k].shape() == tensors[0].shape(), parts[k].name, " has shape ", tensors[k].shape(),
                     " but ", parts[0].name, " has ", tensors[0].shape());
    shape[0] *= std::int64_t(tensors.size());
    auto out = Tensor<T, cpu>::empty(shape);
    std::int64_t at = 0;
    for (const auto& t : tensors) {
        std::copy(t.data(), t.data() + t.numel(), out.data() + at);
        at += t.numel();
    }
    return out;
}

}  // namespace contra::io
