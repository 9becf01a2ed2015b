// tests/support/models.hpp — the models most test programs use, compiled once (support/models.cpp,
// the library contra_test_models) and declared extern here; the precompiled header includes it.
#pragma once
#include <contra/contra.hpp>
#include <contra/model/instances.hpp>

CONTRA_OPENAI_CLIP_INSTANCES(extern, double, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_OPENAI_CLIP_INSTANCES(extern, double, ::contra::reference, ::contra::nn::QuickGelu);
CONTRA_RESNET_CLIP_INSTANCES(extern, double, ::contra::cpu);
