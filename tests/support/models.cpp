// The models of tests/support/models.hpp, compiled once for every test program.
#include "models.hpp"

CONTRA_OPENAI_CLIP_INSTANCES(, double, ::contra::cpu, ::contra::nn::QuickGelu);
CONTRA_RESNET_CLIP_INSTANCES(, double, ::contra::cpu);
