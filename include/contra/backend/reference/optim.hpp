// contra/backend/reference/optim.hpp — the AdamW update, element by element; with fp32 master
// weights for 16-bit parameters.
#pragma once
#include "common.hpp"

namespace contra::ref {

struct Optim {
    // The gate of a step decided where the loss and gradients are (here, the host): ops::gate_step.
    template <class L>
    static void gate_step(const HTensor<L>& loss, const HTensor<double>& sum_squares, double max_norm, HTensor<double>& gate) {
        scalar::gate_step(double(loss.data()[0]), sum_squares.data()[0], max_norm, gate.data());
    }
    static void count_update(const HTensor<double>& gate, HTensor<double>& steps) { steps.data()[0] += gate.data()[0]; }
    template <class T>
    static void adamw(HTensor<T>& param, const HTensor<T>& grad, HTensor<T>& m, HTensor<T>& v, ops::AdamWStep h) {
        const R bc1 = 1.0 - std::pow(h.beta1, R(h.step)), bc2 = 1.0 - std::pow(h.beta2, R(h.step));
        const R step_size = h.lr / bc1, bc2_sqrt = std::sqrt(bc2);
        for (int64_t i = 0; i < param.numel(); ++i) {
            const R g = R(grad.data()[i]);
            R p = R(param.data()[i]) * (1.0 - h.lr * h.weight_decay);
            const R mi = h.beta1 * R(m.data()[i]) + (1.0 - h.beta1) * g;
            const R vi = h.beta2 * R(v.data()[i]) + (1.0 - h.beta2) * g * g;
            p -= step_size * mi / (std::sqrt(vi) / bc2_sqrt + h.eps);
            param.data()[i] = T(p);
            m.data()[i] = T(mi);
            v.data()[i] = T(vi);
        }
    }

    // T: a 16-bit type, A = acc_t<T> (float). The same arithmetic as adamw<A> on the master, then
    // the parameter rounded from it.
    template <class A, class T>
    static void adamw_master(HTensor<A>& master, HTensor<T>& param, const HTensor<T>& grad, HTensor<A>& m, HTensor<A>& v,
                             ops::AdamWStep h) {
        for (int64_t i = 0; i < param.numel(); ++i)
            if (!(T(master.data()[i]).bits == param.data()[i].bits)) master.data()[i] = A(param.data()[i]);
        auto wide_grad = HTensor<A>::empty(grad.shape());
        for (int64_t i = 0; i < grad.numel(); ++i) wide_grad.data()[i] = A(grad.data()[i]);
        adamw(master, wide_grad, m, v, h);
        for (int64_t i = 0; i < param.numel(); ++i) param.data()[i] = T(master.data()[i]);
    }
};

}  // namespace contra::ref
