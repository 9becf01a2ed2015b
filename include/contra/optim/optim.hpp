// contra/optim/optim.hpp — AdamW, learning-rate schedules, gradient clipping.
#pragma once
#include "adamw.hpp"
#include "clip_grad.hpp"
#include "schedule.hpp"
