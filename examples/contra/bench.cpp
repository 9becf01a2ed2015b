// contra bench train --config tiny|fmnist|vitb32 [--batch N] [--steps N] [--threads T] [--patch-dropout RATE]
//                    [--device cpu|cuda] [--precision fp32|tf32|bf16]
// contra bench embed [--batch N] [--steps N] [--threads T] [--device cpu|cuda] [--precision fp32|tf32|bf16]
// The same work as the PyTorch CPU peers (torch_clip_cpu.py, torch_clip_cpu_embed.py), printed
// as one JSON line so the two can be compared by hand or by benchmarks/compare_pytorch.sh.
#include <CLI/CLI.hpp>

#include "bench_run.hpp"
#include "models.hpp"

namespace contra::cli {

// check_bench_device(o): --device and --precision as the command can run them.
void check_bench_device(BenchOptions& o) {
    if (o.precision.empty()) o.precision = default_precision(o.device);
    CONTRA_CHECK(o.device == "cpu" || o.device == "cuda", "--device must be cpu or cuda, got '", o.device, "'");
    check_precision(o.precision, o.device);
}

void bench_train(BenchOptions o) {
    check_bench_device(o);
    if (o.device == "cuda") return bench_train_on_cuda(o);
    bench_train_on<float, cpu>(o);
}

void bench_embed(BenchOptions o) {
    check_bench_device(o);
    if (o.device == "cuda") return bench_embed_on_cuda(o);
    bench_embed_on<float, cpu>(o);
}

#if !defined(CONTRA_CLI_CUDA)
void bench_train_on_cuda(const BenchOptions&) { require_cuda_device(); }
void bench_embed_on_cuda(const BenchOptions&) { require_cuda_device(); }
#endif

void add_bench(CLI::App& app, std::function<void()>& run) {
    static BenchOptions o;
    auto* cmd = app.add_subcommand("bench", "Time a training step or embedding, as the PyTorch peers do");
    cmd->require_subcommand(1);
    auto* train = cmd->add_subcommand("train", "One training step (forward, loss, backward, AdamW) on random data");
    train->add_option("--config", o.config, "tiny, fmnist or vitb32 (the peer's configurations)")->capture_default_str();
    train->add_option("--batch", o.train_batch, "Pairs per step (default: the configuration's batch)");
    train->add_option("--steps", o.steps, "Timed steps (the median is printed)")->capture_default_str();
    train->add_option("--threads", o.threads, "CPU threads")->capture_default_str();
    train->add_option("--device", o.device, "cpu or cuda")->capture_default_str();
    train->add_option("--patch-dropout", o.patch_dropout,
                      "Fraction of image patches dropped in each step (FLIP), in [0, 1)")->capture_default_str();
    train->add_flag("--checkpoint-activations", o.checkpoint_activations,
                    "Recompute each transformer block in backward (reports the memory it saves)");
    train->add_option("--precision", o.precision, "fp32; on a GPU also tf32 or bf16 (mixed precision; the default there)");
    train->callback([&] { run = [&] { bench_train(o); }; });
    auto* embed = cmd->add_subcommand("embed", "ViT-B/32 image and text embedding without a tape");
    embed->add_option("--batch", o.batch, "Images and texts per call")->capture_default_str();
    embed->add_option("--steps", o.steps, "Timed calls (the median is printed)")->capture_default_str();
    embed->add_option("--threads", o.threads, "CPU threads")->capture_default_str();
    embed->add_option("--device", o.device, "cpu or cuda")->capture_default_str();
    embed->add_option("--precision", o.precision, "fp32; on a GPU also tf32 or bf16 (mixed precision; the default there)");
    embed->callback([&] { run = [&] { bench_embed(o); }; });
}

}  // namespace contra::cli
