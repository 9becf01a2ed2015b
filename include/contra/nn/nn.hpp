// contra/nn/nn.hpp — every module and tower (Clip and the presets: model/model.hpp).
#pragma once
#include "attention.hpp"        // defines: nn::NoMask, nn::CausalMask, nn::MultiHeadAttention
#include "concepts.hpp"         // defines: nn::Module, nn::SequenceModule, nn::AttentionModule, nn::BlockModule, nn::ImageTower, nn::TextTower, nn::StepAware
#include "config.hpp"           // defines: nn::VisionConfig, nn::TextConfig, nn::ResNetConfig
#include "embedding.hpp"        // defines: nn::Embedding
#include "layer_norm.hpp"       // defines: nn::LayerNorm
#include "linear.hpp"           // defines: nn::Linear
#include "mlp.hpp"              // defines: nn::QuickGelu, nn::Gelu, nn::GeluTanh, nn::Relu, nn::Mlp
#include "openai.hpp"           // defines: nn::ResidualBlock, nn::OpenAiVision, nn::OpenAiText
#include "patch_dropout.hpp"    // defines: nn::PatchDropout, nn::StepScope
#include "resnet.hpp"           // defines: nn::Conv2d, nn::BatchNorm2d, nn::Bottleneck, nn::AttentionPool2d, nn::ModifiedResNet
#include "text_transformer.hpp" // defines: nn::TextTransformer
#include "transformer.hpp"      // defines: nn::TransformerBlock, nn::Transformer
#include "vision_transformer.hpp"  // defines: nn::VisionTransformer
