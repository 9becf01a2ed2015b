// examples/variants/new_optimizer.cpp — a new optimizer: Lion (Chen et al., 2023, "Symbolic
// Discovery of Optimization Algorithms"). For a parameter p with gradient g and momentum m:
//   c = β1·m + (1 − β1)·g;   p ← p − lr·(sign(c) + λ·p);   m ← β2·m + (1 − β2)·g
// It finds the model's parameters by the walk AdamW uses (for_each_parameter), decays the same ones
// (optim::decays), and trains a tiny CLIP; one parameter's update is checked by hand. It satisfies
// optim::Optimizer, so train::fit and run::train take it as they take AdamW.
#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>
#include <contra/train/trainer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace my {
using namespace contra;

struct LionOptions {
    double beta1 = 0.9, beta2 = 0.99, weight_decay = 0.2;
};

template <class T, class B>
class Lion {
public:
    using value_type = T;  // optim::Optimizer asks for value_type, backend, step(lr), zero_grad(),
    using backend = B;     // steps_taken(), set_steps_taken(n) and visit_state(f)
    struct Slot {
        std::string name;
        Parameter<T, B> param;  // a handle: the same value and gradient as the model's
        Tensor<T, cpu> m;           // the momentum (kept on the host: the update below is a host loop)
        bool decay;
    };

    template <class Model>
    explicit Lion(Model& model, LionOptions options = {}) : options_(options) {
        for_each_parameter(model, [&](const std::string& name, Parameter<T, B>& p) {
            slots_.push_back(Slot{name, p, Tensor<T, cpu>::zeros(p.shape()), optim::decays(name, p.shape())});
        });
    }

    // One update with learning rate lr for every parameter that received a gradient.
    void step(double lr) {
        ++steps_;
        const double b1 = options_.beta1, b2 = options_.beta2;
        for (auto& s : slots_) {
            if (!s.param.has_grad()) continue;
            auto p = to_device<cpu>(s.param.value());
            const auto g = to_device<cpu>(s.param.grad());
            const double decay = s.decay ? options_.weight_decay : 0.0;
            for (std::int64_t i = 0; i < p.numel(); ++i) {
                const double c = b1 * double(s.m[i]) + (1 - b1) * double(g[i]);
                const double sign = double((c > 0) - (c < 0));
                p[i] = T(double(p[i]) - lr * (sign + decay * double(p[i])));
                s.m[i] = T(b2 * double(s.m[i]) + (1 - b2) * double(g[i]));
            }
            copy(p, s.param.value());
        }
    }
    void zero_grad() {
        for (auto& s : slots_) s.param.zero_grad();
    }
    // What a checkpoint saves ("m/<parameter>"), and the update count it restores.
    template <class F>
    void visit_state(F&& f) {
        for (auto& s : slots_) f("m/" + s.name, s.m);
    }
    std::int64_t steps_taken() const { return steps_; }
    void set_steps_taken(std::int64_t steps) { steps_ = steps; }

    Slot& slot(const std::string& name) {
        for (auto& s : slots_)
            if (s.name == name) return s;
        throw Error("Lion: no parameter named " + name);
    }

private:
    LionOptions options_;
    std::vector<Slot> slots_;
    std::int64_t steps_ = 0;
};

// The same batch at every step: a train::PairSource of eight pairs.
struct OneBatch {
    train::PairBatch pairs;
    std::int64_t size() const { return pairs.images.size(0); }
    train::PairBatch batch(std::span<const std::int64_t>, std::int64_t) const { return pairs; }
};
}  // namespace my

using namespace contra;

int main() {
    model::OpenAiClip<float, cpu> model(model::preset("tiny"), /*seed=*/1);
    my::Lion<float, cpu> optimizer(model);
    Rng rng(7);
    auto images = Tensor<float>::empty(Shape{8, 3, 8, 8});
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = float(rng.normal());
    auto tokens = Tensor<ops::Index>::zeros(Shape{8, 6});
    for (std::int64_t i = 0; i < 8; ++i)
        for (std::int64_t t = 0; t < 5; ++t) tokens[i * 6 + t] = ops::Index(t == 4 ? 23 : rng.below(23));

    const double lr = 1e-3, b1 = 0.9, b2 = 0.99, decay = 0.2;  // LionOptions' defaults
    auto& watched = optimizer.slot("visual.proj");             // [W, E], decayed
    const std::int64_t at = 5;                                 // the element followed by hand
    double first = 0, last = 0, worst = 0;
    for (int step = 0; step < 30; ++step) {
        Tape tape;
        Tape::Active recording(tape);
        optimizer.zero_grad();
        auto loss = model.loss(images, tokens);
        backward(loss);
        // The update of one element, by hand, from the values before the step.
        const double p = watched.param.value()[at], g = watched.param.grad()[at], m = watched.m[at];
        const double c = b1 * m + (1 - b1) * g;
        const double expected_p = p - lr * ((c > 0 ? 1 : c < 0 ? -1 : 0) + decay * p);
        const double expected_m = b2 * m + (1 - b2) * g;
        optimizer.step(lr);
        const double new_p = watched.param.value()[at], new_m = watched.m[at];
        worst = std::max({worst, std::abs(new_p - expected_p), std::abs(new_m - expected_m)});
        if (step == 1)
            std::printf("step 2, visual.proj[%lld]: p %.7f, g %.3e, m %.3e -> c %.3e, p %.7f (by hand %.7f), "
                        "m %.3e (by hand %.3e)\n",
                        (long long)at, p, g, m, c, new_p, expected_p, new_m, expected_m);
        model.clamp_parameters();
        (step == 0 ? first : last) = loss.value().item();
    }
    std::printf("Lion on the tiny CLIP: loss %.4f -> %.4f; largest difference from the hand update %.2g\n", first, last,
                worst);

    // Lion is an optim::Optimizer, so train::fit (and run::train) take it like AdamW.
    static_assert(optim::Optimizer<my::Lion<float, cpu>>);
    train::Options options;
    options.batch_size = 8, options.max_steps = 20, options.lr = lr, options.warmup_steps = 0;
    double fit_last = 0;
    train::Hooks hooks;
    hooks.on_step = [&](const train::StepRecord& r, const train::State&) { fit_last = r.loss; };
    const auto state = train::fit(model, optimizer, my::OneBatch{{images, tokens}}, options, hooks);
    std::printf("train::fit with Lion: %lld more steps, loss %.4f (%lld updates in all)\n", (long long)state.step, fit_last,
                (long long)optimizer.steps_taken());
    return worst < 1e-6 && last < first && fit_last < first && optimizer.steps_taken() == 50 ? 0 : 1;
}
