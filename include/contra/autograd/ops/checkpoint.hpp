// contra/autograd/ops/checkpoint.hpp — activation checkpointing: run a function of one variable
// without keeping its intermediate activations, and recompute them when backward needs them.
// defines: ad::checkpoint
#pragma once
#include "common.hpp"

namespace contra::ad {

// checkpoint(f, x, owner): f(x), recorded as one node that saves only x. Its backward runs f
// again on a tape of its own and backpropagates through it: the gradients reaching x and the
// parameters of `owner` (persistent, so they accumulate as usual) are those of f(x) recorded
// directly; f's activations are held only while its backward runs.
//   requires: f is deterministic (the recomputation gives the same values) and reads no Var
//             that needs a gradient other than x and owner's parameters (visit_parameters).
template <class F, class T, class B, class Module>
Var<T, B> checkpoint(F f, const Var<T, B>& x, Module& owner) {
    Var<T, B> anchor;  // some parameter that needs a gradient: the node is recorded even if x needs none
    if (grad_enabled())
        owner.visit_parameters([&](const std::string&, Var<T, B>& p) {
            if (!p.requires_grad()) return;
            Tape::active()->note_input(p.slot().get());  // the node about to be recorded reads it
            if (!anchor.requires_grad()) anchor = p;
        }, "");
    Var<T, B> y;
    {
        NoGrad not_recorded;
        y = f(x);
    }
    return record<T, B>(y.value(), [f, x](const TensorOn<T, B>& g) {
        Tape recompute;
        auto input = leaf<B>(x.value(), x.requires_grad());
        {
            Tape::Active on(recompute);
            EnableGrad recording;
            const Var<T, B> output = f(input);
            backward(output, g);
        }
        if (x.requires_grad() && input.has_grad()) x.accumulate(input.grad());
    }, x, anchor);
}

}  // namespace contra::ad
