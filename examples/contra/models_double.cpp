// The double models of models.hpp (contra embed and grad with --dtype f64), compiled once.
#include "models.hpp"

CONTRA_OPENAI_CLIP_INSTANCES(, double, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_OPENAI_CLIP_INSTANCES(, double, ::contra::cpu, ::contra::nn::Gelu);
CONTRA_CLIP_VARIANT_INSTANCES(, double, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_CLIP_VARIANT_INSTANCES(, double, ::contra::cpu, ::contra::nn::Gelu);
CONTRA_RESNET_CLIP_INSTANCES(, double, ::contra::cpu);
