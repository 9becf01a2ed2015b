// `--device cuda` for the contra program's commands, compiled by nvcc when the program is built
// with CUDA: the model-typed halves of `contra train` (train_run.hpp), `contra eval CHECKPOINT`
// (datasets.hpp) and `--model` (eval_run.hpp), `contra bench` (bench_run.hpp), `contra embed`,
// `grad`, `zeroshot` and `index` (pretrained_run.hpp) for the GPU models. Options, data and vocabularies stay with the CPU halves
// (train.cpp, eval.cpp, bench.cpp, pretrained.cpp, search.cpp); one unit, so the GPU models are
// compiled once for all of them.
#include <contra/cuda.hpp>  // first: it keeps Eigen's nvcc notes quiet for the headers below

#include "bench_run.hpp"
#include "eval_run.hpp"
#include "pretrained_run.hpp"
#include "train_run.hpp"

namespace contra::cli {

void require_cuda_device() {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        (void)cudaGetLastError();
        throw Error(std::string("--device cuda: no usable GPU (") + cudaGetErrorName(status) + ": " +
                    cudaGetErrorString(status) + "); use --device cpu");
    }
    CONTRA_CHECK(count > 0, "--device cuda: the CUDA runtime sees no GPU; use --device cpu");
}

template <>
std::string where_it_runs<cuda>() {
    int device = 0;
    CONTRA_CUDA_CHECK(cudaGetDevice(&device));
    cudaDeviceProp prop{};
    CONTRA_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    return "GPU " + std::to_string(device) + " (" + prop.name + ")";
}

// The GPU models this program compiles: CLIP's InfoNCE loss and causal text tower, with either MLP
// activation (OpenAI's QuickGELU, open_clip's GELU) in float, and OpenAI's in bf16 (mixed
// precision). The other variants train on the CPU.
template <class T, class Act>
using CudaClip = model::ClipWithActivation<Act, T, cuda, ad::Fused, ::contra::loss::InfoNce<T, cuda>, nn::CausalMask>;

void train_on_cuda(TrainSetup& setup, ops::Activation activation, io::LossKind loss_kind, bool causal_text) {
    CONTRA_CHECK(loss_kind == io::LossKind::infonce && causal_text,
                 "--device cuda trains CLIP's InfoNCE loss with a causal text tower; --loss siglip and --text-mask none "
                 "train on --device cpu");
    const auto& precision = setup.o.precision;
    const cu::FloatMathGuard math(precision == "tf32" ? cu::FloatMath::tf32 : cu::FloatMath::strict);
    if (precision == "bf16") {
        CONTRA_CHECK(activation == ops::Activation::quick_gelu, "--precision bf16 is built for QuickGELU models (OpenAI's); ",
                     io::activation_name(activation), " trains on the GPU with --precision fp32 or tf32");
        return train_model<CudaClip<bf16, nn::QuickGelu>>(setup);
    }
    switch (activation) {
        case ops::Activation::quick_gelu: return train_model<CudaClip<float, nn::QuickGelu>>(setup);
        case ops::Activation::gelu: return train_model<CudaClip<float, nn::Gelu>>(setup);
        default: throw Error("--device cuda: activation " + io::activation_name(activation) + " is not built into this program");
    }
}

// ─── contra eval CHECKPOINT ───────────────────────────────────────────────────────────────────

Evaluation evaluate_checkpoint_on_cuda(const std::filesystem::path& path, const model::ClipConfig& config, std::uint64_t seed,
                                       const Dataset& d, const tasks::CaptionEncoder& encoder, std::int64_t test_limit,
                                       std::int64_t probe_limit, bool with_probe, ops::Activation activation,
                                       io::LossKind loss_kind, bool causal_text) {
    CONTRA_CHECK(loss_kind == io::LossKind::infonce && causal_text,
                 "--device cuda evaluates CLIPs with InfoNCE and a causal text tower; evaluate this one with --device cpu");
    switch (activation) {
        case ops::Activation::quick_gelu:
            return evaluate_checkpoint<CudaClip<float, nn::QuickGelu>>(path, config, seed, d, encoder, test_limit, probe_limit, with_probe);
        case ops::Activation::gelu:
            return evaluate_checkpoint<CudaClip<float, nn::Gelu>>(path, config, seed, d, encoder, test_limit, probe_limit, with_probe);
        default: throw Error("--device cuda: activation " + io::activation_name(activation) + " is not built into this program");
    }
}

