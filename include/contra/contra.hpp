// contra/contra.hpp — the umbrella header for CPU programs: tensors, backends, autograd, modules,
// losses, optimizers and models (the contra::core component, which needs only Eigen). Data, io,
// evaluation, training and the runner have their own headers.
// For CUDA translation units (nvcc), include contra/cuda.hpp instead: it adds the cuda backend.
#pragma once
#include "core/config.hpp"     // defines: CONTRA_CHECK, CONTRA_HOST_DEVICE
#include "core/device.hpp"     // defines: cpu, cuda, reference tags
#include "core/dtype.hpp"      // defines: bf16, f16, DType
#include "core/parallel.hpp"   // defines: set_num_threads, parallel_for
#include "core/random.hpp"     // defines: Philox, RandomStream, Rng
#include "core/tensor.hpp"     // defines: Tensor, copy, to_device, cast

#include "backend/ops.hpp"                // defines: ops::* (the op contract)
#include "backend/reference/backend.hpp"  // defines: Kernels<reference>
#include "backend/eigen/backend.hpp"      // defines: Kernels<cpu>

#include "autograd/gradcheck.hpp"  // defines: gradcheck
#include "autograd/ops.hpp"        // defines: ad::* (differentiable ops)
#include "autograd/tape.hpp"       // defines: Tape, NoGrad
#include "autograd/var.hpp"        // defines: Var, backward, leaf

#include "loss/loss.hpp"    // defines: loss::InfoNce, loss::SigLip, loss::FeatureGather, loss::ContrastiveLoss
#include "model/model.hpp"  // defines: model::Clip, model::OpenAiClip, model::preset, ...
#include "nn/nn.hpp"        // defines: nn::* (modules and towers)
#include "optim/optim.hpp"  // defines: optim::AdamW, optim::Schedule, optim::clip_grad_norm
