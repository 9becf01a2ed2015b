// A step decided on the device and steps that overlap: ops::gate_step and count_update, AdamW's
// gated update (a closed gate changes nothing, an open one is the plain update), and train::fit
// queuing step k + 1 before it reads step k — the same records, parameters and checkpoints as one
// step at a time, hooks that read the model seeing their own step, non-finite steps still skipped.
#include <doctest/doctest.h>

#include <cmath>
#include <contra/train/trainer.hpp>
#include <cstring>
#include <limits>
#include <map>

#include "../support/compare.hpp"
#include "../support/synthetic_pairs.hpp"

using namespace contra;

namespace {

template <class B>
Tensor<double, cpu> gate_of(double loss, double sum_squares, double max_norm) {
    auto gate = Tensor<double, cpu>::full(Shape{2}, -1.0);
    ops::gate_step(B{}, Tensor<float, cpu>::full(Shape{}, float(loss)), Tensor<double, cpu>::full(Shape{1}, sum_squares),
                   max_norm, gate);
    return gate;
}

template <class T, class B>
std::map<std::string, Tensor<T, cpu>> parameters(model::OpenAiClip<T, B>& model) {
    std::map<std::string, Tensor<T, cpu>> out;
    model.visit_parameters([&](const std::string& name, Parameter<T, B>& p) { out[name] = to_device<cpu>(p.value()).clone(); });
    return out;
}

template <class T>
bool same_bits(const std::map<std::string, Tensor<T, cpu>>& a, const std::map<std::string, Tensor<T, cpu>>& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [name, t] : a)
        if (std::memcmp(t.data(), b.at(name).data(), t.bytes()) != 0) return false;
    return true;
}

using Model = model::OpenAiClip<double, cpu>;  // as robustness.cpp: the same fit instantiations

double checksum(Model& model) {
    double s = 0;
    model.visit_parameters([&](const std::string&, Parameter<double, cpu>& p) {
        for (std::int64_t i = 0; i < p.numel(); ++i) s += p.value()[i] * double(i % 7 + 1);
    });
    return s;
}

// What a hook saw after one step.
struct Seen {
    std::int64_t step;
    double loss, lr, logit_scale, grad_norm;
    bool skipped;
    std::int64_t optimizer_steps;  // the optimizer's updates when the hook ran
    double model_checksum;         // when the hook reads the model; NaN otherwise
};

struct Run {
    std::vector<Seen> steps;
    std::vector<std::pair<std::int64_t, double>> checkpoints;  // (step, the model's checksum)
    std::map<std::string, Tensor<double, cpu>> final_parameters;
    train::State state;
};

// 14 steps of the tiny CLIP; the model is read after steps 4, 8, 12 and 14 (reads_model) and
// checkpointed after step 5 and 10.
template <class Source>
Run run(bool overlap, const Source& source) {
    Model model(model::preset("tiny"), 3);
    optim::AdamW<double, cpu> opt(model);
    auto options = test::resume_options(14);
    options.overlap_steps = overlap;
    const auto evaluates = [](std::int64_t step, const train::State& s) { return step % 4 == 0 || step == s.total_steps; };
    Run out;
    train::Hooks hooks;
    hooks.reads_model = evaluates;
    hooks.on_step = [&](const train::StepRecord& r, const train::State& s) {
        out.steps.push_back({r.step, r.loss, r.lr, r.logit_scale, r.grad_norm, r.skipped, opt.steps_taken(),
                             evaluates(r.step, s) ? checksum(model) : std::numeric_limits<double>::quiet_NaN()});
    };
    hooks.checkpoint_every = 5;
    hooks.on_checkpoint = [&](const train::State& s) { out.checkpoints.emplace_back(s.step, checksum(model)); };
    out.state = train::fit(model, opt, source, options, hooks);
    out.final_parameters = parameters(model);
    return out;
}

// Field by field, NaN equal to NaN (the loss of a skipped step, the checksum of a step no hook
// read the model after).
bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }
void check_same_records(const std::vector<Seen>& a, const std::vector<Seen>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("step " << a[i].step);
        CHECK(a[i].step == b[i].step);
        CHECK(same(a[i].loss, b[i].loss));
        CHECK(a[i].lr == b[i].lr);
        CHECK(same(a[i].logit_scale, b[i].logit_scale));
        CHECK(same(a[i].grad_norm, b[i].grad_norm));
        CHECK(a[i].skipped == b[i].skipped);
        CHECK(same(a[i].model_checksum, b[i].model_checksum));
    }
}

}  // namespace

