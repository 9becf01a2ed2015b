// contra/optim/adamw.hpp — AdamW with decoupled weight decay over a model's named parameters.
// Defaults as the CLIP paper for ViTs: β = (0.9, 0.98), eps 1e-6, weight decay 0.2. No decay for
// gains, biases, embeddings (token, positional, class) and logit_scale/bias, as open_clip.
// Mixed precision: for a 16-bit model (bf16) the optimizer keeps fp32 master weights and fp32
// moments (ops::adamw_master); the model's parameters are the masters rounded, and checkpoints
// hold the masters ("master/<parameter>"), so nothing is lost between steps or runs. Parameters the
// model itself keeps in fp32 (the loss's logit_scale) are updated in fp32 and have no master.
// The step count lives beside the state, on the model's device, so that a step decided there
// (step_gated: skipped when its loss or gradients are not finite) never waits for the host.
// defines: optim::AdamWOptions, optim::AdamW, optim::decays
#pragma once
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../autograd/parameter.hpp"
#include "../backend/ops.hpp"

namespace contra::optim {

struct AdamWOptions {
    double beta1 = 0.9, beta2 = 0.98, eps = 1e-6, weight_decay = 0.2;
};

// decays(name, shape): whether weight decay applies to this parameter.
inline bool decays(const std::string& name, const Shape& shape) {
    auto ends_with = [&](std::string_view tail) {
        return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
    };
    if (shape.rank() <= 1) return false;  // gains, biases, class_embedding, logit_scale
    return !(ends_with("positional_embedding") || ends_with("class_embedding") || ends_with("token_embedding.weight"));
}

template <class T, class B>
class AdamW {
public:
    using value_type = T;
    using backend = B;
    using state_type = acc_t<T>;                                   // the moments' (and masters') type
    static constexpr bool mixed_precision = !std::is_same_v<T, state_type>;  // bf16: fp32 masters

    // One parameter and its state. P is T, or (mixed precision) state_type for the parameters a
    // 16-bit model keeps in fp32 (its loss's logit_scale), which need no master.
    template <class P>
    struct SlotOf {
        static constexpr bool has_master = !std::is_same_v<P, state_type>;
        std::string name;
        Parameter<P, B> param;  // a handle: same value and gradient as the model's
        TensorOn<state_type, B> m, v;  // undefined while the parameter has been frozen throughout
        bool decay;
        TensorOn<state_type, B> master;  // 16-bit P: the parameter in fp32 (param is it rounded)
        void allocate() {
            m = TensorOn<state_type, B>::zeros(param.shape());
            v = TensorOn<state_type, B>::zeros(param.shape());
            if constexpr (has_master) master = to_device<device_of<B>>(cast<state_type>(to_device<cpu>(param.value())));
        }
    };
    using Slot = SlotOf<T>;
    using WideSlot = SlotOf<state_type>;

    template <class Model>
    AdamW(Model& model, AdamWOptions options = {}) : options_(options) {
        // A frozen parameter gets its moments only if it is unfrozen and receives a gradient.
        for_each_parameter(model, [&]<class P>(const std::string& name, Parameter<P, B>& p) {
            static_assert(std::is_same_v<P, T> || std::is_same_v<P, state_type>,
                          "AdamW: a parameter in neither the model's type nor its accumulation type");
            SlotOf<P> s{name, p, {}, {}, decays(name, p.shape()), {}};
            if (!p.frozen()) s.allocate();
            if constexpr (std::is_same_v<P, T>) slots_.push_back(std::move(s));
            else wide_slots_.push_back(std::move(s));
        });
    }

    // One update with learning rate lr for every parameter that received a gradient, each gradient
    // first multiplied by grad_scale (gradient clipping). The gradients themselves are left as they are.
    void step(double lr, double grad_scale = 1.0) {
        step_gated(lr, to_device<device_of<B>>(Tensor<double, cpu>::from(Shape{2}, {1.0, grad_scale})));  // an open gate
    }
    // The same update decided on the device by `gate` (ops::gate_step): when gate[0] is 0 nothing
    // changes, not even the step count; gate[1] is the gradients' factor. One ops::adamw_group call
    // per element type (one launch each on a GPU), and nothing is read back to the host.
    void step_gated(double lr, const TensorOn<double, B>& gate) {
        ops::count_update(B{}, gate, steps_);
        const ops::AdamWStep h{lr, options_.beta1, options_.beta2, options_.eps, options_.weight_decay, 0};
        update(slots_, h, gate, steps_);
        if constexpr (mixed_precision) update(wide_slots_, h, gate, steps_);
    }
    void zero_grad() {
        for (auto& s : slots_) s.param.zero_grad();
        for (auto& s : wide_slots_) s.param.zero_grad();
    }

    // f(name, tensor) for every moment: "m/<parameter>" and "v/<parameter>"; with mixed
    // precision also every master weight, "master/<parameter>".
    template <class F>
    void visit_state(F&& f) {
        const auto visit = [&](auto& slots) {
            for (auto& s : slots) {
                if (!s.m.defined()) continue;  // frozen: no state
                f("m/" + s.name, s.m);
                f("v/" + s.name, s.v);
                if constexpr (std::remove_reference_t<decltype(s)>::has_master) f("master/" + s.name, s.master);
            }
        };
        visit(slots_);
        visit(wide_slots_);
    }

    // The updates made so far (counted on the device: reading it waits for the device).
    std::int64_t steps_taken() const { return std::int64_t(to_device<cpu>(steps_)[0]); }
    void set_steps_taken(std::int64_t steps) { ops::fill(B{}, double(steps), steps_); }
    const AdamWOptions& options() const { return options_; }
    // The parameters in the model's type; wide_slots(): those a 16-bit model keeps in fp32.
    std::vector<Slot>& slots() { return slots_; }
    const std::vector<Slot>& slots() const { return slots_; }
    const std::vector<WideSlot>& wide_slots() const { return wide_slots_; }

private:
    template <class P>
    static void update(std::vector<SlotOf<P>>& slots, const ops::AdamWStep& h, const TensorOn<double, B>& gate,
                       const TensorOn<double, B>& steps) {
        std::vector<TensorOn<P, B>> grads;  // handles, alive for the call
        grads.reserve(slots.size());
        for (auto& s : slots) {
            if (!s.param.has_grad()) continue;
            if (!s.m.defined()) s.allocate();
            grads.push_back(s.param.grad());
        }
        std::vector<ops::AdamWTensor<P, B>> group;
        group.reserve(grads.size());
        for (auto& s : slots) {
            if (!s.param.has_grad()) continue;
            TensorOn<state_type, B>* master = nullptr;
            if constexpr (SlotOf<P>::has_master) master = &s.master;
            group.push_back({&s.param.value(), &grads[group.size()], &s.m, &s.v, master, s.decay});
        }
        if (!group.empty()) ops::adamw_group(B{}, std::span<const ops::AdamWTensor<P, B>>(group), h, gate, steps);
    }

    AdamWOptions options_;
    std::vector<Slot> slots_;
    std::vector<WideSlot> wide_slots_;  // mixed precision only
    TensorOn<double, B> steps_ = TensorOn<double, B>::zeros(Shape{1});  // updates made: bias correction
};

}  // namespace contra::optim
