// tests/support/models.hpp — the models most test and example programs use, compiled once
// (support/models*.cpp, the library contra_test_models) and declared extern here; the precompiled
// header includes it, and contra_use_test_models includes it first in the other programs.
#pragma once
#include <contra/contra.hpp>
#include <contra/model/instances.hpp>

CONTRA_OPENAI_CLIP_INSTANCES(extern, float, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_OPENAI_CLIP_INSTANCES(extern, double, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_OPENAI_CLIP_INSTANCES(extern, double, ::contra::reference, ::contra::nn::QuickGelu);
CONTRA_RESNET_CLIP_INSTANCES(extern, double, ::contra::cpu);
CONTRA_RESNET_CLIP_INSTANCES(extern, double, ::contra::reference);
