// benchmarks/train_step.cpp — one CLIP training step (forward, backward, AdamW) on the CPU, for
// the presets the peers measure. Compare with ../shared/peers/torch_clip_cpu.py on the same machine.
// Run: build/bin/bench_train_step [--benchmark_filter=fmnist]
#include <benchmark/benchmark.h>

#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>

using namespace contra;

namespace {
// The configurations of the PyTorch peer (torch_clip_cpu.py CONFIGS), and contra's presets.
nn::ClipConfig peer_config(const std::string& name) {
    if (name == "peer-fmnist") {  // C=1, H=28, P=4, vw=128, vl=4, vh=4, V=1024, T=16, tw=128, tl=4, th=4, E=64
        nn::ClipConfig c;
        c.name = name;
        c.embed_dim = 64;
        c.vision = nn::VisionConfig{28, 4, 1, 128, 4, 4, 4};
        c.text = nn::TextConfig{16, 1024, 128, 4, 4, 4};
        return c;
    }
    if (name == "peer-tiny") {  // C=3, H=32, P=4, vw=192, vl=4, vh=3, V=49408, T=32, tw=128, tl=4, th=2, E=128
        nn::ClipConfig c;
        c.name = name;
        c.embed_dim = 128;
        c.vision = nn::VisionConfig{32, 4, 3, 192, 4, 3, 4};
        c.text = nn::TextConfig{32, 49408, 128, 4, 2, 4};
        return c;
    }
    return nn::preset(name);
}

void train_step(benchmark::State& state, const std::string& name, std::int64_t batch) {
    const auto config = peer_config(name);
    nn::OpenAiClip<float, cpu> model(config, 0);
    optim::AdamW<float, cpu> optimizer(model);
    Rng rng(1);
    const auto& v = config.vision;
    auto images = Tensor<float>::empty(Shape{batch, v.channels, v.image_size, v.image_size});
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = float(rng.normal());
    auto tokens = Tensor<ops::Index>::empty(Shape{batch, config.text.context_length});
    for (std::int64_t i = 0; i < tokens.numel(); ++i) tokens[i] = ops::Index(1 + rng.below(std::uint64_t(config.text.vocab_size - 2)));
    for (std::int64_t b = 0; b < batch; ++b) tokens[(b + 1) * config.text.context_length - 1] = ops::Index(config.text.vocab_size - 1);
    Tape tape;
    for (auto _ : state) {
        tape.reset();
        Tape::Active recording(tape);
        optimizer.zero_grad();
        auto loss = model.loss(images, tokens);
        backward(loss);
        optimizer.step(1e-4);
        benchmark::DoNotOptimize(loss.value().data());
    }
    state.counters["pairs/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["ms/step"] = benchmark::Counter(1e3, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
}  // namespace

BENCHMARK_CAPTURE(train_step, fmnist_b128, std::string("fmnist"), 128)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(train_step, peer_fmnist_b256, std::string("peer-fmnist"), 256)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(train_step, peer_tiny_b64, std::string("peer-tiny"), 64)->Unit(benchmark::kMillisecond)->MinTime(2);

BENCHMARK_MAIN();
