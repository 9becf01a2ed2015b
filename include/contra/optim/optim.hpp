// contra/optim/optim.hpp — the Optimizer concept, AdamW, learning-rate schedules, gradient clipping.
#pragma once
#include "adamw.hpp"      // defines: optim::AdamWOptions, optim::AdamW, optim::decays
#include "clip_grad.hpp"  // defines: optim::global_grad_norm, optim::clip_grad_norm
#include "concepts.hpp"   // defines: optim::Optimizer
#include "schedule.hpp"   // defines: optim::Schedule, optim::ScheduleKind
