// The reference-backend model of tests/support/models.hpp (a second unit: the two compile in parallel).
#include "models.hpp"

CONTRA_OPENAI_CLIP_INSTANCES(, double, ::contra::reference, ::contra::nn::QuickGelu);
CONTRA_RESNET_CLIP_INSTANCES(, double, ::contra::reference);
