// contra/backend/cuda/optim.cuh — the AdamW update (torch.optim.AdamW), one thread per element,
// computed in double whatever T is and rounded once on store, as the reference does.
// defines: contra::cu::Optim (the optim part of Kernels<cuda>)
#pragma once
#include <cmath>

#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// The step's constants, formed once on the host.
struct AdamWConstants {
    double decay;      // 1 − lr·weight_decay
    double beta1, beta2;
    double step_size;  // lr / (1 − β1^t)
    double bc2_sqrt;   // sqrt(1 − β2^t)
    double eps;
};

template <class T>
__global__ void adamw_kernel(Index64 n, AdamWConstants k, T* param, const T* grad, T* m, T* v) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) {
        const double g = double(acc_t<T>(grad[i]));
        double p = double(acc_t<T>(param[i])) * k.decay;
        const double mi = k.beta1 * double(acc_t<T>(m[i])) + (1.0 - k.beta1) * g;
        const double vi = k.beta2 * double(acc_t<T>(v[i])) + (1.0 - k.beta2) * g * g;
        p -= k.step_size * mi / (sqrt(vi) / k.bc2_sqrt + k.eps);
        param[i] = T(acc_t<T>(p));
        m[i] = T(acc_t<T>(mi));
        v[i] = T(acc_t<T>(vi));
    }
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

template <class T>
void launch_adamw(cudaStream_t stream, Index64 n, const ops::AdamWStep& h, T* param, const T* grad, T* m, T* v) {
    if (n == 0) return;
    const double bc1 = 1.0 - std::pow(h.beta1, double(h.step)), bc2 = 1.0 - std::pow(h.beta2, double(h.step));
    const AdamWConstants k{1.0 - h.lr * h.weight_decay, h.beta1, h.beta2, h.lr / bc1, std::sqrt(bc2), h.eps};
    adamw_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, k, param, grad, m, v);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: optimisation ──────────────────────────────────────────────────────────────

struct Optim {
    template <class T>
    static void adamw(Tensor<T, cuda>& param, const Tensor<T, cuda>& grad, Tensor<T, cuda>& m, Tensor<T, cuda>& v, ops::AdamWStep h) {
        require_cuda_type<T>();
        launch_adamw(current_stream(), param.numel(), h, param.data(), grad.data(), m.data(), v.data());
    }
};

}  // namespace contra::cu
