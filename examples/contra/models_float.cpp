// The float models of models.hpp, compiled once for the whole program.
#include "models.hpp"

CONTRA_OPENAI_CLIP_INSTANCES(, float, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_OPENAI_CLIP_INSTANCES(, float, ::contra::cpu, ::contra::nn::Gelu);
CONTRA_CLIP_VARIANT_INSTANCES(, float, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_CLIP_VARIANT_INSTANCES(, float, ::contra::cpu, ::contra::nn::Gelu);
CONTRA_RESNET_CLIP_INSTANCES(, float, ::contra::cpu);
