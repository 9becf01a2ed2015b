// benchmarks/data.cpp — the image–caption pipeline of contra train --dataset csv at CLIP's 224 px:
// read the file, decode PNG/JPEG, random resized crop (bicubic) or resize + centre crop,
// normalise, tokenise the caption; on 0, 1 or 2 worker threads. The work of
// benchmarks/peers/pil_preprocess.py (Pillow + NumPy, one process).
// Run: sh benchmarks/data.sh (fetches Debian's scikit-image photos), or
//      CONTRA_BENCH_PHOTOS=DIR build/bin/bench_data   (DIR: *.png / *.jpg photos)
#include <benchmark/benchmark.h>

#include <contra/contra.hpp>
#include <contra/tasks/image_text.hpp>
#include <cstdlib>
#include <fstream>

using namespace contra;
namespace fs = std::filesystem;

namespace {

// A caption table of the photos in $CONTRA_BENCH_PHOTOS, each listed 8 times (in a temp folder).
fs::path photo_table() {
    const char* dir = std::getenv("CONTRA_BENCH_PHOTOS");
    CONTRA_CHECK(dir != nullptr, "set CONTRA_BENCH_PHOTOS to a folder of PNG/JPEG photos (sh benchmarks/data.sh does)");
    const fs::path table = fs::temp_directory_path() / "contra_bench_photos.csv";
    std::ofstream out(table);
    out << "filepath,title\n";
    int rows = 0;
    for (int copy = 0; copy < 8; ++copy)
        for (const auto& entry : fs::directory_iterator(dir)) {
            const auto ext = entry.path().extension();
            if (ext != ".png" && ext != ".jpg") continue;
            out << fs::absolute(entry.path()).string() << ",a photo of " << entry.path().stem().string() << "\n";
            ++rows;
        }
    CONTRA_CHECK(rows > 0, "no .png or .jpg in ", dir);
    return table;
}

void pipeline(benchmark::State& state) {
    static const fs::path table = photo_table();
    tasks::ImageTextOptions o;
    o.image_size = 224;
    o.augment = state.range(1) != 0;
    o.workers = std::size_t(state.range(0));
    auto stream = tasks::ImageTextStream::csv(table, {}, data::Tokenizer{}, 77, o);
    constexpr std::int64_t kBatch = 16;
    stream.next(kBatch);  // threads started, first images decoded
    for (auto _ : state) benchmark::DoNotOptimize(stream.next(kBatch).images.data());
    state.counters["pairs/s"] = benchmark::Counter(double(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

// args: decoding threads (0: in the calling thread), augment (1: random resized crop, 0: centre crop)
BENCHMARK(pipeline)->ArgNames({"workers", "augment"})->Args({0, 0})->Args({0, 1})->Args({1, 1})->Args({2, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK_MAIN();
