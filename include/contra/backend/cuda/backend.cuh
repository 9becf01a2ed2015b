// contra/backend/cuda/backend.cuh — Kernels<cuda>: the CUDA backend, assembled.
// defines: contra::ops::Kernels<cuda>
//
// One struct per kernel family, each in its own file: every primitive of backend/ops.hpp runs on
// the GPU (cuBLAS for the GEMMs, contra's kernels for the rest).
#pragma once
#include "activation.cuh"
#include "attention.cuh"
#include "batch_norm.cuh"
#include "common.cuh"
#include "context.cuh"
#include "conv.cuh"
#include "elementwise.cuh"
#include "layout.cuh"
#include "linalg.cuh"
#include "loss.cuh"
#include "memory.cuh"
#include "norm.cuh"
#include "optim.cuh"
#include "pool.cuh"
#include "reduce.cuh"
#include "softmax.cuh"

namespace contra::ops {
template <>
struct Kernels<cuda> : cu::Linalg,
                       cu::Elementwise,
                       cu::Reduce,
                       cu::Layout,
                       cu::Softmax,
                       cu::Attention,
                       cu::Norm,
                       cu::Activations,
                       cu::Loss,
                       cu::Conv,
                       cu::BatchNorm,
                       cu::Pool,
                       cu::Optim {};
}  // namespace contra::ops
