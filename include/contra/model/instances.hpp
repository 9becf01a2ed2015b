// contra/model/instances.hpp — compiling the OpenAI models once. A program that builds several
// translation units around the same model declares its instances `extern` in every unit and
// defines them in one (the towers' encode() and Clip's loss() and logits(), with all the
// differentiable ops and kernels below them, are then compiled once):
//   CONTRA_OPENAI_CLIP_INSTANCES(extern, float, contra::cpu, contra::nn::QuickGelu)   // a header
//   CONTRA_OPENAI_CLIP_INSTANCES(, float, contra::cpu, contra::nn::QuickGelu)         // one .cpp
// defines: CONTRA_OPENAI_CLIP_INSTANCES, CONTRA_CLIP_VARIANT_INSTANCES, CONTRA_RESNET_CLIP_INSTANCES
#pragma once
#include "openai.hpp"

// The ViT image tower, the causal text tower and model::ClipWithActivation<ACT, T, B> (with
// nn::QuickGelu: model::OpenAiClip<T, B>).
#define CONTRA_OPENAI_CLIP_INSTANCES(EXTERN, T, B, ACT)                                                           \
    EXTERN template struct ::contra::nn::VisionTransformer<::contra::nn::ResidualBlock<T, B, ::contra::nn::NoMask, ACT>>; \
    EXTERN template struct ::contra::nn::TextTransformer<::contra::nn::ResidualBlock<T, B, ::contra::nn::CausalMask, ACT>>; \
    EXTERN template struct ::contra::model::Clip<::contra::nn::OpenAiVision<T, B, ::contra::ad::Fused, ACT>,                 \
                                                 ::contra::nn::OpenAiText<T, B, ::contra::ad::Fused, ACT>,                   \
                                                 ::contra::loss::InfoNce<T, B, ::contra::ad::Fused>>

// The variants of model::ClipWithActivation<ACT, T, B, ad::Fused, LOSS, MASK> beyond OpenAI's:
// the towers of CONTRA_OPENAI_CLIP_INSTANCES(…, ACT), a bidirectional text tower (NoMask) and the
// compositions with SigLIP's loss or that text tower.
#define CONTRA_CLIP_VARIANT_INSTANCES(EXTERN, T, B, ACT)                                                                \
    EXTERN template struct ::contra::nn::TextTransformer<::contra::nn::ResidualBlock<T, B, ::contra::nn::NoMask, ACT>>; \
    CONTRA_DETAIL_CLIP_INSTANCE(EXTERN, T, B, ACT, ::contra::nn::CausalMask, ::contra::loss::SigLip<T, B>);           \
    CONTRA_DETAIL_CLIP_INSTANCE(EXTERN, T, B, ACT, ::contra::nn::NoMask, ::contra::loss::InfoNce<T, B>);             \
    CONTRA_DETAIL_CLIP_INSTANCE(EXTERN, T, B, ACT, ::contra::nn::NoMask, ::contra::loss::SigLip<T, B>)
#define CONTRA_DETAIL_CLIP_INSTANCE(EXTERN, T, B, ACT, MASK, ...)  /* ...: the loss */                                            \
    EXTERN template struct ::contra::model::Clip<::contra::nn::OpenAiVision<T, B, ::contra::ad::Fused, ACT>, \
                                                 ::contra::nn::OpenAiText<T, B, ::contra::ad::Fused, ACT, MASK>, __VA_ARGS__>

// The ModifiedResNet image tower and model::OpenAiResNetClip<T, B> (its text tower comes with
// CONTRA_OPENAI_CLIP_INSTANCES(…, nn::QuickGelu)).
#define CONTRA_RESNET_CLIP_INSTANCES(EXTERN, T, B)                   \
    EXTERN template struct ::contra::nn::ModifiedResNet<T, B>;        \
    EXTERN template struct ::contra::model::Clip<::contra::nn::ModifiedResNet<T, B>, ::contra::nn::OpenAiText<T, B>, \
                                                 ::contra::loss::InfoNce<T, B>>
