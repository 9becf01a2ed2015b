// contra/backend/reference/backend.hpp — Kernels<reference>: the oracle backend, assembled.
#pragma once
#include "activation.hpp"
#include "attention.hpp"
#include "batch_norm.hpp"
#include "conv.hpp"
#include "elementwise.hpp"
#include "layout.hpp"
#include "linalg.hpp"
#include "loss.hpp"
#include "norm.hpp"
#include "optim.hpp"
#include "reduce.hpp"
#include "softmax.hpp"

namespace contra::ops {
template <>
struct Kernels<reference> : ref::Linalg,
                            ref::Elementwise,
                            ref::Reduce,
                            ref::Layout,
                            ref::Softmax,
                            ref::Attention,
                            ref::Norm,
                            ref::Activations,
                            ref::Loss,
                            ref::Conv,
                            ref::BatchNorm,
                            ref::Pool,
                            ref::Optim {};
}  // namespace contra::ops
