// contra/autograd/tape.hpp — the linear tape: one step's differentiable ops, in creation order.
// defines: contra::Tape, contra::NoGrad, contra::EnableGrad, contra::grad_enabled, contra::step_tensor
//
// Ops run eagerly. While a Tape is active on this thread (Tape::Active), every differentiable op
// whose inputs need a gradient appends one node: a closure holding exactly the tensors its
// backward reads. Creation order is already a topological order, so backward is a reverse loop.
// Activations and gradients come from the tape's arena, which reset() recycles wholesale.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
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

// EnableGrad: within its scope ops record again, even inside a NoGrad scope or a backward pass
// (activation checkpointing recomputes a block's forward on a tape of its own during backward).
class EnableGrad {
public:
    EnableGrad() : previous_(detail::grad_mode()) { detail::grad_mode() = true; }
    ~EnableGrad() { detail::grad_mode() = previous_; }
    EnableGrad(const EnableGrad&) = delete;
    EnableGrad& operator=(const EnableGrad&) = delete;

private:
    bool previous_;
};

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

    // note_input(slot): the node about to be pushed reads the variable owning `slot`. The first
    // node to read a persistent variable (a parameter) is the last whose backward adds to its
    // gradient: once that node has run, the parameter's gradient is final (see first_use).
    void note_input(const void* slot) { first_use_.try_emplace(slot, nodes_.size()); }
    // first_use(slot): the index of the first node that read it this step, or -1.
    std::ptrdiff_t first_use(const void* slot) const {
        const auto it = first_use_.find(slot);
        return it == first_use_.end() ? -1 : std::ptrdiff_t(it->second);
    }

    // after_node(f): f(i) runs after node i's backward during the next backward pass (nodes run
    // from the newest, size() − 1, down to 0); data-parallel training starts gradient reductions
    // from it while backward goes on. Cleared when that pass ends.
    void after_node(std::function<void(std::size_t)> f) { after_node_ = std::move(f); }

    // Runs every node's backward, newest first. Seeding the output gradient is the caller's job
    // (see backward() in var.hpp).
    void run_backward() {
        NoGrad no_record;  // backward computations are never themselves recorded
        for (std::size_t i = nodes_.size(); i-- > 0;) {
            nodes_[i]();
            if (after_node_) after_node_(i);
        }
        nodes_.clear();
        after_node_ = nullptr;
    }

    // Forget the nodes and recycle the arena: every tensor allocated during the step is dead.
    //   requires: nothing from this step is used afterwards (clone() what must survive).
    void reset() {
        nodes_.clear();
        first_use_.clear();
        after_node_ = nullptr;
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
    std::unordered_map<const void*, std::size_t> first_use_;  // persistent slots → first reading node
    std::function<void(std::size_t)> after_node_;
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
