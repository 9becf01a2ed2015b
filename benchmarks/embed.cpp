// benchmarks/embed.cpp — ViT-B/32 image and text embedding (inference: no gradients recorded;
// activations from a tape's arena), the work of ../shared/peers/torch_clip_cpu_embed.py.
// Run: build/bin/bench_embed
#include <benchmark/benchmark.h>

#include <contra/contra.hpp>
#include <contra/bench/train_step.hpp>

using namespace contra;

namespace {
void embed(benchmark::State& state, bool images) {
    const std::int64_t batch = state.range(0);
    const auto config = bench::peer_config("vitb32").clip;
    model::OpenAiClip<float, cpu> model(config, 0);
    const auto pixels = bench::random_images(config.vision, batch);
    const auto tokens = bench::random_tokens(config.text, batch);
    Tape arena_only;
    Tape::Active on(arena_only);
    NoGrad no_record;
    for (auto _ : state) {
        arena_only.reset();
        benchmark::DoNotOptimize((images ? model.encode_image(pixels) : model.encode_text(tokens)).value().data());
    }
    const auto flops = model::forward_flops(config);
    state.counters[images ? "images/s" : "texts/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GFLOP/s"] = benchmark::Counter(double(batch) * (images ? flops.per_image : flops.per_text) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

BENCHMARK_CAPTURE(embed, vitb32_image, true)->Arg(16)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK_CAPTURE(embed, vitb32_text, false)->Arg(16)->Unit(benchmark::kMillisecond)->MinTime(3);

BENCHMARK_MAIN();
