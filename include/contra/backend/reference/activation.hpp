// contra/backend/reference/activation.hpp — elementwise activations and their derivatives.
#pragma once
#include "common.hpp"

namespace contra::ref {

struct Activations {
    template <class T>
    static void activation(ops::Activation f, const HTensor<T>& x, HTensor<T>& y) {
        for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = T(scalar::activate(f, R(x.data()[i])));
    }
    template <class T>
    static void activation_backward(ops::Activation f, const HTensor<T>& x, const HTensor<T>& dy, HTensor<T>& dx) {
        for (int64_t i = 0; i < x.numel(); ++i)
            dx.data()[i] = T(scalar::activate_grad(f, R(x.data()[i])) * R(dy.data()[i]));
    }
};

}  // namespace contra::ref
