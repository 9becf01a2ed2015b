// Gradient accumulation with cached features: k micro-batches give the gradient of one batch k
// times larger (negatives included), for InfoNCE and SigLIP; training with it repeats training
// on the whole batch.
#include <doctest/doctest.h>

#include <contra/contra.hpp>
#include <contra/train/trainer.hpp>
#include <map>
#include <numeric>

#include "../support/compare.hpp"
#include "../support/synthetic_pairs.hpp"

using namespace contra;

namespace {
using Clip64 = model::OpenAiClip<double, cpu>;
using SigLipClip64 = model::Clip<nn::OpenAiVision<double, cpu>, nn::OpenAiText<double, cpu>, loss::SigLip<double, cpu>>;

template <class Model>
std::map<std::string, Tensor<double>> gradients_of(Model& model, std::int64_t k) {
    const test::SyntheticPairs pairs;
    std::vector<std::int64_t> rows(16);
    std::iota(rows.begin(), rows.end(), 3);
    const auto batch = pairs.batch(rows, 0);
    model.zero_grad();
    Tape tape;
    train::accumulate_gradients(model, cast<double>(batch.images), batch.tokens, k, tape);
    std::map<std::string, Tensor<double>> grads;
    model.visit_parameters([&](const std::string& name, Parameter<double, cpu>& p) { grads[name] = p.grad().clone(); });
    return grads;
}

template <class Model>
void check_same_gradients() {
    Model model(model::preset("tiny"), 3);
    const auto whole = gradients_of(model, 1);
    for (std::int64_t k : {2, 4}) {
        const auto parts = gradients_of(model, k);
        for (const auto& [name, g] : whole) {
            INFO(name << " with k = " << k);
            REQUIRE(parts.at(name).defined());
            CHECK_CLOSE(parts.at(name), g, 1e-9, 1e-12);
        }
    }
}
}  // namespace

TEST_CASE("accumulation over 2 and 4 micro-batches gives the whole batch's gradient (InfoNCE)") {
    check_same_gradients<Clip64>();
}

TEST_CASE("accumulation over 2 and 4 micro-batches gives the whole batch's gradient (SigLIP)") {
    check_same_gradients<SigLipClip64>();
}

TEST_CASE("training with 4 micro-batches repeats training on the whole batch: losses and parameters") {
    auto train = [](std::int64_t accumulate) {
        Clip64 model(model::preset("tiny"), 1);
        optim::AdamW<double, cpu> opt(model);
        train::Options o;
        o.batch_size = 16;
        o.max_steps = 5;
        o.lr = 3e-3;
        o.warmup_steps = 2;
        o.accumulate = accumulate;
        std::vector<double> losses;
        train::Hooks hooks;
        hooks.on_step = [&](const train::StepRecord& r, const train::State&) { losses.push_back(r.loss); };
        train::fit(model, opt, test::SyntheticPairs{}, o, hooks);
        std::map<std::string, Tensor<double>> params;
        model.visit_parameters([&](const std::string& name, Parameter<double, cpu>& p) { params[name] = p.value().clone(); });
        return std::pair{losses, params};
    };
    const auto [whole_losses, whole_params] = train(1);
    const auto [parts_losses, parts_params] = train(4);
    REQUIRE(whole_losses.size() == 5);
    for (std::size_t i = 0; i < whole_losses.size(); ++i) CHECK(parts_losses[i] == doctest::Approx(whole_losses[i]).epsilon(1e-10));
    for (const auto& [name, p] : whole_params) {
        INFO(name);
        CHECK_CLOSE(parts_params.at(name), p, 1e-6, 1e-12);
    }
}

TEST_CASE("accumulation refuses a batch that does not split into k micro-batches") {
    Clip64 model(model::preset("tiny"), 1);
    const auto batch = test::SyntheticPairs{}.batch(std::vector<std::int64_t>{0, 1, 2, 3, 4}, 0);
    Tape tape;
    CHECK_THROWS_WITH_AS(train::accumulate_gradients(model, cast<double>(batch.images), batch.tokens, 2, tape),
                         doctest::Contains("do not split into 2 micro-batches"), Error);
}
