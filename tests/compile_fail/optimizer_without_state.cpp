// Must NOT compile: an optimizer of one's own without visit_state (what checkpoints save). The
// training loop names the unmet optim::Optimizer requirement.
#include <contra/contra.hpp>
#include <contra/train/trainer.hpp>

using namespace contra;

struct PlainSgd {
    using value_type = float;
    using backend = cpu;
    std::int64_t steps = 0;
    void step(double) { ++steps; }
    void zero_grad() {}
    std::int64_t steps_taken() const { return steps; }
    void set_steps_taken(std::int64_t s) { steps = s; }
};

struct NoPairs {
    std::int64_t size() const { return 0; }
    train::PairBatch batch(std::span<const std::int64_t>, std::int64_t) const { return {}; }
};

int main() {
    model::OpenAiClip<float, cpu> model(model::preset("tiny"));
    PlainSgd sgd;
    const auto state = train::fit(model, sgd, NoPairs{}, train::Options{}, train::Hooks{});
    return int(state.step);
}
