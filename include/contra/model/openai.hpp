// contra/model/openai.hpp — the CLIP models of OpenAI and open_clip as Clip compositions.
// defines: model::OpenAiClip, model::OpenAiResNetClip, model::ClipWithActivation
#pragma once
#include "../loss/info_nce.hpp"
#include "../loss/siglip.hpp"
#include "../nn/openai.hpp"
#include "../nn/resnet.hpp"
#include "clip.hpp"

namespace contra::model {

// The model of the paper: Clip<OpenAiVision, OpenAiText, InfoNce>.
template <class T = float, class B = cpu, class Impl = ad::Fused, class Loss = loss::InfoNce<T, B, Impl>>
using OpenAiClip = Clip<nn::OpenAiVision<T, B, Impl>, nn::OpenAiText<T, B, Impl>, Loss>;

// OpenAI's RN50 family: Clip<ModifiedResNet, OpenAiText, InfoNce>, built from (ClipConfig, ResNetConfig).
template <class T = float, class B = cpu, class Impl = ad::Fused, class Loss = loss::InfoNce<T, B, Impl>>
using OpenAiResNetClip = Clip<nn::ModifiedResNet<T, B>, nn::OpenAiText<T, B, Impl>, Loss>;

// The same composition with another MLP activation (many open_clip models use GELU), and
// optionally another loss (loss::SigLip<T, B>) and a bidirectional text tower (TextMask = nn::NoMask).
template <class Act, class T = float, class B = cpu, class Impl = ad::Fused, class Loss = loss::InfoNce<T, B, Impl>,
          class TextMask = nn::CausalMask>
using ClipWithActivation = Clip<nn::OpenAiVision<T, B, Impl, Act>, nn::OpenAiText<T, B, Impl, Act, TextMask>, Loss>;

}  // namespace contra::model
