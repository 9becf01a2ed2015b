// benchmarks/train_step.cpp — one CLIP training step (forward, backward, AdamW) on the CPU, in
// the configurations of ../shared/peers/torch_clip_cpu.py (tiny, fmnist, vitb32) and contra's
// default Fashion-MNIST model; compare with the peer on the same machine
// (benchmarks/compare_pytorch.sh does both, alternating).
// Run: build/bin/bench_train_step [--benchmark_filter=fmnist]
#include <benchmark/benchmark.h>

#include <contra/contra.hpp>
#include <contra/bench/train_step.hpp>

using namespace contra;

namespace {
void train_step(benchmark::State& state, bench::PeerConfig config) {
    bench::TrainStep<> step(config);
    for (int warmup = 0; warmup < 2; ++warmup) step.run();  // the arena and the gradients reach their steady size
    for (auto _ : state) benchmark::DoNotOptimize(step.run());
    state.counters["pairs/s"] = benchmark::Counter(double(config.batch), benchmark::Counter::kIsIterationInvariantRate);
}

// contra's default model for the main job (`contra train`: --arch fmnist, batch 128).
bench::PeerConfig main_job_config() {
    bench::PeerConfig p{model::preset("fmnist"), 128};
    p.clip.text.vocab_size = 1000;
    return p;
}
}  // namespace

BENCHMARK_CAPTURE(train_step, main_job_b128, main_job_config())->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(train_step, peer_fmnist_b256, bench::peer_config("fmnist"))->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(train_step, peer_tiny_b64, bench::peer_config("tiny"))->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(train_step, peer_vitb32_b8, bench::peer_config("vitb32"))->Unit(benchmark::kMillisecond)->MinTime(10);

BENCHMARK_MAIN();
