// contra/backend/cuda/optim.cuh — the AdamW update (torch.optim.AdamW), one thread per element,
// computed in double whatever T is and rounded once on store, as the reference does; and its
// mixed-precision form, fp32 master weights for a bf16 parameter.
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

// One element's update: g the gradient, p the parameter (in: before, out: after), m and v its moments.
__device__ inline void adamw_element(const AdamWConstants& k, double g, double& p, double& m, double& v) {
    p *= k.decay;
    m = k.beta1 * m + (1.0 - k.beta1) * g;
    v = k.beta2 * v + (1.0 - k.beta2) * g * g;
    p -= k.step_size * m / (sqrt(v) / k.bc2_sqrt + k.eps);
}

template <class T>
__global__ void adamw_kernel(Index64 n, AdamWConstants k, T* param, const T* grad, T* m, T* v) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) {
        double p = double(acc_t<T>(param[i])), mi = double(acc_t<T>(m[i])), vi = double(acc_t<T>(v[i]));
        adamw_element(k, double(acc_t<T>(grad[i])), p, mi, vi);
        param[i] = T(acc_t<T>(p));
        m[i] = T(acc_t<T>(mi));
        v[i] = T(acc_t<T>(vi));
    }
}

// Mixed precision: a 16-bit parameter T with its master A = acc_t<T> (float) and moments in A. A
// parameter that no longer is its master rounded was changed outside the optimizer: the master
// takes its value first.
template <class A, class T>
__global__ void adamw_master_kernel(Index64 n, AdamWConstants k, A* master, T* param, const T* grad, A* m, A* v) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) {
        const T current = param[i];
        A start = master[i];
        if (T(start).bits != current.bits) start = A(current);
        double p = double(start), mi = double(m[i]), vi = double(v[i]);
        adamw_element(k, double(A(grad[i])), p, mi, vi);
        const A updated = A(p);
        master[i] = updated;
        param[i] = T(updated);
        m[i] = A(mi);
        v[i] = A(vi);
    }
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

inline AdamWConstants adamw_constants(const ops::AdamWStep& h) {
    const double bc1 = 1.0 - std::pow(h.beta1, double(h.step)), bc2 = 1.0 - std::pow(h.beta2, double(h.step));
    return {1.0 - h.lr * h.weight_decay, h.beta1, h.beta2, h.lr / bc1, std::sqrt(bc2), h.eps};
}

template <class T>
void launch_adamw(cudaStream_t stream, Index64 n, const ops::AdamWStep& h, T* param, const T* grad, T* m, T* v) {
    if (n == 0) return;
    adamw_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, adamw_constants(h), param, grad, m, v);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class A, class T>
void launch_adamw_master(cudaStream_t stream, Index64 n, const ops::AdamWStep& h, A* master, T* param, const T* grad, A* m,
                         A* v) {
    if (n == 0) return;
    adamw_master_kernel<A, T><<<grid_for(n), kBlock, 0, stream>>>(n, adamw_constants(h), master, param, grad, m, v);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: optimisation ──────────────────────────────────────────────────────────────

struct Optim {
    template <class T>
    static void adamw(Tensor<T, cuda>& param, const Tensor<T, cuda>& grad, Tensor<T, cuda>& m, Tensor<T, cuda>& v, ops::AdamWStep h) {
        require_cuda_type<T>();
        launch_adamw(current_stream(), param.numel(), h, param.data(), grad.data(), m.data(), v.data());
    }
    template <class A, class T>
    static void adamw_master(Tensor<A, cuda>& master, Tensor<T, cuda>& param, const Tensor<T, cuda>& grad, Tensor<A, cuda>& m,
                             Tensor<A, cuda>& v, ops::AdamWStep h) {
        require_cuda_type<T>();
        launch_adamw_master(current_stream(), param.numel(), h, master.data(), param.data(), grad.data(), m.data(), v.data());
    }
};

}  // namespace contra::cu
