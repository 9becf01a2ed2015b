// contra/autograd/ops/softmax.hpp — differentiable softmax (optionally causal) and log-softmax.
#pragma once
#include "common.hpp"

namespace contra::ad {

// softmax(x, mask): softmax over the last axis; causal masks columns beyond the row's position.
template <class T, class B>
Var<T, B> softmax(const Var<T, B>& x, ops::SoftmaxMask mask = {}) {
    auto y = new_tensor<T, B>(x.shape());
    ops::softmax(B{}, x.value(), mask, static_cast<const TensorOn<T, B>*>(nullptr), y);
    return record<T, B>(y, [x, y](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(x.shape());
        ops::softmax_backward(B{}, y, g, dx);
        x.accumulate(dx);
    }, x);
}

// log_softmax(x): x − logsumexp(x) over the last axis.
template <class T, class B>
Var<T, B> log_softmax(const Var<T, B>& x) {
    auto y = new_tensor<T, B>(x.shape());
    ops::log_softmax(B{}, x.value(), y);
    return record<T, B>(y, [x, y](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(x.shape());
        ops::log_softmax_backward(B{}, y, g, dx);
        x.accumulate(dx);
    }, x);
}

}  // namespace contra::ad
