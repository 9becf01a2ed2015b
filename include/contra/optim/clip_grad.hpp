// contra/optim/clip_grad.hpp — gradient clipping by the global L2 norm (as torch's clip_grad_norm_).
// On a GPU the sum of squares stays on the device until it is read: one wait for the host, not
// one per parameter.
// defines: optim::grad_sum_squares, optim::global_grad_norm, optim::clip_coefficient,
//          optim::scale_gradients, optim::clip_grad_norm
#pragma once
#include <cmath>
#include <string>

#include "../autograd/parameter.hpp"
#include "../backend/ops.hpp"
#include "../backend/scalar_math.hpp"

namespace contra::optim {

// Σ over every parameter's gradient of g² (parameters without a gradient count 0), as one double
// on the model's device: queued, not read.
template <class Model>
TensorOn<double, typename Model::backend> grad_sum_squares(Model& model) {
    using B = typename Model::backend;
    auto total = TensorOn<double, B>::zeros(Shape{1});
    for_each_parameter(model, [&]<class T>(const std::string&, Parameter<T, B>& p) {
        if (p.has_grad()) ops::reduce_all_into(B{}, ops::ReduceOp::sum_squares, p.grad(), total);
    });
    return total;
}

// √(Σ over every parameter's gradient of g²): the host waits once.
template <class Model>
double global_grad_norm(Model& model) {
    return std::sqrt(double(to_device<cpu>(grad_sum_squares(model))[0]));
}

// The factor clipping applies to every gradient: max_norm / (norm + 1e-6) when the norm exceeds
// max_norm, else 1.
inline double clip_coefficient(double norm, double max_norm) { return scalar::clip_coefficient(norm, max_norm); }

// Every gradient times `coefficient` (queued; nothing is read back).
template <class Model>
void scale_gradients(Model& model, double coefficient) {
    for_each_parameter(model, [&]<class T, class B>(const std::string&, Parameter<T, B>& p) {
        if (!p.has_grad()) return;
        auto g = p.grad();
        ops::affine(B{}, g, acc_t<T>(coefficient), acc_t<T>(0), g);
    });
}

// Scales every gradient by clip_coefficient(norm, max_norm) when the global norm exceeds max_norm.
// Returns the norm before clipping (NaN or inf when a gradient is not finite, and then nothing is
// scaled).
template <class Model>
double clip_grad_norm(Model& model, double max_norm) {
    const double norm = global_grad_norm(model);
    const double coefficient = clip_coefficient(norm, max_norm);
    if (std::isfinite(norm) && coefficient < 1) scale_gradients(model, coefficient);
    return norm;
}

}  // namespace contra::optim
