// contra — the command-line program: a parser over the library (each command in its own file).
//   contra train [--dataset fashion-mnist|shapes|csv|webdataset] [--init MODEL] [--time-budget S] [--out DIR] ...
//   contra eval RUN_FOLDER_OR_CHECKPOINT;  contra eval --model PATH [--folder DIR] [--cifar10 DIR] [--retrieval CSV]
//   contra info --arch ViT-B-32;  contra inspect FILE;  contra tokenize --bpe FILE TEXT...
//   contra embed|grad --model PATH --inputs IN.safetensors --out OUT.safetensors
//   contra zeroshot --model PATH --labels "a,b,c" IMAGE...;  contra export --model PATH --to hf|open_clip --out PATH
//   contra bench train --config tiny|fmnist|vitb32;  contra bench embed
//   contra report RUN_FOLDER;  contra compare RUN_A RUN_B ... [--out compare.html]
//   contra index DIR_OR_CSV --model M --out INDEX;  contra search INDEX "a dog on a beach" [--top 20] [--html PAGE]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#if defined(CONTRA_HAVE_MPI)
#include <contra/dist/mpi.hpp>
#endif

#include "commands.hpp"

int main(int argc, char** argv) {
#if defined(CONTRA_HAVE_MPI)
    // Under mpirun every rank runs this program; `contra train` is then data parallel.
    std::optional<contra::dist::MpiSession> mpi;
    if (contra::dist::launched_by_mpirun()) mpi.emplace(&argc, &argv);
#endif
    CLI::App app{"contra: train CLIP models and evaluate them zero-shot"};
    app.require_subcommand(1);
    std::function<void()> run;
    contra::cli::add_info(app, run);
    contra::cli::add_train(app, run);
    contra::cli::add_eval(app, run);
    contra::cli::add_bench(app, run);
    contra::cli::add_pretrained_commands(app, run);
    contra::cli::add_report_commands(app, run);
    contra::cli::add_search_commands(app, run);
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
