// The backend-typed half of `contra bench`: the timed training step and embedding for any
// backend. bench.cpp instantiates them for the CPU, commands_cuda.cu (nvcc, when the program is
// built with CUDA) for the GPU (`--device cuda`). Both print one JSON line with the same keys, the
// GPU's adding its name and its peak memory.
#pragma once
#include <contra/bench/train_step.hpp>
#include <contra/contra.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"

namespace contra::cli {

// wait_for<B>(): returns once the work queued on backend B is done (nothing to wait for on the CPU).
template <class B>
void wait_for();
template <>
inline void wait_for<cpu>() {}

// device_facts<B>(): what the JSON line says of the device: nothing more on the CPU; the GPU's
// name and its peak memory on CUDA.
template <class B>
nlohmann::json device_facts();
template <>
inline nlohmann::json device_facts<cpu>() {
    return nlohmann::json::object();
}

// The median of `repeats` timings of f() (and the device's finishing it), in seconds, after one untimed call.
template <class B, class F>
double median_seconds(int repeats, F&& f) {
    std::vector<double> seconds;
    for (int i = 0; i <= repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        wait_for<B>();
        if (i > 0) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
}


template <class T, class B>
void bench_train_on(const BenchOptions& o) {
    set_num_threads(o.threads);
    auto config = bench::peer_config(o.config);
    if (o.train_batch > 0) config.batch = o.train_batch;
    bench::TrainStep<T, B> step(config);
    step.model().visual.transformer.checkpointing = step.model().text.transformer.checkpointing = o.checkpoint_activations;
    step.model().visual.patch_dropout.enable(o.patch_dropout, 0);
    step.run();  // with the untimed call below: the arena and gradients reach their steady size
    double loss = 0;
    const double seconds = median_seconds<B>(std::max(1, o.steps), [&] { loss = step.run(); });
    auto flops = model::forward_flops(config.clip);
    const auto& v = config.clip.vision;  // with patch dropout the image blocks see 1 + K tokens, not 1 + P
    const double kept = double(1 + step.model().visual.patch_dropout.keep_count(v.grid() * v.grid()));
    flops.per_image -= double(v.layers) * (model::detail::block_flops(double(v.tokens()), double(v.width), double(v.mlp_hidden())) -
                                           model::detail::block_flops(kept, double(v.width), double(v.mlp_hidden())));
    const double step_flops = 3 * double(config.batch) * (flops.per_image + flops.per_text);  // forward + backward
    nlohmann::json line = {{"config", o.config},
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
    line["device"] = o.device;
    line["precision"] = o.precision;
    line.update(device_facts<B>());
    std::printf("%s\n", line.dump().c_str());
}

template <class T, class B>
void bench_embed_on(const BenchOptions& o) {
    set_num_threads(o.threads);
    auto config = bench::peer_config("vitb32");
    config.batch = o.batch;
    model::OpenAiClip<T, B> model(config.clip, 0);
    const auto images = to_device<device_of<B>>(cast<T>(bench::random_images(config.clip.vision, o.batch)));  // [N, C, S, S]
    const auto tokens = bench::random_tokens(config.clip.text, o.batch);
    Tape arena_only;  // activations come from its arena; NoGrad records nothing
    Tape::Active on(arena_only);
    NoGrad no_record;
    auto timed = [&](auto&& encode) {
        return median_seconds<B>(std::max(1, o.steps), [&] {
            arena_only.reset();
            (void)encode();
        });
    };
    const double image_s = timed([&] { return model.encode_image(images); });
    const double text_s = timed([&] { return model.encode_text(tokens); });
    const auto flops = model::forward_flops(config.clip);
    nlohmann::json line = {{"contra", "0.1.0"},
                           {"threads", o.threads},
                           {"batch", o.batch},
                           {"image_per_s", double(o.batch) / image_s},
                           {"text_per_s", double(o.batch) / text_s},
                           {"image_gflop_per_s", double(o.batch) * flops.per_image / image_s / 1e9},
                           {"peak_rss_mb", double(bench::peak_rss_bytes()) / 1e6}};
    line["device"] = o.device;
    line["precision"] = o.precision;
    line.update(device_facts<B>());
    std::printf("%s\n", line.dump().c_str());
}

// The GPU's instantiations (commands_cuda.cu).
void bench_train_on_cuda(const BenchOptions& o);
void bench_embed_on_cuda(const BenchOptions& o);

}  // namespace contra::cli
