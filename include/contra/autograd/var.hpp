// contra/autograd/var.hpp — Var<T, B>: a value tensor and the slot its gradient accumulates in.
// defines: contra::GradSlot, contra::Var, contra::record, contra::backward, contra::leaf
#pragma once
#include <memory>
#include <utility>

#include "../backend/ops.hpp"
#include "tape.hpp"

namespace contra {

// GradSlot: where the gradient of one variable accumulates during backward.
//   - A step slot (intermediate values) takes the first gradient by handle, no copy, and lives
//     in the tape's arena; it is released as soon as its node's backward has run.
//   - A persistent slot (parameters, leaves the caller keeps) owns heap memory that survives
//     Tape::reset(); `fresh` marks "no gradient yet in this step" so zero_grad costs nothing.
template <class T, class D>
struct GradSlot {
    Tensor<T, D> grad;
    bool persistent = false;
    bool fresh = true;       // persistent: nothing accumulated since zero_grad()
    bool borrowed = false;   // step slot: `grad` is a handle shared with another variable
    bool frozen = false;     // persistent: a frozen parameter takes no gradient (Parameter::freeze)

    bool has_grad() const { return persistent ? !fresh : grad.defined(); }
    void zero_grad() { fresh = true; }
    void release() {
        if (!persistent) grad = Tensor<T, D>();
    }

    // Adds g to the gradient. `shareable` says g may be kept by handle (nobody else writes it).
    template <class B>
    void accumulate(B, const Tensor<T, D>& g, bool shareable = true) {
        if (persistent) {
            if (!grad.defined() || grad.numel() != g.numel()) grad = Tensor<T, D>::empty(g.shape());
            if (fresh) copy(g, grad);
            else ops::axpy(B{}, acc_t<T>(1), g, grad);
            fresh = false;
            return;
        }
        if (!grad.defined()) {
            grad = g;
            borrowed = !shareable;
            return;
        }
        own();
        ops::axpy(B{}, acc_t<T>(1), g, grad);
    }

    // Never write into someone else's tensor: take a private copy first.
    void own() {
        if (!borrowed) return;
        auto mine = step_tensor<T, D>(grad.shape());
        copy(grad, mine);
        grad = mine;
        borrowed = false;
    }

    // Where a backward op that can accumulate by itself (gemm, sum with beta) should write:
    // returns the tensor and beta (0: overwrite, 1: add to it).
    template <class B>
    std::pair<Tensor<T, D>, acc_t<T>> destination(B, const Shape& shape) {
        if (persistent) {
            if (!grad.defined() || grad.numel() != shape.numel()) grad = Tensor<T, D>::empty(shape);
            const acc_t<T> beta = fresh ? 0 : 1;
            fresh = false;
            return {grad.reshape(shape), beta};
        }
        if (!grad.defined()) {
            grad = step_tensor<T, D>(shape);
            borrowed = false;
            return {grad, 0};
        }
        own();
        return {grad.reshape(shape), 1};
    }
};

// Var<T, B>: a tensor in a differentiable computation on backend B.
//   - value(): the forward result.
//   - requires_grad(): whether gradients flow to it (it has a slot, not frozen).
//   - grad(): the accumulated gradient after backward(); undefined if none reached it.
template <class T, class B = cpu>
class Var {
public:
    using value_type = T;
    using backend = B;
    using device = device_of<B>;
    using TensorT = Tensor<T, device>;
    using Slot = GradSlot<T, device>;

    Var() = default;
    explicit Var(TensorT value, std::shared_ptr<Slot> slot = nullptr) : value_(std::move(value)), slot_(std::move(slot)) {}

    const TensorT& value() const { return value_; }
    TensorT& value() { return value_; }
    const Shape& shape() const { return value_.shape(); }
    std::int64_t numel() const { return value_.numel(); }
    bool requires_grad() const { return slot_ != nullptr && !slot_->frozen; }
    const std::shared_ptr<Slot>& slot() const { return slot_; }

