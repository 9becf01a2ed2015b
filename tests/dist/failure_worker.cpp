// A 2-rank training run for tests/dist/failure.sh: `straight DIR` trains 8 steps; `die DIR` and
// `stall DIR` checkpoint every 2 steps while rank 1 is killed (SIGKILL) or stops answering at
// step 5; `resume DIR` continues the checkpoint in DIR to step 8. Rank 0 prints the parameters'
// checksum at the end.
#include <contra/contra.hpp>
#include <contra/dist/mpi.hpp>
#include <contra/io/checkpoint.hpp>
#include <contra/dist/gather.hpp>
#include <contra/train/trainer.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "../support/synthetic_pairs.hpp"

using namespace contra;

int main(int argc, char** argv) {
    dist::MpiSession mpi(&argc, &argv);
    if (argc != 3) dist::MpiSession::abort("usage: dist_failure_worker straight|die|stall|resume DIR");
    const std::string mode = argv[1];
    const std::filesystem::path dir = argv[2], checkpoint = dir / "checkpoint.safetensors";
    try {
        dist::MpiCommunicator comm(MPI_COMM_WORLD, 5.0);  // a rank silent for 5 s has failed
        model::OpenAiClip<double, cpu> model(model::preset("tiny"), 7);
        model.loss_fn.gather = dist::gather_features<double, cpu>(comm, true);
        optim::AdamW<double, cpu> opt(model);
        train::State state;
        if (mode == "resume") {
            const auto meta = io::load_checkpoint(checkpoint, model, &opt);
            state.step = std::stoll(meta.at("step"));
            state.total_steps = 8;
        }
        train::Options o;
        o.batch_size = 4;
        o.max_steps = 8;
        o.lr = 3e-3;
        o.warmup_steps = 2;
        o.comm = &comm;
        train::Hooks hooks;
        hooks.checkpoint_every = 2;
        hooks.on_checkpoint = [&](const train::State& s) {
            if (comm.rank() == 0) io::save_checkpoint(checkpoint, model, opt, {{"step", std::to_string(s.step)}});
        };
        hooks.on_step = [&](const train::StepRecord&, const train::State& s) {
            if (comm.rank() != 1 || s.step != 5) return;
            if (mode == "die") std::raise(SIGKILL);
            if (mode == "stall") std::this_thread::sleep_for(std::chrono::seconds(60));
        };
        std::filesystem::create_directories(dir);
        train::fit(model, opt, test::SyntheticPairs{}, o, hooks, state);
        double checksum = 0;
        model.visit_parameters([&](const std::string&, Parameter<double, cpu>& p) {
            checksum += ops::reduce_all(cpu{}, ops::ReduceOp::sum, p.value());
        });
        if (comm.rank() == 0) std::printf("checksum %.17g\n", checksum);
    } catch (const std::exception& e) {
        dist::MpiSession::abort(e.what());
    }
    return 0;
}
