// benchmarks/search.cpp — exact top-k search (search/top_k.hpp) over 1 million random unit
// vectors of 512 values, fp32 and int8: one query at a time, and 16 queries per pass over the
// vectors; with the recall@10 of int8 against fp32 as a counter (docs/search.md).
// Run: build/bin/bench_search   (about 2.5 GB of memory)
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include <contra/core/parallel.hpp>
#include <contra/search/top_k.hpp>

using namespace contra;

namespace {
constexpr std::int64_t kRows = 1'000'000, kDim = 512, kTop = 10;

std::vector<float> random_unit_rows(std::int64_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<std::size_t>(n * kDim));
    for (std::int64_t i = 0; i < n; ++i) {
        float* row = x.data() + i * kDim;
        double sum = 0;
        for (std::int64_t j = 0; j < kDim; ++j) {
            row[j] = normal(rng);
            sum += double(row[j]) * row[j];
        }
        for (std::int64_t j = 0; j < kDim; ++j) row[j] = float(row[j] / std::sqrt(sum));
    }
    return x;
}

// The stored vectors (built once) and queries near stored rows, as real queries are near their matches.
struct Data {
    search::Vectors f32{search::Encoding::f32, kDim}, int8{search::Encoding::int8, kDim};
    std::vector<float> queries;
    Data() {
        f32.values() = random_unit_rows(kRows, 1);
        const float* rows = f32.values().data();
        for (std::int64_t i = 0; i < kRows; ++i) int8.push_back(rows + i * kDim);
        const auto noise = random_unit_rows(64, 2);
        for (std::int64_t q = 0; q < 64; ++q)
            for (std::int64_t j = 0; j < kDim; ++j)
                queries.push_back(rows[(q * 15485 % kRows) * kDim + j] + noise[std::size_t(q * kDim + j)]);
    }
};
const Data& data() {
    static const Data d;
    return d;
}

// recall@10 of int8 against fp32 over the 64 queries.
double int8_recall() {
    const auto& d = data();
    const auto exact = search::top_k(d.f32, d.queries.data(), 64, kTop), approx = search::top_k(d.int8, d.queries.data(), 64, kTop);
    std::int64_t found = 0;
    for (std::size_t q = 0; q < exact.size(); ++q)
        for (const auto& h : approx[q])
            for (const auto& e : exact[q]) found += e.row == h.row;
    return double(found) / double(64 * kTop);
}

void search_vectors(benchmark::State& state, search::Encoding encoding) {
    const auto& d = data();
    const auto& vectors = encoding == search::Encoding::f32 ? d.f32 : d.int8;
    const std::int64_t per_pass = state.range(0);
    std::int64_t q = 0;
    for (auto _ : state) {
        const auto hits = search::top_k(vectors, d.queries.data() + (q % 64) * kDim, per_pass, kTop);
        benchmark::DoNotOptimize(hits.data());
        q = (q + per_pass) % (64 - per_pass + 1);
    }
    state.counters["queries/s"] = benchmark::Counter(double(per_pass), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = num_threads();
    if (encoding == search::Encoding::int8) state.counters["recall@10"] = int8_recall();
}
}  // namespace

BENCHMARK_CAPTURE(search_vectors, search_1m_f32, search::Encoding::f32)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(search_vectors, search_1m_int8, search::Encoding::int8)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
