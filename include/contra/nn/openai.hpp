// contra/nn/openai.hpp — the towers of OpenAI's CLIP: pre-norm blocks with fused q/k/v attention,
// an MLP with QuickGELU (or another activation) and eps-1e-5 LayerNorms; the ViT image tower and
// the text tower built from them (causal as OpenAI's, or bidirectional).
// defines: nn::ResidualBlock, nn::OpenAiVision, nn::OpenAiText
#pragma once
#include "text_transformer.hpp"
#include "vision_transformer.hpp"

namespace contra::nn {

template <class T, class B, class Mask, class Act = QuickGelu, class Impl = ad::Fused>
using ResidualBlock = TransformerBlock<MultiHeadAttention<T, B, Mask, Impl>, Mlp<T, B, Act>, LayerNorm<T, B, Impl>>;

template <class T, class B, class Impl = ad::Fused, class Act = QuickGelu>
using OpenAiVision = VisionTransformer<ResidualBlock<T, B, NoMask, Act, Impl>>;
template <class T, class B, class Impl = ad::Fused, class Act = QuickGelu, class Mask = CausalMask>
using OpenAiText = TextTransformer<ResidualBlock<T, B, Mask, Act, Impl>>;  // Mask = NoMask: bidirectional, padding masked

}  // namespace contra::nn
