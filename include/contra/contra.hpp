// contra/contra.hpp — the umbrella header for CPU programs.
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
