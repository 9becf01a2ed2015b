// contra/optim/adamw.hpp — AdamW with decoupled weight decay over a model's named parameters.
// Defaults as the CLIP paper for ViTs: β = (0.9, 0.98), eps 1e-6, weight decay 0.2. No decay for
// gains, biases, embeddings (token, positional, class) and logit_scale/bias, as open_clip.
// Mixed precision: for a 16-bit model (bf16) the optimizer keeps fp32 master weights and fp32
// moments (ops::adamw_master); the model's parameters are the masters rounded, and checkpoints
// hold the masters ("master/<parameter>"), so nothing is lost between steps or runs.
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

    struct Slot {
        std::string name;
        Parameter<T, B> param;  // a handle: same value and gradient as the model's
        TensorOn<state_type, B> m, v;  // undefined while the parameter has been frozen throughout
        bool decay;
        TensorOn<state_type, B> master;  // mixed precision: the parameter in fp32 (param is it rounded)
        void allocate() {
            m = TensorOn<state_type, B>::zeros(param.shape());
            v = TensorOn<state_type, B>::zeros(param.shape());
            if constexpr (mixed_precision)
                master = to_device<device_of<B>>(cast<state_type>(to_device<cpu>(param.value())));
        }
    };

    template <class Model>
    AdamW(Model& model, AdamWOptions options = {}) : options_(options) {
        // A frozen parameter gets its moments only if it is unfrozen and receives a gradient.
        for_each_parameter(model, [&](const std::string& name, Parameter<T, B>& p) {
            Slot s{name, p, {}, {}, decays(name, p.shape()), {}};
            if (!p.frozen()) s.allocate();
            slots_.push_back(std::move(s));
        });
    }

    // One update with learning rate lr for every parameter that received a gradient, each gradient
    // first multiplied by grad_scale (gradient clipping): one ops::adamw_group call, one launch on a
    // GPU. The gradients themselves are left as they are.
    void step(double lr, double grad_scale = 1.0) {
        ++step_;
        std::vector<TensorOn<T, B>> grads;  // handles, alive for the call
        grads.reserve(slots_.size());
        for (auto& s : slots_) {
            if (!s.param.has_grad()) continue;
            if (!s.m.defined()) s.allocate();
            grads.push_back(s.param.grad());
        }
        std::vector<ops::AdamWTensor<T, B>> group;
        group.reserve(grads.size());
        for (auto& s : slots_) {
            if (!s.param.has_grad()) continue;
            TensorOn<state_type, B>* master = nullptr;
            if constexpr (mixed_precision) master = &s.master;
            group.push_back({&s.param.value(), &grads[group.size()], &s.m, &s.v, master, s.decay});
        }
        const ops::AdamWStep h{lr, options_.beta1, options_.beta2, options_.eps, options_.weight_decay, step_};
        ops::adamw_group(B{}, std::span<const ops::AdamWTensor<T, B>>(group), h, acc_t<T>(grad_scale));
    }
    void zero_grad() {
        for (auto& s : slots_) s.param.zero_grad();
    }

    // f(name, tensor) for every moment: "m/<parameter>" and "v/<parameter>"; with mixed
    // precision also every master weight, "master/<parameter>".
    template <class F>
    void visit_state(F&& f) {
        for (auto& s : slots_) {
            if (!s.m.defined()) continue;  // frozen: no state
            f("m/" + s.name, s.m);
            f("v/" + s.name, s.v);
            if constexpr (mixed_precision) f("master/" + s.name, s.master);
        }
    }

    std::int64_t steps_taken() const { return step_; }
    void set_steps_taken(std::int64_t step) { step_ = step; }
    const AdamWOptions& options() const { return options_; }
    std::vector<Slot>& slots() { return slots_; }
    const std::vector<Slot>& slots() const { return slots_; }

private:
    AdamWOptions options_;
    std::vector<Slot> slots_;
    std::int64_t step_ = 0;
};

}  // namespace contra::optim
