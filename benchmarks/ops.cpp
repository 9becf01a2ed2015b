// benchmarks/ops.cpp — the primitives a CLIP step spends its time in, at CLIP's real shapes, on
// the cpu backend: GEMMs (contra's next to Eigen's own GEMM on the same operands), attention,
// layer norm, the contrastive loss and AdamW. Counters: GFLOP/s for products, GB/s for the
// memory-bound ops (bytes read + written once).
// Run: build/bin/bench_ops [--benchmark_filter=gemm]
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <contra/contra.hpp>
#include <contra/bench/train_step.hpp>
#include <string>

using namespace contra;

namespace {

Tensor<float> random(const Shape& s, std::uint64_t seed) {
    auto t = Tensor<float>::empty(s);
    RandomStream rs{seed, 3};
    for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = float(rs.normal(std::uint64_t(i)));
    return t;
}

void flops_per_second(benchmark::State& state, double flops) {
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
void bytes_per_second(benchmark::State& state, double bytes) {
    state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// ─── GEMM: C[m,n] = op(A)·op(B), the products of a linear layer's forward and backward ───────

struct GemmShape {
    std::string name;
    std::int64_t m, n, k;
    ops::Trans ta, tb;
};

// For a linear layer x [R, I] → [R, O]: forward x·Wᵀ, input gradient g·W, weight gradient gᵀ·x.
std::vector<GemmShape> linear_products(const std::string& name, std::int64_t rows, std::int64_t in, std::int64_t out) {
    using ops::Trans;
    return {{name + "/forward", rows, out, in, Trans::N, Trans::T},
            {name + "/dinput", rows, in, out, Trans::N, Trans::N},
            {name + "/dweight", out, in, rows, Trans::T, Trans::N}};
}

std::vector<GemmShape> gemm_shapes() {
    std::vector<GemmShape> all;
    auto add = [&](std::vector<GemmShape> s) { all.insert(all.end(), s.begin(), s.end()); };
    // ViT-B/32 at batch 8: image tokens 8·50 = 400 rows of 768, text 8·77 = 616 rows of 512.
    add(linear_products("vitb32_image_qkv", 400, 768, 2304));
    add(linear_products("vitb32_image_c_fc", 400, 768, 3072));
    add(linear_products("vitb32_image_c_proj", 400, 3072, 768));
    add(linear_products("vitb32_text_qkv", 616, 512, 1536));
    add(linear_products("vitb32_text_c_fc", 616, 512, 2048));
    // The peer's fmnist configuration at batch 256: 256·50 = 12,800 tokens of width 128.
    add(linear_products("fmnist_qkv", 12800, 128, 384));
    add(linear_products("fmnist_c_fc", 12800, 128, 512));
    add(linear_products("fmnist_c_proj", 12800, 512, 128));
    // contra's main-job model at batch 128: 128·17 = 2,176 tokens of width 96.
    add(linear_products("main_job_c_fc", 2176, 96, 384));
    all.push_back({"square_1024", 1024, 1024, 1024, ops::Trans::N, ops::Trans::N});
    return all;
}

void gemm_contra(benchmark::State& state, GemmShape s) {
    const auto a = random(s.ta == ops::Trans::N ? Shape{s.m, s.k} : Shape{s.k, s.m}, 1);
    const auto b = random(s.tb == ops::Trans::N ? Shape{s.k, s.n} : Shape{s.n, s.k}, 2);
    auto c = Tensor<float>::empty(Shape{s.m, s.n});
    for (auto _ : state) ops::gemm(cpu{}, s.ta, s.tb, 1.f, a, b, 0.f, c);
    flops_per_second(state, 2.0 * double(s.m * s.n * s.k));
}

// Eigen's own GEMM on the same row-major operands: the yardstick for the cpu backend's products.
void gemm_eigen(benchmark::State& state, GemmShape s) {
    using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Matrix a = Matrix::Random(s.ta == ops::Trans::N ? s.m : s.k, s.ta == ops::Trans::N ? s.k : s.m);
    const Matrix b = Matrix::Random(s.tb == ops::Trans::N ? s.k : s.n, s.tb == ops::Trans::N ? s.n : s.k);
    Matrix c(s.m, s.n);
    for (auto _ : state) {
        if (s.ta == ops::Trans::N && s.tb == ops::Trans::N) c.noalias() = a * b;
        else if (s.ta == ops::Trans::N) c.noalias() = a * b.transpose();
        else if (s.tb == ops::Trans::N) c.noalias() = a.transpose() * b;
        else c.noalias() = a.transpose() * b.transpose();
        benchmark::DoNotOptimize(c.data());
    }
    flops_per_second(state, 2.0 * double(s.m * s.n * s.k));
}

// ─── attention, layer norm, loss, AdamW ───────────────────────────────────────────────────────

struct AttentionShape {
    std::string name;
    std::int64_t n, t, w, heads;
    bool causal;
};

void attention_step(benchmark::State& state, AttentionShape s) {
    const auto qkv = random(Shape{s.n, s.t, 3 * s.w}, 3);
    const auto dout = random(Shape{s.n, s.t, s.w}, 4);
    auto out = Tensor<float>::empty(Shape{s.n, s.t, s.w}), dqkv = Tensor<float>::empty(qkv.shape());
    auto probs = Tensor<float>::empty(Shape{s.n, s.heads, s.t, s.t});
    const double scale = 1.0 / std::sqrt(double(s.w / s.heads));
    const bool backward = state.range(0) == 1;
    for (auto _ : state) {
        ops::attention(cpu{}, qkv, s.heads, ops::SoftmaxMask{s.causal}, scale, out, probs);
        if (backward) ops::attention_backward(cpu{}, qkv, probs, dout, s.heads, scale, dqkv);
    }
    // Two [T,T,D] products per head forward, four more backward.
    flops_per_second(state, (backward ? 3.0 : 1.0) * 4.0 * double(s.n * s.t * s.t * s.w));
}

void layer_norm_step(benchmark::State& state, std::int64_t rows, std::int64_t width) {
    const auto x = random(Shape{rows, width}, 5), dy = random(Shape{rows, width}, 6);
    const auto gamma = random(Shape{width}, 7), beta = random(Shape{width}, 8);
    auto y = Tensor<float>::empty(x.shape()), dx = Tensor<float>::empty(x.shape());
    auto mean = Tensor<float>::empty(Shape{rows}), rstd = Tensor<float>::empty(Shape{rows});
    auto dgamma = Tensor<float>::empty(Shape{width}), dbeta = Tensor<float>::empty(Shape{width});
    const bool backward = state.range(0) == 1;
    for (auto _ : state) {
        ops::layer_norm(cpu{}, x, gamma, beta, 1e-5, y, mean, rstd);
        if (backward) ops::layer_norm_backward(cpu{}, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
    }
    bytes_per_second(state, (backward ? 5.0 : 2.0) * 4.0 * double(rows * width));  // x, y (+ x, dy, dx)
}

void info_nce_step(benchmark::State& state, std::int64_t batch, std::int64_t embed) {
    loss::InfoNce<float, cpu> loss;
    loss.initialize(0);
    const auto image = leaf<cpu>(random(Shape{batch, embed}, 9)), text = leaf<cpu>(random(Shape{batch, embed}, 10));
    Tape tape;
    for (auto _ : state) {
        tape.reset();
        Tape::Active on(tape);
        backward(loss(image, text));
    }
    // logits forward, two gradient products backward
    flops_per_second(state, 3.0 * 2.0 * double(batch * batch * embed));
}

void adamw_step(benchmark::State& state, std::int64_t parameters) {
    auto p = random(Shape{parameters}, 11), g = random(Shape{parameters}, 12);
    auto m = Tensor<float>::zeros(Shape{parameters}), v = Tensor<float>::zeros(Shape{parameters});
    std::int64_t step = 0;
    for (auto _ : state) ops::adamw(cpu{}, p, g, m, v, ops::AdamWStep{1e-4, 0.9, 0.98, 1e-6, 0.2, ++step});
    bytes_per_second(state, 7.0 * 4.0 * double(parameters));  // read p, g, m, v; write p, m, v
}

}  // namespace

int main(int argc, char** argv) {
    for (const auto& s : gemm_shapes()) {
        benchmark::RegisterBenchmark(("gemm/" + s.name + "/contra").c_str(), gemm_contra, s)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("gemm/" + s.name + "/eigen").c_str(), gemm_eigen, s)->Unit(benchmark::kMicrosecond);
    }
    for (const auto& s : {AttentionShape{"vitb32_image", 8, 50, 768, 12, false}, AttentionShape{"vitb32_text", 8, 77, 512, 8, true},
                          AttentionShape{"fmnist", 256, 50, 128, 4, false}})
        benchmark::RegisterBenchmark(("attention/" + s.name).c_str(), attention_step, s)
            ->ArgName("backward")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
    for (auto [rows, width] : {std::pair<std::int64_t, std::int64_t>{12800, 128}, {400, 768}, {616, 512}})
        benchmark::RegisterBenchmark(("layer_norm/" + std::to_string(rows) + "x" + std::to_string(width)).c_str(),
                                     layer_norm_step, rows, width)
            ->ArgName("backward")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
    for (auto [batch, embed] : {std::pair<std::int64_t, std::int64_t>{256, 64}, {1024, 512}, {4096, 512}})
        benchmark::RegisterBenchmark(("info_nce/" + std::to_string(batch) + "x" + std::to_string(embed)).c_str(),
                                     info_nce_step, batch, embed)
            ->Unit(benchmark::kMicrosecond);
    for (std::int64_t n : {std::int64_t(1) << 20, std::int64_t(151277313)})
        benchmark::RegisterBenchmark(("adamw/" + std::to_string(n)).c_str(), adamw_step, n)->Unit(benchmark::kMillisecond);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
