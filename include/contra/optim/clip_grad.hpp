// contra/optim/clip_grad.hpp — gradient clipping by the global L2 norm (as torch's clip_grad_norm_).
// defines: optim::global_grad_norm, optim::clip_grad_norm
#pragma once
#include <cmath>

#include "adamw.hpp"

namespace contra::optim {

// √(Σ over every parameter's gradient of g²); parameters without a gradient count 0.
template <class T, class B>
double global_grad_norm(const AdamW<T, B>& optimizer) {
    double sum_squares = 0;
    for (const auto& s : optimizer.slots())
        if (s.param.has_grad()) sum_squares += ops::reduce_all(B{}, ops::ReduceOp::sum_squares, s.param.grad());
    return std::sqrt(sum_squares);
}

// Scales every gradient by max_norm / (norm + 1e-6) when the global norm exceeds max_norm.
// Returns the norm before clipping (NaN or inf when a gradient is not finite).
template <class T, class B>
double clip_grad_norm(AdamW<T, B>& optimizer, double max_norm) {
    const double norm = global_grad_norm(optimizer);
    const double coefficient = max_norm / (norm + 1e-6);
    if (std::isfinite(norm) && coefficient < 1)
        for (auto& s : optimizer.slots())
            if (s.param.has_grad()) {
                auto g = s.param.grad();
                ops::affine(B{}, g, acc_t<T>(coefficient), acc_t<T>(0), g);
            }
    return norm;
}

}  // namespace contra::optim
