// contra/autograd/tape.hpp — the linear tape: one step's differentiable ops, in creation order.
// defines: contra::Tape, contra::NoGrad, contra::grad_enabled, contra::step_tensor
//
// Ops run eagerly. While a Tape is active on this thread (Tape::Active), every differentiable op
// whose inputs need a gradient appends one node: a closure holding exactly the tensors its
// backward reads. Creation order is already a topological order, so backward is a reverse loop.
// Activations and gradients come from the tape's arena, which reset() recycles wholesale.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "../core/arena.hpp"
#include "../core/tensor.hpp"

namespace contra {

class Tape;

namespace detail {
inline Tape*& active_tape() {
    thread_local Tape* tape = nullptr;
    return tape;
}
inline bool& grad_mode() {
    thread_local bool enabled = true;
    return enabled;
}
}  // namespace detail

// grad_enabled(): whether differentiable ops record right now (an active tape, no NoGrad scope).
inline bool grad_enabled() { return detail::active_tape() != nullptr && detail::grad_mode(); }

// NoGrad: within its scope nothing is recorded (evaluation, parameter updates).
class NoGrad {
public:
    NoGrad() : previous_(detail::grad_mode()) { detail::grad_mode() = false; }
    ~NoGrad() { detail::grad_mode() = previous_; }
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;

private:
    bool previous_;
};

class Tape {
public:
    Tape() = default;
    Tape(const Tape&) = delete;
    Tape& operator=(const Tape&) = delete;
    ~Tape() {
        if (detail::active_tape() == this) detail::active_tape() = nullptr;
    }

    // Active: makes this tape the one ops record on (on this thread) for the scope's lifetime.
    class Active {
    public:
        explicit Active(Tape& tape) : previous_(detail::active_tape()) { detail::active_tape() = &tape; }
        ~Active() { detail::active_tape() = previous_; }
        Active(const Active&) = delete;
        Active& operator=(const Active&) = delete;

    private:
        Tape* previous_;
    };

    static Tape* active() { return detail::active_tape(); }

    void push(std::function<void()> backward_step) { nodes_.push_back(std::move(backward_step)); }
    std::size_t size() const { return nodes_.size(); }

    // Runs every node's backward, newest first. Seeding the output gradient is the caller's job
    // (see backward() in var.hpp).
    void run_backward() {
        NoGrad no_record;  // backward computations are never themselves recorded
        for (std::size_t i = nodes_.size(); i-- > 0;) nodes_[i]();
        nodes_.clear();
    }

    // Forget the nodes and recycle the arena: every tensor allocated during the step is dead.
    //   requires: nothing from this step is used afterwards (clone() what must survive).
    void reset() {
        nodes_.clear();
        host_arena_.reset();
        if (reset_device_arena_) reset_device_arena_();
    }

    template <class D>
    Arena<D>& arena() {
        if constexpr (std::same_as<D, cpu>) {
            return host_arena_;
        } else {
            // Held type-erased so that CPU-only programs never instantiate CUDA memory code.
            if (!device_arena_) {
                auto arena = std::make_shared<Arena<cuda>>();
                reset_device_arena_ = [raw = arena.get()] { raw->reset(); };
                device_arena_ = arena;
            }
            return *static_cast<Arena<cuda>*>(device_arena_.get());
        }
    }
    std::size_t host_peak_bytes() const { return host_arena_.peak_bytes(); }

private:
    std::vector<std::function<void()>> nodes_;
    Arena<cpu> host_arena_;
    std::shared_ptr<void> device_arena_;
    std::function<void()> reset_device_arena_;
};

// step_tensor<T, D>(shape): an uninitialised tensor for an activation or temporary: from the
// active tape's arena when there is one, from the heap otherwise.
template <class T, class D>
Tensor<T, D> step_tensor(const Shape& shape) {
    if (Tape* tape = Tape::active()) return Tensor<T, D>::empty(shape, tape->arena<D>());
    return Tensor<T, D>::empty(shape);
}

}  // namespace contra
