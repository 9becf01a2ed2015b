// benchmarks/data.cpp — the image–caption pipeline of contra train --dataset csv at CLIP's 224 px:
// read the file, decode PNG/JPEG, random resized crop (bicubic) or resize + centre crop,
// normalise, tokenise the caption; on 0, 1 or 2 worker threads. The work of
// benchmarks/peers/pil_preprocess.py (Pillow + NumPy, one process). Also one JPEG to the model's
// input, decoded at full size or scaled by libjpeg-turbo (contra index --fast-decode).
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

// The JPEGs in $CONTRA_BENCH_PHOTOS that decode, as bytes.
std::vector<std::vector<std::uint8_t>> jpeg_photos() {
    const char* dir = std::getenv("CONTRA_BENCH_PHOTOS");
    CONTRA_CHECK(dir != nullptr, "set CONTRA_BENCH_PHOTOS to a folder of PNG/JPEG photos (sh benchmarks/data.sh does)");
    std::vector<std::vector<std::uint8_t>> out;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".jpg") continue;
        auto bytes = data::read_file_bytes(entry.path(), std::uint64_t(1) << 28);
        try {
            (void)data::decode_image(bytes, entry.path().string());
            out.push_back(std::move(bytes));
        } catch (const Error&) {  // a broken sample (truncated.jpg)
        }
    }
    CONTRA_CHECK(!out.empty(), "no .jpg that decodes in ", dir);
    return out;
}

// One JPEG to the model's 224 px input: decoded at full size (jpeg_min_side 0) or at the smallest
// libjpeg-turbo scale covering 224 (contra index --fast-decode), then CLIP's preprocessing. The
// counters max_abs_diff and mean_abs_diff compare the result with exact decoding, in CLIP's
// normalised units (one level of 8-bit colour is about 0.015).
void jpeg_to_input(benchmark::State& state) {
    static const auto photos = jpeg_photos();
    const data::DecodeOptions exact, scaled{.jpeg_min_side = int(state.range(0))};
    std::vector<float> input(3 * 224 * 224), reference(input.size());
    double worst = 0, total = 0;
    for (const auto& bytes : photos) {
        data::preprocess_into<float>(data::decode_image(bytes, "photo", exact), 224, reference.data());
        data::preprocess_into<float>(data::decode_image(bytes, "photo", scaled), 224, input.data());
        for (std::size_t i = 0; i < input.size(); ++i) {
            worst = std::max(worst, double(std::abs(input[i] - reference[i])));
            total += std::abs(input[i] - reference[i]);
        }
    }
    for (auto _ : state)
        for (const auto& bytes : photos) {
            data::preprocess_into<float>(data::decode_image(bytes, "photo", scaled), 224, input.data());
            benchmark::DoNotOptimize(input.data());
        }
    state.counters["images/s"] = benchmark::Counter(double(photos.size()), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["max_abs_diff"] = worst;
    state.counters["mean_abs_diff"] = total / double(photos.size() * input.size());
}

}  // namespace

// arg: jpeg_min_side (0: full-size decoding)
BENCHMARK(jpeg_to_input)->ArgName("jpeg_min_side")->Arg(0)->Arg(224)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// args: decoding threads (0: in the calling thread), augment (1: random resized crop, 0: centre crop)
BENCHMARK(pipeline)->ArgNames({"workers", "augment"})->Args({0, 0})->Args({0, 1})->Args({1, 1})->Args({2, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK_MAIN();
