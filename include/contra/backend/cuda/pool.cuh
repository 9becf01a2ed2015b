// contra/backend/cuda/pool.cuh — k×k average pooling (kernel = stride = k, no padding; trailing
// rows and columns that fill no window are dropped) and its adjoint, one thread per output.
// defines: contra::cu::Pool (the pooling part of Kernels<cuda>)
#pragma once
#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// y[p, i, j] = mean of x[p, i·k + u, j·k + v] over u, v < k, for p over N·C planes.
template <class T>
__global__ void avg_pool_kernel(Index64 total, Index64 H, Index64 W, Index64 Ho, Index64 Wo, int k, const T* x, T* y) {
    using A = acc_t<T>;
    for (Index64 o = first_index(); o < total; o += grid_stride()) {
        const Index64 j = o % Wo, i = (o / Wo) % Ho, p = o / (Wo * Ho);
        const T* window = x + (p * H + i * k) * W + j * k;
        A s = 0;
        for (int u = 0; u < k; ++u)
            for (int v = 0; v < k; ++v) s += A(window[u * W + v]);
        y[o] = T(s / A(k * k));
    }
}

// dx[p, yy, xx] = dy[p, yy/k, xx/k] / k² inside the pooled area, 0 in the dropped rows and columns.
template <class T>
__global__ void avg_pool_backward_kernel(Index64 total, Index64 H, Index64 W, Index64 Ho, Index64 Wo, int k, const T* dy,
                                         T* dx) {
    using A = acc_t<T>;
    for (Index64 o = first_index(); o < total; o += grid_stride()) {
        const Index64 xx = o % W, yy = (o / W) % H, p = o / (W * H);
        const Index64 i = yy / k, j = xx / k;
        dx[o] = i < Ho && j < Wo ? T(A(dy[(p * Ho + i) * Wo + j]) / A(k * k)) : T(0);
    }
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

template <class T>
void launch_avg_pool(cudaStream_t stream, Index64 planes, Index64 H, Index64 W, int k, const T* x, T* y) {
    const Index64 Ho = H / k, Wo = W / k, total = planes * Ho * Wo;
    if (total == 0) return;
    avg_pool_kernel<T><<<grid_for(total), kBlock, 0, stream>>>(total, H, W, Ho, Wo, k, x, y);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_avg_pool_backward(cudaStream_t stream, Index64 planes, Index64 H, Index64 W, int k, const T* dy, T* dx) {
    const Index64 total = planes * H * W;
    if (total == 0) return;
    avg_pool_backward_kernel<T><<<grid_for(total), kBlock, 0, stream>>>(total, H, W, H / k, W / k, k, dy, dx);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: pooling ───────────────────────────────────────────────────────────────────

struct Pool {
    template <class T>
    static void avg_pool2d(const Tensor<T, cuda>& x, int k, Tensor<T, cuda>& y) {
        require_cuda_type<T>();
        launch_avg_pool(current_stream(), x.size(0) * x.size(1), x.size(2), x.size(3), k, x.data(), y.data());
    }
    template <class T>
    static void avg_pool2d_backward(const Tensor<T, cuda>& dy, int k, Tensor<T, cuda>& dx) {
        require_cuda_type<T>();
        launch_avg_pool_backward(current_stream(), dx.size(0) * dx.size(1), dx.size(2), dx.size(3), k, dy.data(),
                                 dx.data());
    }
};

}  // namespace contra::cu
