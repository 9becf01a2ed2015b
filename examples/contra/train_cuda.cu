// `contra train --device cuda`: train_model (train_run.hpp) for the GPU models, compiled by nvcc
// when the program is built with CUDA. The CPU half of the command (options, data, vocabulary)
// is train.cpp's; only the model-typed half is here.
#include <contra/cuda.hpp>  // first: it keeps Eigen's nvcc notes quiet for the headers below

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
// activation (OpenAI's QuickGELU, open_clip's GELU). The other variants train on the CPU.
void train_on_cuda(TrainSetup& setup, ops::Activation activation, io::LossKind loss_kind, bool causal_text) {
    CONTRA_CHECK(loss_kind == io::LossKind::infonce && causal_text,
                 "--device cuda trains CLIP's InfoNCE loss with a causal text tower; --loss siglip and --text-mask none "
                 "train on --device cpu");
    const cu::FloatMathGuard math(setup.o.precision == "tf32" ? cu::FloatMath::tf32 : cu::FloatMath::strict);
    using Loss = ::contra::loss::InfoNce<float, cuda>;
    switch (activation) {
        case ops::Activation::quick_gelu:
            return train_model<model::ClipWithActivation<nn::QuickGelu, float, cuda, ad::Fused, Loss, nn::CausalMask>>(setup);
        case ops::Activation::gelu:
            return train_model<model::ClipWithActivation<nn::Gelu, float, cuda, ad::Fused, Loss, nn::CausalMask>>(setup);
        default: throw Error("--device cuda: activation " + io::activation_name(activation) + " is not built into this program");
    }
}

}  // namespace contra::cli
