// contra/backend/ops_optim.hpp — the op contract's optimizer primitives (see ops.hpp, which
// includes this file): AdamW, alone, on fp32 masters and over a group of tensors, and the step
// decided on the device (gate_step, count_update, the gated adamw_group).
// defines: contra::ops::{AdamWStep, adamw, adamw_master, AdamWTensor, adamw_group, gate_step, count_update}
#pragma once
#include "ops.hpp"

namespace contra::ops {

struct AdamWStep {
    double lr, beta1, beta2, eps, weight_decay;
    std::int64_t step;  // 1 for the first update (bias correction)
};

// ─── optimisation ─────────────────────────────────────────────────────────────────────────────

// adamw: one AdamW update, exactly as torch.optim.AdamW:
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
template <class B, class T>
void adamw(B, TensorOn<T, B>& param, const TensorOn<T, B>& grad, TensorOn<T, B>& m, TensorOn<T, B>& v, AdamWStep h) {
    CONTRA_CHECK(grad.numel() == param.numel() && m.numel() == param.numel() && v.numel() == param.numel(),
                 "adamw: parameter ", param.shape(), ", gradient ", grad.shape(), ", moments ", m.shape(), "/", v.shape());
    CONTRA_CHECK(h.step >= 1, "adamw: step counts from 1, got ", h.step);
    Kernels<B>::adamw(param, grad, m, v, h);
}

// adamw_master: adamw for a 16-bit parameter with fp32 master weights (mixed precision):
//   master ← float(param) where param ≠ T(master) (the parameter changed outside the optimizer:
//            clamped, loaded), then adamw on master with the moments m, v in acc_t<T> and the
//            gradient read as acc_t<T>;  param ← T(master), rounded to nearest even.
//   ensures: master, m and v are what adamw gives for float(param), float(grad) (the composite
//            twin: widen, adamw, round), and param is master rounded.
template <class B, class T>
    requires(!std::same_as<T, acc_t<T>>)
void adamw_master(B, TensorOn<acc_t<T>, B>& master, TensorOn<T, B>& param, const TensorOn<T, B>& grad,
                  TensorOn<acc_t<T>, B>& m, TensorOn<acc_t<T>, B>& v, AdamWStep h) {
    CONTRA_CHECK(master.numel() == param.numel() && grad.numel() == param.numel() && m.numel() == param.numel() &&
                     v.numel() == param.numel(),
                 "adamw_master: master ", master.shape(), ", parameter ", param.shape(), ", gradient ", grad.shape(),
                 ", moments ", m.shape(), "/", v.shape());
    CONTRA_CHECK(h.step >= 1, "adamw_master: step counts from 1, got ", h.step);
    Kernels<B>::adamw_master(master, param, grad, m, v, h);
}

// One parameter of a grouped AdamW update (adamw_group): the tensors adamw, or adamw_master when
// `master` is given (16-bit parameters), reads and writes, and whether the step's weight decay
// applies to it.
template <class T, class B>
struct AdamWTensor {
    TensorOn<T, B>* param;
    const TensorOn<T, B>* grad;
    TensorOn<acc_t<T>, B>* m;
    TensorOn<acc_t<T>, B>* v;
    TensorOn<acc_t<T>, B>* master;  // null: no master weights (T is its own accumulation type)
    bool decay;                     // false: no weight decay for this tensor (gains, biases, embeddings)
};

namespace detail {
// The tensors of a grouped AdamW update match in size, and have masters exactly when 16-bit.
template <class B, class T>
void check_adamw_group(std::span<const AdamWTensor<T, B>> tensors) {
    constexpr bool sixteen_bit = !std::same_as<T, acc_t<T>>;
    for (const auto& t : tensors) {
        const std::int64_t n = t.param->numel();
        CONTRA_CHECK(t.grad->numel() == n && t.m->numel() == n && t.v->numel() == n && (!t.master || t.master->numel() == n),
                     "adamw_group: parameter ", t.param->shape(), ", gradient ", t.grad->shape(), ", moments ",
                     t.m->shape(), "/", t.v->shape());
        CONTRA_CHECK((t.master != nullptr) == sixteen_bit, "adamw_group: master weights go with ",
                     "16-bit parameters, and only with them (", dtype_name(dtype_of<T>), ")");
    }
}
}  // namespace detail

// adamw_group: every tensor's AdamW step at once, its gradient first multiplied by grad_scale and
// rounded to T (gradient clipping folded in; the gradient itself is not changed). On a GPU one launch
// covers every tensor.
//   ensures: the bits of the composite twin: per tensor, g = affine(grad, grad_scale, 0) (skipped
//            when grad_scale is 1), then adamw or adamw_master with h, its weight decay set to 0
//            for the tensors that do not decay.
template <class B, class T>
void adamw_group(B, std::span<const AdamWTensor<T, B>> tensors, AdamWStep h, acc_t<T> grad_scale) {
    CONTRA_CHECK(h.step >= 1, "adamw_group: step counts from 1, got ", h.step);
    constexpr bool sixteen_bit = !std::same_as<T, acc_t<T>>;
    detail::check_adamw_group(tensors);
    if constexpr (std::same_as<device_of<B>, cpu>) {  // host backends: the composite twin itself
        const bool scale = grad_scale != acc_t<T>(1);
        std::int64_t largest = 0;  // one buffer for every scaled gradient
        for (const auto& t : tensors) largest = std::max(largest, t.grad->numel());
        const auto buffer = scale ? TensorOn<T, B>::empty(Shape{largest}) : TensorOn<T, B>();
        for (const auto& t : tensors) {
            TensorOn<T, B> scaled;
            if (scale) {
                scaled = buffer.rows(0, t.grad->numel()).reshape(t.grad->shape());
                affine(B{}, *t.grad, grad_scale, acc_t<T>(0), scaled);
            }
            const TensorOn<T, B>& g = scale ? scaled : *t.grad;
            AdamWStep own = h;
            if (!t.decay) own.weight_decay = 0;
            if constexpr (!sixteen_bit) Kernels<B>::adamw(*t.param, g, *t.m, *t.v, own);
            else Kernels<B>::adamw_master(*t.master, *t.param, g, *t.m, *t.v, own);
        }
    } else {
        Kernels<B>::adamw_group(tensors, h, grad_scale);
    }
}

// ─── an optimizer step decided on the device ─────────────────────────────────────────────────
// A training step need not wait for the device to learn whether, and how strongly, to update:
// gate_step turns the loss and Σg² it computed into a gate [2] on the device, count_update
// advances the optimizer's step count by it, and the gated adamw_group reads both there.
//   gate[0]: 1 to update, 0 to change nothing (the loss or a gradient is not finite)
//   gate[1]: the factor on every gradient (gradient clipping); 1 when the step is skipped

// gate_step(loss, sum_squares, max_norm, gate): gate[0] = 1 when loss[0] and sum_squares[0] are
// both finite; gate[1] = max_norm / (‖g‖ + 1e-6) with ‖g‖ = √Σg² when that is below 1, else 1 (and
// 1 when max_norm ≤ 0 or gate[0] is 0): optim::clip_coefficient's arithmetic.
//   requires: loss and sum_squares one element each; gate [2]
template <class B, class L>
void gate_step(B, const TensorOn<L, B>& loss, const TensorOn<double, B>& sum_squares, double max_norm,
               TensorOn<double, B>& gate) {
    CONTRA_CHECK(loss.numel() == 1 && sum_squares.numel() == 1 && gate.numel() == 2, "gate_step: loss ", loss.shape(),
                 " and sum of squares ", sum_squares.shape(), " must hold one value each, the gate ", gate.shape(), " two");
    Kernels<B>::gate_step(loss, sum_squares, max_norm, gate);
}

// count_update(gate, steps): steps[0] += gate[0] (the optimizer's updates, counted on the device).
//   requires: gate [2], steps [1]
template <class B>
void count_update(B, const TensorOn<double, B>& gate, TensorOn<double, B>& steps) {
    CONTRA_CHECK(gate.numel() == 2 && steps.numel() == 1, "count_update: gate ", gate.shape(), " and steps ",
                 steps.shape(), " must hold 2 and 1 values");
    Kernels<B>::count_update(gate, steps);
}

// adamw_group(tensors, h, gate, steps), gated: when gate[0] is 1, adamw_group(tensors, h with
// step = steps[0], gate[1]); when it is 0, nothing changes. h.step is not read: count_update
// comes first. Nothing is read back to the host.
//   ensures: host backends: the bits of the ungated adamw_group. CUDA: its bias corrections are
//            computed on the device (pow in double), the rest is the ungated kernel's arithmetic.
template <class B, class T>
void adamw_group(B, std::span<const AdamWTensor<T, B>> tensors, AdamWStep h, const TensorOn<double, B>& gate,
                 const TensorOn<double, B>& steps) {
    CONTRA_CHECK(gate.numel() == 2 && steps.numel() == 1, "adamw_group: gate ", gate.shape(), " and steps ",
                 steps.shape(), " must hold 2 and 1 values");
    if constexpr (std::same_as<device_of<B>, cpu>) {
        if (gate.data()[0] == 0) return;
        CONTRA_CHECK(steps.data()[0] >= 1, "adamw_group: an open gate with ", steps.data()[0],
                     " steps counted (count_update comes first)");
        h.step = std::int64_t(steps.data()[0]);
        adamw_group(B{}, tensors, h, acc_t<T>(gate.data()[1]));
    } else {
        detail::check_adamw_group(tensors);
        Kernels<B>::adamw_group_gated(tensors, h, gate, steps);
    }
}

}  // namespace contra::ops
