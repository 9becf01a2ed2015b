// contra/model/model.hpp — CLIP models: Clip<ImageTower, TextTower, Loss>, the OpenAI
// compositions, the presets and their sizes.
#pragma once
#include "clip.hpp"      // defines: model::Clip
#include "concepts.hpp"  // defines: model::ContrastiveModel
#include "config.hpp"    // defines: model::ClipConfig, model::preset, model::preset_names, model::resnet_preset
#include "count.hpp"     // defines: model::ParameterCount, model::count_parameters, model::ForwardFlops, model::forward_flops
#include "openai.hpp"    // defines: model::OpenAiClip, model::OpenAiResNetClip, model::ClipWithActivation
