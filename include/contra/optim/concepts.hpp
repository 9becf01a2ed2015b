// contra/optim/concepts.hpp — what the training loop and checkpoints need from an optimizer.
// defines: optim::Optimizer
#pragma once
#include <concepts>
#include <cstdint>
#include <string>

#include "../autograd/parameter.hpp"

namespace contra::optim {

namespace detail {
// A visitor with the signature every visit_state(f) must accept: f(name, tensor).
struct ProbeStateVisitor {
    template <class Tensor>
    void operator()(const std::string&, Tensor&) const {}
};
}  // namespace detail

// An optimizer, built over a model's parameters, updates those that received a gradient at a
// learning rate (step), clears their gradients (zero_grad), counts its updates (steps_taken,
// restored from a checkpoint with set_steps_taken) and names its state tensors for checkpoints
// (visit_state(f): f(name, tensor), e.g. "m/visual.proj"; none for a stateless optimizer).
template <class O>
concept Optimizer = Numerics<O> && requires(O& o, const O& co, double lr, std::int64_t steps) {
    o.step(lr);
    o.zero_grad();
    { co.steps_taken() } -> std::convertible_to<std::int64_t>;
    o.set_steps_taken(steps);
    o.visit_state(detail::ProbeStateVisitor{});
};

namespace detail {
// The optimizer of a checkpoint read for its weights alone.
struct NoOptimizer {
    using value_type = float;
    using backend = cpu;
    void step(double) {}
    void zero_grad() {}
    std::int64_t steps_taken() const { return 0; }
    void set_steps_taken(std::int64_t) {}
    template <class F>
    void visit_state(F&&) {}
};
}  // namespace detail

}  // namespace contra::optim
