// contra_test_worker — processes that tests kill on purpose (SIGKILL at an arbitrary moment):
//   checkpoints DIR          saves rotating checkpoints of a tiny model forever, version v in
//                            every weight of checkpoint v
//   train DIR STEPS KILL_AT THREADS
//                            trains the tiny model on synthetic pairs for STEPS steps,
//                            checkpointing every KILL_AT steps, and kills itself after step KILL_AT
#include <contra/contra.hpp>
#include <contra/io/checkpoint.hpp>
#include <contra/train/trainer.hpp>

#include <csignal>
#include <cstdio>
#include <string>

#include "synthetic_pairs.hpp"

using namespace contra;

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    try {
        if (mode == "checkpoints" && argc == 3) {
            model::OpenAiClip<float, cpu> model(model::preset("tiny"), 1);
            optim::AdamW<float, cpu> opt(model);
            for (std::int64_t version = 1;; ++version) {
                model.visit_parameters([&](const std::string&, Parameter<float, cpu>& p) {
                    for (std::int64_t i = 0; i < p.numel(); ++i) p.value()[i] = float(version);
                });
                io::save_rotating(argv[2], version, model, opt, {{"step", std::to_string(version)}}, 3);
            }
        }
        if (mode == "train" && argc == 6) {
            const std::int64_t steps = std::stoll(argv[3]), kill_at = std::stoll(argv[4]);
            set_num_threads(std::stoi(argv[5]));
            model::OpenAiClip<double, cpu> model(model::preset("tiny"), 3);
            optim::AdamW<double, cpu> opt(model);
            const train::Options o = test::resume_options(steps);
            train::Hooks hooks;
            hooks.checkpoint_every = kill_at;
            hooks.on_checkpoint = [&](const train::State& s) {
                io::save_rotating(argv[2], s.step, model, opt,
                                  {{"step", std::to_string(s.step)}, {"total_steps", std::to_string(s.total_steps)}});
            };
            hooks.on_step = [&](const train::StepRecord&, const train::State& s) {
                if (s.step == kill_at + 1) std::raise(SIGKILL);
            };
            train::fit(model, opt, test::SyntheticPairs{}, o, hooks);
            return 0;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "contra_test_worker: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "usage: contra_test_worker checkpoints DIR | train DIR STEPS KILL_AT THREADS\n");
    return 2;
}
