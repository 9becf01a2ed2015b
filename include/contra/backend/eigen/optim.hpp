// contra/backend/eigen/optim.hpp — the AdamW update as one vectorised pass over each tensor.
#pragma once
#include "common.hpp"

namespace contra::eig {

struct Optim {
    // The gate of a step decided where the loss and gradients are (here, the host): ops::gate_step.
    template <class L>
    static void gate_step(const HTensor<L>& loss, const HTensor<double>& sum_squares, double max_norm, HTensor<double>& gate) {
        scalar::gate_step(double(loss.data()[0]), sum_squares.data()[0], max_norm, gate.data());
    }
    static void count_update(const HTensor<double>& gate, HTensor<double>& steps) { steps.data()[0] += gate.data()[0]; }
    template <class T>
    static void adamw(HTensor<T>& param, const HTensor<T>& grad, HTensor<T>& m, HTensor<T>& v, ops::AdamWStep h) {
        require_eigen_type<T>();
        const T bc1 = T(1 - std::pow(h.beta1, double(h.step))), bc2 = T(1 - std::pow(h.beta2, double(h.step)));
        const T step_size = T(h.lr) / bc1, inv_bc2_sqrt = T(1) / std::sqrt(bc2);
        const T decay = T(1 - h.lr * h.weight_decay), b1 = T(h.beta1), b2 = T(h.beta2), eps = T(h.eps);
        for_chunks(param.numel(), 12, [&](int64_t i0, int64_t i1) {
            const int64_t n = i1 - i0;
            ArrayMap<T> p(param.data() + i0, n), mi(m.data() + i0, n), vi(v.data() + i0, n);
            ConstArrayMap<T> g(grad.data() + i0, n);
            mi = b1 * mi + (T(1) - b1) * g;
            vi = b2 * vi + (T(1) - b2) * g.square();
            p = p * decay - step_size * mi / (vi.sqrt() * inv_bc2_sqrt + eps);
        });
    }
};

}  // namespace contra::eig
