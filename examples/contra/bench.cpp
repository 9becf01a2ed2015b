// contra bench train --config tiny|fmnist|vitb32 [--batch N] [--steps N] [--threads T] [--patch-dropout RATE]
// contra bench embed [--batch N] [--steps N] [--threads T]
// The same work as the PyTorch CPU peers (torch_clip_cpu.py, torch_clip_cpu_embed.py), printed
// as one JSON line so the two can be compared by hand or by benchmarks/compare_pytorch.sh.
#include <CLI/CLI.hpp>
#include <contra/bench/train_step.hpp>
#include <contra/contra.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "commands.hpp"
#include "models.hpp"

namespace contra::cli {

namespace {
// The median of `repeats` timings of f(), in seconds, after one untimed call.
template <class F>
double median_seconds(int repeats, F&& f) {
    std::vector<double> seconds;
    for (int i = 0; i <= repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        if (i > 0) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
}
}  // namespace

void bench_train(const BenchOptions& o) {
    set_num_threads(o.threads);
    auto config = bench::peer_config(o.config);
    if (o.train_batch > 0) config.batch = o.train_batch;
    bench::TrainStep<> step(config);
    step.model().visual.transformer.checkpointing = step.model().text.transformer.checkpointing = o.checkpoint_activations;
    step.model().visual.patch_dropout.enable(o.patch_dropout, 0);
    step.run();  // with the untimed call below: the arena and gradients reach their steady size
    double loss = 0;
    const double seconds = median_seconds(std::max(1, o.steps), [&] { loss = step.run(); });
    auto flops = model::forward_flops(config.clip);
    const auto& v = config.clip.vision;  // with patch dropout the image blocks see 1 + K tokens, not 1 + P
    const double kept = double(1 + step.model().visual.patch_dropout.keep_count(v.grid() * v.grid()));
    flops.per_image -= double(v.layers) * (model::detail::block_flops(double(v.tokens()), double(v.width), double(v.mlp_hidden())) -
                                           model::detail::block_flops(kept, double(v.width), double(v.mlp_hidden())));
    const double step_flops = 3 * double(config.batch) * (flops.per_image + flops.per_text);  // forward + backward
    const nlohmann::json line = {{"config", o.config},
                                 {"contra", "0.1.0"},
                                 {"threads", o.threads},
                                 {"batch", config.batch},
                                 {"ms_per_step", seconds * 1e3},
                                 {"samples_per_s", double(config.batch) / seconds},
                                 {"gflop_per_s", step_flops / seconds / 1e9},
                                 {"params", step.parameters()},
                                 {"loss", loss},
                                 {"checkpoint_activations", o.checkpoint_activations},
                                 {"patch_dropout", o.patch_dropout},
                                 {"image_tokens", std::int64_t(kept)},
                                 {"tape_peak_mb", double(step.tape_peak_bytes()) / 1e6},
                                 {"peak_rss_mb", double(bench::peak_rss_bytes()) / 1e6}};
    std::printf("%s\n", line.dump().c_str());
}

void bench_embed(const BenchOptions& o) {
    set_num_threads(o.threads);
    auto config = bench::peer_config("vitb32");
    config.batch = o.batch;
    model::OpenAiClip<float, cpu> model(config.clip, 0);
    const auto images = bench::random_images(config.clip.vision, o.batch);
    const auto tokens = bench::random_tokens(config.clip.text, o.batch);
    Tape arena_only;  // activations come from its arena; NoGrad records nothing
    Tape::Active on(arena_only);
    NoGrad no_record;
    auto timed = [&](auto&& encode) {
        return median_seconds(std::max(1, o.steps), [&] {
            arena_only.reset();
            (void)encode();
        });
    };
    const double image_s = timed([&] { return model.encode_image(images); });
    const double text_s = timed([&] { return model.encode_text(tokens); });
    const auto flops = model::forward_flops(config.clip);
    const nlohmann::json line = {{"contra", "0.1.0"},
                                 {"threads", o.threads},
                                 {"batch", o.batch},
                                 {"image_per_s", double(o.batch) / image_s},
                                 {"text_per_s", double(o.batch) / text_s},
                                 {"image_gflop_per_s", double(o.batch) * flops.per_image / image_s / 1e9},
                                 {"peak_rss_mb", double(bench::peak_rss_bytes()) / 1e6}};
    std::printf("%s\n", line.dump().c_str());
}

void add_bench(CLI::App& app, std::function<void()>& run) {
    static BenchOptions o;
    auto* cmd = app.add_subcommand("bench", "Time a training step or embedding, as the PyTorch peers do");
    cmd->require_subcommand(1);
    auto* train = cmd->add_subcommand("train", "One training step (forward, loss, backward, AdamW) on random data");
    train->add_option("--config", o.config, "tiny, fmnist or vitb32 (the peer's configurations)")->capture_default_str();
    train->add_option("--batch", o.train_batch, "Pairs per step (default: the configuration's batch)");
    train->add_option("--steps", o.steps, "Timed steps (the median is printed)")->capture_default_str();
    train->add_option("--threads", o.threads, "CPU threads")->capture_default_str();
    train->add_option("--patch-dropout", o.patch_dropout,
                      "Fraction of image patches dropped in each step (FLIP), in [0, 1)")->capture_default_str();
    train->add_flag("--checkpoint-activations", o.checkpoint_activations,
                    "Recompute each transformer block in backward (reports the memory it saves)");
    train->callback([&] { run = [&] { bench_train(o); }; });
    auto* embed = cmd->add_subcommand("embed", "ViT-B/32 image and text embedding without a tape");
    embed->add_option("--batch", o.batch, "Images and texts per call")->capture_default_str();
    embed->add_option("--steps", o.steps, "Timed calls (the median is printed)")->capture_default_str();
    embed->add_option("--threads", o.threads, "CPU threads")->capture_default_str();
    embed->callback([&] { run = [&] { bench_embed(o); }; });
}

}  // namespace contra::cli
