// contra/backend/cuda/elementwise.cuh — binary (with broadcast), unary, affine, clamp, convert, axpy, fill:
// one thread per element in a grid-stride loop, arithmetic in acc_t<T>.
// defines: contra::cu::Elementwise (the elementwise part of Kernels<cuda>), cu::launch_*
#pragma once
#include "../ops.hpp"
#include "../scalar_math.hpp"
#include "common.cuh"
#include "context.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// out[i] = a[i] ∘ b[r·b_row_stride + c·b_col_stride] for i = r·cols + c. The strides say how b is
// broadcast: a full matrix (cols, 1), a row (0, 1), a column (1, 0), a scalar (0, 0).
template <class T>
__global__ void binary_kernel(ops::BinaryOp op, Index64 n, Index64 cols, const T* a, const T* b, Index64 b_row_stride,
                              Index64 b_col_stride, T* out) {
    using A = acc_t<T>;
    for (Index64 i = first_index(); i < n; i += grid_stride()) {
        const Index64 r = i / cols, c = i - r * cols;
        out[i] = T(scalar::apply(op, A(a[i]), A(b[r * b_row_stride + c * b_col_stride])));
    }
}

template <class T>
__global__ void unary_kernel(ops::UnaryOp op, Index64 n, const T* x, T* out) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) out[i] = T(scalar::apply(op, acc_t<T>(x[i])));
}

template <class T>
__global__ void affine_kernel(Index64 n, acc_t<T> alpha, acc_t<T> beta, const T* x, T* out) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) out[i] = T(alpha * acc_t<T>(x[i]) + beta);
}

template <class T>
__global__ void clamp_kernel(Index64 n, acc_t<T> lo, acc_t<T> hi, const T* x, T* out) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) {
        const acc_t<T> v = acc_t<T>(x[i]);
        out[i] = T(v < lo ? lo : v > hi ? hi : v);
    }
}

template <class T, class U>
__global__ void convert_kernel(Index64 n, const T* x, U* out) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) out[i] = U(acc_t<T>(x[i]));
}

template <class T>
__global__ void axpy_kernel(Index64 n, acc_t<T> alpha, const T* x, T* y) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) y[i] = T(acc_t<T>(y[i]) + alpha * acc_t<T>(x[i]));
}

template <class T>
__global__ void fill_kernel(Index64 n, T value, T* out) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) out[i] = value;
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

// out [rows, cols] = a ∘ b with b [brows, bcols], brows ∈ {1, rows}, bcols ∈ {1, cols}.
template <class T>
void launch_binary(cudaStream_t stream, ops::BinaryOp op, Index64 rows, Index64 cols, const T* a, Index64 brows,
                   Index64 bcols, const T* b, T* out) {
    const Index64 n = rows * cols;
    if (n == 0) return;
    const Index64 b_row_stride = brows == 1 ? 0 : bcols, b_col_stride = bcols == 1 ? 0 : 1;
    binary_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(op, n, cols, a, b, b_row_stride, b_col_stride, out);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_unary(cudaStream_t stream, ops::UnaryOp op, Index64 n, const T* x, T* out) {
    if (n == 0) return;
    unary_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(op, n, x, out);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_affine(cudaStream_t stream, Index64 n, acc_t<T> alpha, acc_t<T> beta, const T* x, T* out) {
    if (n == 0) return;
    affine_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, alpha, beta, x, out);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_clamp(cudaStream_t stream, Index64 n, acc_t<T> lo, acc_t<T> hi, const T* x, T* out) {
    if (n == 0) return;
    clamp_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, lo, hi, x, out);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T, class U>
void launch_convert(cudaStream_t stream, Index64 n, const T* x, U* out) {
    if (n == 0) return;
    convert_kernel<T, U><<<grid_for(n), kBlock, 0, stream>>>(n, x, out);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_axpy(cudaStream_t stream, Index64 n, acc_t<T> alpha, const T* x, T* y) {
    if (n == 0) return;
    axpy_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, alpha, x, y);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_fill(cudaStream_t stream, Index64 n, T value, T* out) {
    if (n == 0) return;
    fill_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, value, out);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: elementwise ───────────────────────────────────────────────────────────────

struct Elementwise {
    template <class T>
    static void binary(ops::BinaryOp op, Index64 rows, Index64 cols, const Tensor<T, cuda>& a, Index64 brows, Index64 bcols,
                       const Tensor<T, cuda>& b, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        launch_binary(current_stream(), op, rows, cols, a.data(), brows, bcols, b.data(), out.data());
    }
    template <class T>
    static void unary(ops::UnaryOp op, const Tensor<T, cuda>& x, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        launch_unary(current_stream(), op, x.numel(), x.data(), out.data());
    }
    template <class T>
    static void affine(const Tensor<T, cuda>& x, acc_t<T> alpha, acc_t<T> beta, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        launch_affine(current_stream(), x.numel(), alpha, beta, x.data(), out.data());
    }
    template <class T>
    static void clamp(const Tensor<T, cuda>& x, acc_t<T> lo, acc_t<T> hi, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        launch_clamp(current_stream(), x.numel(), lo, hi, x.data(), out.data());
    }
    template <class T, class U>
    static void convert(const Tensor<T, cuda>& x, Tensor<U, cuda>& out) {
        require_cuda_type<T>();
        require_cuda_type<U>();
        launch_convert(current_stream(), x.numel(), x.data(), out.data());
    }
    template <class T>
    static void axpy(acc_t<T> alpha, const Tensor<T, cuda>& x, Tensor<T, cuda>& y) {
        require_cuda_type<T>();
        launch_axpy(current_stream(), x.numel(), alpha, x.data(), y.data());
    }
    template <class T>
    static void fill(acc_t<T> value, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        launch_fill(current_stream(), out.numel(), T(value), out.data());
    }
};

}  // namespace contra::cu
