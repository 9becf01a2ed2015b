// contra — the command-line program: train a CLIP, evaluate it, inspect model presets.
//   contra info --arch ViT-B-32
//   contra train [--dataset fashion-mnist|shapes] [--time-budget S] [--out DIR] ...
//   contra eval --checkpoint DIR/checkpoint.safetensors
//   contra inspect FILE;  contra tokenize --bpe FILE TEXT...
//   contra embed|grad --model PATH --inputs IN.safetensors --out OUT.safetensors
//   contra bench train --config tiny|fmnist|vitb32;  contra bench embed
#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <optional>

#include "bench.hpp"
#include "commands.hpp"
#include "evaluate.hpp"
#include "info.hpp"
#include "train.hpp"

int main(int argc, char** argv) {
#if defined(CONTRA_HAVE_MPI)
    // Under mpirun every rank runs this program; `contra train` is then data parallel.
    std::optional<contra::dist::MpiSession> mpi;
    if (contra::dist::launched_by_mpirun()) mpi.emplace(&argc, &argv);
#endif
    CLI::App app{"contra: train CLIP models and evaluate them zero-shot"};
    app.require_subcommand(1);
    std::function<void()> run;
    contra::cli::InfoOptions info;
    contra::cli::TrainOptions train;
    contra::cli::EvalOptions eval;
    contra::cli::BenchOptions bench;
    contra::cli::add_info(app, info, run);
    contra::cli::add_train(app, train, run);
    contra::cli::add_eval(app, eval, run);
    contra::cli::add_bench(app, bench, run);
    contra::cli::add_pretrained_commands(app, run);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        run();
    } catch (const std::exception& e) {
#if defined(CONTRA_HAVE_MPI)
        if (mpi) contra::dist::MpiSession::abort(e.what());  // the other ranks stop too
#endif
        std::fprintf(stderr, "contra: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
