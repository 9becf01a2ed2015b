// Data parallelism over MPI (2 ranks): training with 2 ranks of batch B is training one process
// with batch 2B — losses and parameters — for InfoNCE with the global and the local loss and for
// SigLIP; the gradient reduction starts during backward; replicas stay identical.
#include <doctest/doctest.h>

#include <contra/contra.hpp>
#include <contra/dist/mpi.hpp>
#include <contra/dist/gather.hpp>
#include <contra/train/trainer.hpp>

#include "../support/compare.hpp"
#include "../support/synthetic_pairs.hpp"

using namespace contra;

namespace {
using Clip64 = model::OpenAiClip<double, cpu>;
using SigLipClip64 = model::Clip<nn::OpenAiVision<double, cpu>, nn::OpenAiText<double, cpu>, loss::SigLip<double, cpu>>;

struct Run {
    std::vector<double> losses;
    std::map<std::string, Tensor<double>> params;
};

// Five steps from seed 7 with `batch` pairs per process; comm: null for one process.
template <class Model>
Run train_five_steps(std::int64_t batch, dist::Communicator* comm, bool local_loss) {
    Model model(model::preset("tiny"), 7);
    if (comm) model.loss_fn.gather = dist::gather_features<double, cpu>(*comm, local_loss);
    optim::AdamW<double, cpu> opt(model);
    train::Options o;
    o.batch_size = batch;
    o.max_steps = 5;
    o.lr = 3e-3;
    o.warmup_steps = 2;
    o.seed = 2;
    o.comm = comm;
    Run run;
    train::Hooks hooks;
    hooks.on_step = [&](const train::StepRecord& r, const train::State&) { run.losses.push_back(r.loss); };
    train::fit(model, opt, test::SyntheticPairs{}, o, hooks);
    if (comm) dist::check_replicas(model, *comm);  // every rank holds the same parameters
    model.visit_parameters([&](const std::string& name, Parameter<double, cpu>& p) { run.params[name] = p.value().clone(); });
    return run;
}

template <class Model>
void check_equivalence(bool local_loss) {
    dist::MpiCommunicator comm;
    REQUIRE(comm.size() == 2);
    const Run whole = train_five_steps<Model>(16, nullptr, false);
    const Run parallel = train_five_steps<Model>(8, &comm, local_loss);
    REQUIRE(parallel.losses.size() == whole.losses.size());
    for (std::size_t i = 0; i < whole.losses.size(); ++i)
        CHECK(parallel.losses[i] == doctest::Approx(whole.losses[i]).epsilon(1e-9));
    for (const auto& [name, p] : whole.params) {
        INFO(name << " on rank " << comm.rank());
        CHECK_CLOSE(parallel.params.at(name), p, 1e-6, 1e-12);
    }
}
}  // namespace

TEST_CASE("2 ranks × 8 pairs = 1 process × 16 pairs: InfoNCE, global loss") { check_equivalence<Clip64>(false); }
TEST_CASE("2 ranks × 8 pairs = 1 process × 16 pairs: InfoNCE, local loss") { check_equivalence<Clip64>(true); }
TEST_CASE("2 ranks × 8 pairs = 1 process × 16 pairs: SigLIP") { check_equivalence<SigLipClip64>(false); }

TEST_CASE("gradient buckets start during backward and end as the mean over ranks") {
    dist::MpiCommunicator comm;
    Clip64 model(model::preset("tiny"), 7);
    const auto batch = test::SyntheticPairs{}.batch(std::vector<std::int64_t>{0 + comm.rank(), 2, 4, 6}, 0);
    auto images = cast<double>(batch.images);
    Tape tape;
    Tape::Active on(tape);
    const auto loss = model.loss(images, batch.tokens);
    dist::GradientSync<double, cpu> sync(model, comm, 200);  // small buckets: many of them
    sync.arm(tape);
    backward(loss);
    // This rank's own gradients, gathered before the reduction overwrites them.
    std::map<std::string, std::vector<double>> own;
    model.visit_parameters([&](const std::string& name, Parameter<double, cpu>& p) {
        own[name] = comm.gather_values(p.grad().to_vector());
    });
    sync.finish();
    CHECK(sync.buckets() > 3);
    CHECK(sync.started_during_backward() >= sync.buckets() - 1);
    model.visit_parameters([&](const std::string& name, Parameter<double, cpu>& p) {
        const auto& both = own[name];
        const std::size_t n = both.size() / 2;
        for (std::size_t i = 0; i < n; ++i) REQUIRE(p.grad()[std::int64_t(i)] == doctest::Approx((both[i] + both[n + i]) / 2));
    });
}

TEST_CASE("a parameter that differs between ranks is named") {
    dist::MpiCommunicator comm;
    Clip64 model(model::preset("tiny"), 7);
    if (comm.rank() == 1) model.text.ln_final.bias.value()[0] += 1e-9;
    CHECK_THROWS_WITH_AS(dist::check_replicas(model, comm), doctest::Contains("ln_final.bias differs"), Error);
}

TEST_CASE("gather_with_grad: rank r's rows at r·n, and the gradient of every copy back to its owner") {
    dist::MpiCommunicator comm;
    const auto mine = test::random_tensor<double>(Shape{3, 4}, std::uint64_t(10 + comm.rank()));
    auto x = leaf<cpu>(mine.clone());
    Tape tape;
    Tape::Active on(tape);
    const auto all = dist::gather_with_grad(x, comm);  // [6, 4]
    REQUIRE(all.shape() == Shape{6, 4});
    for (std::int64_t i = 0; i < 12; ++i) CHECK(all.value()[comm.rank() * 12 + i] == mine[i]);
    // loss = Σ (rank + 1)·all: every rank's copy of x gets (1 + 2) from the two losses
    backward(ad::sum(ad::affine(all, double(comm.rank() + 1))));
    for (std::int64_t i = 0; i < 12; ++i) CHECK(x.grad()[i] == 3.0);
}
