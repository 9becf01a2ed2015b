// contra/autograd/ops/common.hpp — what the differentiable ops share.
// Each op: check, compute the value with primitives from backend/ops.hpp, then record() a
// backward closure that captures only what it reads and accumulates into its inputs.
#pragma once
#include "../var.hpp"

namespace contra::ad {

// Implementation policies for ops that exist in two forms (see docs/architecture.md):
struct Composite {};  // built from smaller differentiable ops; the tape derives the gradient
struct Fused {};      // one node with a hand-written backward; fewer saved tensors, fewer passes

template <class Impl>
concept ImplPolicy = std::same_as<Impl, Composite> || std::same_as<Impl, Fused>;

template <class T, class B>
TensorOn<T, B> new_tensor(const Shape& shape) {
    return step_tensor<T, device_of<B>>(shape);
}

}  // namespace contra::ad