// ─── contra embed, grad, zeroshot, index ─────────────────────────────────────────────────────

// f(model) with p's model built in float on the GPU and its weights loaded.
template <class F>
decltype(auto) with_pretrained_on_cuda(const io::Pretrained& p, F&& f) {
    CONTRA_CHECK(!p.resnet, "--device cuda runs ViT CLIPs; this model's ResNet image tower runs on --device cpu");
    CONTRA_CHECK(p.loss == io::LossKind::infonce && p.causal_text,
                 "--device cuda runs CLIPs with InfoNCE and a causal text tower; this one runs on --device cpu");
    const auto run = [&]<class M>(std::type_identity<M>) -> decltype(auto) {
        M model(p.config, model::uninitialized);  // every parameter is loaded next
        io::load_pretrained(p, model);
        return f(model);
    };
    switch (p.activation) {
        case ops::Activation::quick_gelu: return run(std::type_identity<CudaClip<float, nn::QuickGelu>>{});
        case ops::Activation::gelu: return run(std::type_identity<CudaClip<float, nn::Gelu>>{});
        default: throw Error("--device cuda: activation " + io::activation_name(p.activation) + " is not built into this program");
    }
}

void embed_on_cuda(const io::Pretrained& p, const io::SafetensorsFile& in, bool gradients, const std::string& out_path) {
    with_pretrained_on_cuda(p, [&](auto& model) { embed_with(model, p, in, gradients, out_path); });
}

std::vector<std::vector<double>> zeroshot_on_cuda(const io::Pretrained& p, const ZeroShotJob& job) {
    return with_pretrained_on_cuda(p, [&](auto& model) { return zeroshot_with(model, job); });
}

void with_image_embedder_on_cuda(const io::Pretrained& p, const std::function<void(const ImageEmbedder&)>& f) {
    with_pretrained_on_cuda(p, [&](auto& model) {
        f([&](const Tensor<float, cpu>& images, std::int64_t batch) {
            return eval::encode_images(model, to_device<cuda>(images), batch);
        });
    });
}

json model_eval_tasks_on_cuda(const io::Pretrained& p, const eval_cmd::ModelEvalJob& job) {
    return with_pretrained_on_cuda(p, [&](auto& model) { return eval_cmd::model_eval_tasks(model, job); });
}

// ─── contra bench ─────────────────────────────────────────────────────────────────────────────

template <>
void wait_for<cuda>() {
    cu::synchronize();
}

template <>
nlohmann::json device_facts<cuda>() {
    const auto memory = cu::memory_stats();
    std::size_t free = 0, total = 0;
    CONTRA_CUDA_CHECK(cudaMemGetInfo(&free, &total));
    return {{"gpu", where_it_runs<cuda>()},
            {"peak_gpu_tensor_mb", double(memory.peak_bytes_in_use) / 1e6},  // the caching allocator's tensors
            {"gpu_used_mb", double(total - free) / 1e6}};                    // the device's use, pools and context included
}

void bench_train_on_cuda(const BenchOptions& o) {
    require_cuda_device();
    const cu::FloatMathGuard math(o.precision == "tf32" ? cu::FloatMath::tf32 : cu::FloatMath::strict);
    if (o.precision == "bf16") return bench_train_on<bf16, cuda>(o);
    bench_train_on<float, cuda>(o);
}

void bench_embed_on_cuda(const BenchOptions& o) {
    require_cuda_device();
    const cu::FloatMathGuard math(o.precision == "tf32" ? cu::FloatMath::tf32 : cu::FloatMath::strict);
    if (o.precision == "bf16") return bench_embed_on<bf16, cuda>(o);
    bench_embed_on<float, cuda>(o);
}

}  // namespace contra::cli
