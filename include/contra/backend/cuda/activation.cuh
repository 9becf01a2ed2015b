// contra/backend/cuda/activation.cuh — the MLP nonlinearities (QuickGELU, GELU, tanh-GELU, ReLU)
// and their derivatives, elementwise in acc_t<T> with the formulas of scalar_math.hpp.
// defines: contra::cu::Activations (the activation part of Kernels<cuda>)
#pragma once
#include "../ops.hpp"
#include "../scalar_math.hpp"
#include "common.cuh"
#include "context.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

template <class T>
__global__ void activation_kernel(ops::Activation f, Index64 n, const T* x, T* y) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) y[i] = T(scalar::activate(f, acc_t<T>(x[i])));
}

// dx = f'(x) · dy
template <class T>
__global__ void activation_backward_kernel(ops::Activation f, Index64 n, const T* x, const T* dy, T* dx) {
    using A = acc_t<T>;
    for (Index64 i = first_index(); i < n; i += grid_stride()) dx[i] = T(scalar::activate_grad(f, A(x[i])) * A(dy[i]));
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

template <class T>
void launch_activation(cudaStream_t stream, ops::Activation f, Index64 n, const T* x, T* y) {
    if (n == 0) return;
    activation_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(f, n, x, y);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_activation_backward(cudaStream_t stream, ops::Activation f, Index64 n, const T* x, const T* dy, T* dx) {
    if (n == 0) return;
    activation_backward_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(f, n, x, dy, dx);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: activations ───────────────────────────────────────────────────────────────

struct Activations {
    template <class T>
    static void activation(ops::Activation f, const Tensor<T, cuda>& x, Tensor<T, cuda>& y) {
        require_cuda_type<T>();
        launch_activation(current_stream(), f, x.numel(), x.data(), y.data());
    }
    template <class T>
    static void activation_backward(ops::Activation f, const Tensor<T, cuda>& x, const Tensor<T, cuda>& dy, Tensor<T, cuda>& dx) {
        require_cuda_type<T>();
        launch_activation_backward(current_stream(), f, x.numel(), x.data(), dy.data(), dx.data());
    }
};

}  // namespace contra::cu