    bool has_grad() const { return slot_ && slot_->has_grad(); }
    TensorT grad() const { return has_grad() ? slot_->grad.reshape(shape()) : TensorT(); }

    // Called by backward closures: add g (shape of this Var) to this variable's gradient.
    void accumulate(const TensorT& g, bool shareable = true) const {
        if (requires_grad()) slot_->accumulate(B{}, g.reshape(shape()), shareable);
    }
    // A view of the same Var with another shape; gradients flow through unchanged.
    Var reshape(const Shape& s) const;

private:
    TensorT value_;
    std::shared_ptr<Slot> slot_;
};

// leaf(value, requires_grad): a variable that gradients stop at (inputs, gradcheck arguments).
// Its gradient lives on the heap and survives Tape::reset().
template <class B = cpu, class T>
Var<T, B> leaf(TensorOn<T, B> value, bool requires_grad = true) {
    if (!requires_grad) return Var<T, B>(std::move(value));
    auto slot = std::make_shared<GradSlot<T, device_of<B>>>();
    slot->persistent = true;
    return Var<T, B>(std::move(value), std::move(slot));
}

template <class... V>
bool any_requires_grad(const V&... inputs) {
    return (inputs.requires_grad() || ...);
}

// record(value, backward_fn, inputs...): the result Var of a differentiable op.
// When the tape is recording and some input needs a gradient, the result gets a slot and the tape
// gets a node that calls backward_fn(dresult) once a gradient has reached the result.
//   requires: backward_fn captures (by value) only what its backward reads.
template <class T, class B, class F, class... Inputs>
Var<T, B> record(TensorOn<T, B> value, F&& backward_fn, const Inputs&... inputs) {
    if (!grad_enabled() || !any_requires_grad(inputs...)) return Var<T, B>(std::move(value));
    auto slot = std::make_shared<GradSlot<T, device_of<B>>>();
    const Shape shape = value.shape();
    Tape* tape = Tape::active();
    auto note = [tape](const auto& input) {
        if (input.requires_grad() && input.slot()->persistent) tape->note_input(input.slot().get());
    };
    (note(inputs), ...);
    tape->push([slot, shape, fn = std::forward<F>(backward_fn)]() mutable {
        if (!slot->has_grad()) return;
        const TensorOn<T, B> dresult = slot->grad.reshape(shape);
        fn(dresult);
        slot->release();
    });
    return Var<T, B>(std::move(value), std::move(slot));
}

template <class T, class B>
Var<T, B> Var<T, B>::reshape(const Shape& s) const {
    Var self = *this;
    return record<T, B>(value_.reshape(s), [self](const TensorT& g) { self.accumulate(g, false); }, *this);
}

// backward(loss): gradients of a one-element loss with respect to everything on the active
// tape, accumulated into the slots of every variable that requires one.
//   requires: an active tape that recorded `loss`.
template <class T, class B>
void backward(const Var<T, B>& loss) {
    CONTRA_CHECK(loss.numel() == 1, "backward: the loss must have one element, got shape ", loss.shape(),
                 " (use backward(output, seed) for others)");
    auto seed = step_tensor<T, device_of<B>>(loss.shape());
    ops::fill(B{}, acc_t<T>(1), seed);
    backward(loss, seed);
}

// backward(output, seed): as above, starting from dOutput = seed (same shape as output).
template <class T, class B>
void backward(const Var<T, B>& output, const TensorOn<T, B>& seed) {
    Tape* tape = Tape::active();
    CONTRA_CHECK(tape != nullptr, "backward: no active tape (create a Tape and a Tape::Active scope before the forward pass)");
    CONTRA_CHECK(output.requires_grad(), "backward: the output does not depend on anything that requires a gradient");
    CONTRA_CHECK(seed.numel() == output.numel(), "backward: seed ", seed.shape(), " does not match output ", output.shape());
    output.slot()->accumulate(B{}, seed.reshape(output.shape()), false);
    tape->run_backward();
}

}  // namespace contra
