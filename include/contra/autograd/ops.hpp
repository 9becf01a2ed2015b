// contra/autograd/ops.hpp — every differentiable op (namespace contra::ad).
// defines: ad::{add, sub, mul, div, affine, cast, unary, exp, log, …, activation}   (elementwise.hpp)
//          ad::{sum, mean}                                                    (reduce.hpp)
//          ad::{matmul, bmm, linear}                                          (linalg.hpp)
//          ad::{transpose, permute_0213, concat_cols, slice_cols, with_rows, gather_rows, im2patch} (layout.hpp)
//          ad::{checkpoint}                                                   (checkpoint.hpp)
//          ad::{softmax, log_softmax}                                         (softmax.hpp)
//          ad::{layer_norm<Impl>, add_layer_norm<Impl>, ResidualAndNorm, l2_normalize} (norm.hpp)
//          ad::{cross_entropy<Impl>}                                          (loss.hpp)
//          ad::{attention<Impl>}                                              (attention.hpp)
//          ad::{conv2d, batch_norm2d, avg_pool2d}                             (conv.hpp)
#pragma once
#include "ops/attention.hpp"
#include "ops/checkpoint.hpp"
#include "ops/conv.hpp"
#include "ops/elementwise.hpp"
#include "ops/layout.hpp"
#include "ops/linalg.hpp"
#include "ops/loss.hpp"
#include "ops/norm.hpp"
#include "ops/reduce.hpp"
#include "ops/softmax.hpp"
