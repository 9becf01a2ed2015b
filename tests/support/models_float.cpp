// The float model of tests/support/models.hpp (a third unit: the three compile in parallel).
#include "models.hpp"

CONTRA_OPENAI_CLIP_INSTANCES(, float, ::contra::cpu, ::contra::nn::QuickGelu);