TEST_CASE_TEMPLATE("gate_step: open and clipped, open and unclipped, closed for a non-finite loss or Σg²", B, reference, cpu) {
    const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
    auto g = gate_of<B>(2.0, 16.0, 1.0);  // ‖g‖ = 4 > 1
    CHECK(g[0] == 1.0);
    CHECK(g[1] == optim::clip_coefficient(4.0, 1.0));
    CHECK(g[1] == 1.0 / (4.0 + 1e-6));
    g = gate_of<B>(2.0, 16.0, 10.0);
    CHECK((g[0] == 1.0 && g[1] == 1.0));
    g = gate_of<B>(2.0, 16.0, 0.0);  // clipping off
    CHECK((g[0] == 1.0 && g[1] == 1.0));
    for (auto [loss, ss] : {std::pair{nan, 1.0}, {inf, 1.0}, {1.0, inf}, {1.0, nan}}) {
        g = gate_of<B>(loss, ss, 1.0);
        CHECK((g[0] == 0.0 && g[1] == 1.0));
    }
    auto steps = Tensor<double, cpu>::full(Shape{1}, 7.0);
    ops::count_update(B{}, gate_of<B>(1.0, 1.0, 1.0), steps);
    ops::count_update(B{}, gate_of<B>(nan, 1.0, 1.0), steps);
    CHECK(steps[0] == 8.0);
    auto wrong = Tensor<double, cpu>::empty(Shape{3});
    CHECK_THROWS_WITH_AS(ops::gate_step(B{}, Tensor<float, cpu>::full(Shape{}, 1.0f), Tensor<double, cpu>::zeros(Shape{1}), 1.0, wrong),
                         doctest::Contains("the gate [3] two"), Error);
    CHECK_THROWS_WITH_AS(ops::count_update(B{}, wrong, steps), doctest::Contains("must hold 2 and 1 values"), Error);
}

TEST_CASE("AdamW's gated update: a closed gate changes nothing, not even the count; an open one is step(lr, factor)") {
    Model gated(model::preset("tiny"), 5), plain(model::preset("tiny"), 5);
    optim::AdamW<double, cpu> gated_opt(gated), plain_opt(plain);
    const auto batch = test::SyntheticPairs{}.batch(std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}, 0);
    const auto images = cast<double>(batch.images);
    for (int step = 0; step < 3; ++step) {
        gated_opt.zero_grad();
        plain_opt.zero_grad();
        for (Model* m : {&gated, &plain}) {
            Tape tape;
            Tape::Active on(tape);
            backward(m->loss(images, batch.tokens));
        }
        const auto before = parameters(gated);
        gated_opt.step_gated(1e-2, Tensor<double, cpu>::from(Shape{2}, {0.0, 0.5}));  // closed
        CHECK(same_bits(parameters(gated), before));
        CHECK(gated_opt.steps_taken() == step);
        gated_opt.step_gated(1e-2, Tensor<double, cpu>::from(Shape{2}, {1.0, 0.5}));
        plain_opt.step(1e-2, 0.5);
        CHECK(same_bits(parameters(gated), parameters(plain)));
        CHECK(gated_opt.steps_taken() == step + 1);
        CHECK(plain_opt.steps_taken() == step + 1);
    }
    gated_opt.set_steps_taken(40);
    CHECK(gated_opt.steps_taken() == 40);
    auto no_steps = Tensor<double, cpu>::zeros(Shape{1});
    std::vector<ops::AdamWTensor<double, cpu>> none;
    CHECK_THROWS_WITH_AS(ops::adamw_group(cpu{}, std::span<const ops::AdamWTensor<double, cpu>>(none), ops::AdamWStep{},
                                          Tensor<double, cpu>::from(Shape{2}, {1.0, 1.0}), no_steps),
                         doctest::Contains("count_update comes first"), Error);
}

TEST_CASE("overlapped steps: the same records, checkpoints and weights as one step at a time") {
    const Run one_at_a_time = run(false, test::SyntheticPairs{});
    const Run overlapped = run(true, test::SyntheticPairs{});
    check_same_records(overlapped.steps, one_at_a_time.steps);
    CHECK(overlapped.checkpoints == one_at_a_time.checkpoints);
    CHECK(same_bits(overlapped.final_parameters, one_at_a_time.final_parameters));
    CHECK(overlapped.state.step == 14);
    // One step at a time, each hook runs before the next step. Overlapped, a hook that reads the
    // model does too, as does the one before a checkpoint and the last; the others run once the
    // next step has been queued (here, on the CPU, made).
    int ahead = 0;
    for (std::size_t i = 0; i < overlapped.steps.size(); ++i) {
        const Seen& s = overlapped.steps[i];
        INFO("step " << s.step);
        CHECK(one_at_a_time.steps[i].optimizer_steps == s.step);
        const bool in_step = s.step % 4 == 0 || s.step % 5 == 0 || s.step == 14;
        CHECK(s.optimizer_steps == (in_step ? s.step : s.step + 1));
        ahead += s.optimizer_steps > s.step;
    }
    CHECK(ahead == 8);  // steps 1, 2, 3, 6, 7, 9, 11 and 13
}

TEST_CASE("overlapped steps: a non-finite step is still skipped, changing nothing, and reported in order") {
    const Run one_at_a_time = run(false, test::PoisonedPairs{{}, 0, 6});
    const Run overlapped = run(true, test::PoisonedPairs{{}, 0, 6});
    check_same_records(overlapped.steps, one_at_a_time.steps);
    CHECK(same_bits(overlapped.final_parameters, one_at_a_time.final_parameters));
    CHECK(overlapped.state.skipped_steps == 1);
    REQUIRE(overlapped.steps.size() == 14);
    CHECK(overlapped.steps[6].skipped);
    CHECK(std::isnan(overlapped.steps[6].loss));
    CHECK(one_at_a_time.steps[6].optimizer_steps == 6);
    CHECK(overlapped.steps[6].optimizer_steps == 7);  // steps 1–6, and step 8, queued before step 7 was read
}
