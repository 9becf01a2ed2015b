// contra/backend/eigen/backend.hpp — Kernels<cpu>: the Eigen + OpenMP backend, assembled.
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
struct Kernels<cpu> : eig::Linalg,
                      eig::Elementwise,
                      eig::Reduce,
                      eig::Layout,
                      eig::Softmax,
                      eig::Attention,
                      eig::Norm,
                      eig::Activations,
                      eig::Loss,
                      eig::Conv,
                      eig::BatchNorm,
                      eig::Pool,
                      eig::Optim {};
}  // namespace contra::ops
