// contra/optim/clip_grad.hpp — gradient clipping by the global L2 norm (as torch's clip_grad_norm_).
// defines: optim::global_grad_norm, optim::clip_grad_norm
#pragma once
#include <cmath>
#include <string>

#include "../autograd/parameter.hpp"
#include "../backend/ops.hpp"

namespace contra::optim {

// √(Σ over every parameter's gradient of g²); parameters without a gradient count 0.
template <class Model>
double global_grad_norm(Model& model) {
    double sum_squares = 0;
    for_each_parameter(model, [&]<class T, class B>(const std::string&, Parameter<T, B>& p) {
        if (p.has_grad()) sum_squares += ops::reduce_all(B{}, ops::ReduceOp::sum_squares, p.grad());
    });
    return std::sqrt(sum_squares);
}

// Scales every gradient by max_norm / (norm + 1e-6) when the global norm exceeds max_norm.
// Returns the norm before clipping (NaN or inf when a gradient is not finite).
template <class Model>
double clip_grad_norm(Model& model, double max_norm) {
    const double norm = global_grad_norm(model);
    const double coefficient = max_norm / (norm + 1e-6);
    if (std::isfinite(norm) && coefficient < 1)
        for_each_parameter(model, [&]<class T, class B>(const std::string&, Parameter<T, B>& p) {
            if (!p.has_grad()) return;
            auto g = p.grad();
            ops::affine(B{}, g, acc_t<T>(coefficient), acc_t<T>(0), g);
        });
    return norm;
}

}  // namespace contra::optim
