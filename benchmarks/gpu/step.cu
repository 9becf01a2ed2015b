// bench_gpu_step: contra's side of the GPU comparison with the PyTorch peer (peers/torch_clip_gpu.py):
// the OpenAI ViT-B/32 CLIP in float32 on one GPU, one training step (forward, symmetric loss,
// backward, AdamW; the loss read back each step) or image embedding without a tape, on random data.
// Timed with CUDA events after warm-up steps; the median is printed as one JSON line.
//   bench_gpu_step step  [--batch 256] [--steps 10]
//   bench_gpu_step embed [--batch 1024] [--steps 10]
// Peak memory is the caching allocator's (tensors; the pool reserves more) and the device's use
// as cudaMemGetInfo sees it. One measurement a process, so each peak is its own.
#include <contra/cuda.hpp>  // first: it keeps Eigen's nvcc notes quiet for the headers below

#include <algorithm>
#include <contra/bench/train_step.hpp>
#include <contra/model/count.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace contra;

namespace {

struct Args {
    std::string what;
    std::int64_t batch = 0;
    int steps = 10, warmup = 3;
};

Args parse(int argc, char** argv) {
    Args a;
    CONTRA_CHECK(argc >= 2 && (std::strcmp(argv[1], "step") == 0 || std::strcmp(argv[1], "embed") == 0),
                 "usage: bench_gpu_step step|embed [--batch N] [--steps N]");
    a.what = argv[1];
    a.batch = a.what == "step" ? 256 : 1024;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const long value = std::strtol(argv[i + 1], nullptr, 10);
        CONTRA_CHECK(value > 0, flag, " needs a positive number, got '", argv[i + 1], "'");
        if (flag == "--batch") a.batch = value;
        else if (flag == "--steps") a.steps = int(value);
        else throw Error("unknown option " + flag + " (known: --batch, --steps)");
    }
    return a;
}

// median_ms(a, f): f's median time over a.steps runs after a.warmup, in milliseconds.
template <class F>
double median_ms(const Args& a, F&& f) {
    for (int i = 0; i < a.warmup; ++i) f();
    cu::synchronize();
    cudaEvent_t start, stop;
    CONTRA_CUDA_CHECK(cudaEventCreate(&start));
    CONTRA_CUDA_CHECK(cudaEventCreate(&stop));
    std::vector<double> ms;
    for (int i = 0; i < a.steps; ++i) {
        CONTRA_CUDA_CHECK(cudaEventRecord(start, cu::current_stream()));
        f();
        CONTRA_CUDA_CHECK(cudaEventRecord(stop, cu::current_stream()));
        CONTRA_CUDA_CHECK(cudaEventSynchronize(stop));
        float elapsed = 0;
        CONTRA_CUDA_CHECK(cudaEventElapsedTime(&elapsed, start, stop));
        ms.push_back(double(elapsed));
    }
    CONTRA_CUDA_CHECK(cudaEventDestroy(start));
    CONTRA_CUDA_CHECK(cudaEventDestroy(stop));
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

double device_used_gib() {
    std::size_t free = 0, total = 0;
    CONTRA_CUDA_CHECK(cudaMemGetInfo(&free, &total));
    return double(total - free) / double(1ull << 30);
}

}  // namespace

int main(int argc, char** argv) try {
    const Args a = parse(argc, argv);
    cudaDeviceProp prop{};
    CONTRA_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    auto config = bench::peer_config("vitb32");
    config.batch = a.batch;
    const auto flops = model::forward_flops(config.clip);
    double ms = 0, work_flops = 0;
    if (a.what == "step") {
        bench::TrainStep<float, cuda> step(config);
        ms = median_ms(a, [&] { (void)step.run(); });
        work_flops = 3 * double(a.batch) * (flops.per_image + flops.per_text);  // forward + twice that backward
    } else {
        model::OpenAiClip<float, cuda> model(config.clip, 0);
        const auto images = to_device<device_of<cuda>>(bench::random_images(config.clip.vision, a.batch));
        Tape arena_only;
        Tape::Active on(arena_only);
        NoGrad no_record;
        ms = median_ms(a, [&] {
            arena_only.reset();
            (void)model.encode_image(images);
        });
        work_flops = double(a.batch) * flops.per_image;
    }
    const auto memory = cu::memory_stats();
    std::printf("{\"contra\": \"0.1.0\", \"device\": \"%s\", \"what\": \"%s\", \"precision\": \"fp32\", \"batch\": %lld, "
                "\"ms\": %.3f, \"per_s\": %.1f, \"tflop_per_s\": %.2f, \"peak_tensor_gib\": %.2f, \"device_used_gib\": %.2f}\n",
                prop.name, a.what.c_str(), (long long)a.batch, ms, double(a.batch) / (ms / 1e3), work_flops / (ms / 1e3) / 1e12,
                double(memory.peak_bytes_in_use) / double(1ull << 30), device_used_gib());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu_step: %s\n", e.what());
    return 1;
}
