// Runs that survive: exact resume after a SIGKILL, non-finite steps skipped or stopping the run,
// the logit_scale clamp, and bit-identical results run to run.
#include <doctest/doctest.h>

#include <contra/contra.hpp>
#include <contra/io/checkpoint.hpp>
#include <contra/train/trainer.hpp>
#include <filesystem>
#include <map>

#include "../support/compare.hpp"
#include "../support/spawn.hpp"
#include "../support/synthetic_pairs.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {
using Model = model::OpenAiClip<double, cpu>;

std::map<std::string, Tensor<double>> parameters(Model& model) {
    std::map<std::string, Tensor<double>> out;
    model.visit_parameters([&](const std::string& name, Parameter<double, cpu>& p) { out[name] = p.value().clone(); });
    return out;
}
using test::PoisonedPairs;
}  // namespace

TEST_CASE("2k steps, and k steps + SIGKILL + resume for k steps, end with bit-identical parameters") {
    const std::int64_t k = 5;
    const auto dir = fs::temp_directory_path() / ("contra-resume-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const pid_t pid = test::spawn({test::worker_path(), "train", dir.string(), std::to_string(2 * k), std::to_string(k),
                                   std::to_string(num_threads())});
    REQUIRE(pid > 0);
    const int status = test::wait_for(pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);

    Model resumed(model::preset("tiny"), 99);  // other initial values: everything must come from the checkpoint
    optim::AdamW<double, cpu> resumed_opt(resumed);
    const auto meta = io::load_checkpoint(io::newest_checkpoint(dir), resumed, &resumed_opt);
    train::State state;
    state.step = std::stoll(meta.at("step"));
    state.total_steps = std::stoll(meta.at("total_steps"));
    REQUIRE(state.step == k);
    train::fit(resumed, resumed_opt, test::SyntheticPairs{}, test::resume_options(2 * k), {}, state);

    Model straight(model::preset("tiny"), 3);
    optim::AdamW<double, cpu> straight_opt(straight);
    train::fit(straight, straight_opt, test::SyntheticPairs{}, test::resume_options(2 * k), {});
    const auto a = parameters(straight), b = parameters(resumed);
    for (const auto& [name, p] : a) {
        INFO(name);
        CHECK(test::max_abs_diff(p, b.at(name)) == 0.0);
    }
    fs::remove_all(dir);
}

TEST_CASE("the same seed and thread count give bit-identical parameters run to run") {
    auto run = [] {
        Model model(model::preset("tiny"), 3);
        optim::AdamW<double, cpu> opt(model);
        train::fit(model, opt, test::SyntheticPairs{}, test::resume_options(6), {});
        return parameters(model);
    };
    const auto a = run(), b = run();
    for (const auto& [name, p] : a) CHECK(test::max_abs_diff(p, b.at(name)) == 0.0);
}

TEST_CASE("a non-finite step is skipped (no update, counted, reported) or stops the run, as asked") {
    Model model(model::preset("tiny"), 3);
    optim::AdamW<double, cpu> opt(model);
    auto o = test::resume_options(4);
    std::vector<bool> skipped;
    std::map<std::string, Tensor<double>> before_step_3, after_step_3;
    train::Hooks hooks;
    hooks.on_step = [&](const train::StepRecord& r, const train::State&) {
        skipped.push_back(r.skipped);
        if (r.step == 2) before_step_3 = parameters(model);
        if (r.step == 3) after_step_3 = parameters(model);
    };
    const auto state = train::fit(model, opt, PoisonedPairs{{}, 0, 2}, o, hooks);
    CHECK(state.skipped_steps == 1);
    CHECK(skipped == std::vector<bool>{false, false, true, false});
    for (const auto& [name, p] : before_step_3) CHECK(test::max_abs_diff(p, after_step_3.at(name)) == 0.0);

    Model again(model::preset("tiny"), 3);
    optim::AdamW<double, cpu> again_opt(again);
    o.on_nonfinite = train::NonFinite::stop;
    CHECK_THROWS_WITH_AS(train::fit(again, again_opt, PoisonedPairs{{}, 0, 2}, o, {}),
                         doctest::Contains("step 3 had a non-finite loss or gradient"), Error);
}

TEST_CASE("a logit_scale forced above ln 100 is clamped back after the step") {
    Model model(model::preset("tiny"), 3);
    optim::AdamW<double, cpu> opt(model);
    model.loss_fn.logit_scale.value()[0] = 10.0;  // e^10 ≈ 22026, far above the clamp
    train::fit(model, opt, test::SyntheticPairs{}, test::resume_options(1), {});
    CHECK(model.loss_fn.logit_scale.value()[0] == doctest::Approx(std::log(100.0)));
}
