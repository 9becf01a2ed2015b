// contra/backend/cuda/linalg.cuh — gemm and gemm_batched through cuBLAS (cublasGemmEx,
// cublasGemmStridedBatchedEx) on row-major tensors.
// defines: contra::cu::Linalg (the gemm part of Kernels<cuda>), cu::gemm_strided_batched
//
// Row-major through a column-major library. cuBLAS reads matrices column-major, and a row-major
// [r,c] matrix in memory is, read column-major, its transpose [c,r] with leading dimension c.
// So instead of C = op(A)·op(B) we ask cuBLAS for Cᵀ = op(B)ᵀ·op(A)ᵀ: the operands swap places,
// m and n swap, each operand keeps its own transpose flag, and each matrix's leading dimension is
// its row length as stored. Cᵀ written column-major is C row-major: no copy, no transpose kernel.
//
// Precision: float in strict fp32 (CUBLAS_COMPUTE_32F, no TF32; CUBLAS_COMPUTE_32F_FAST_TF32 when
// cu::set_float_math(FloatMath::tf32) asked for it), double in fp64, bf16 in and out
// with fp32 accumulation (CUBLAS_COMPUTE_32F); alpha and beta are acc_t<T> (float, double, float).
#pragma once
#include <limits>

#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// c[i] = beta · c[i] (gemm with an empty inner dimension and beta ≠ 0).
template <class T>
__global__ void scale_kernel(Index64 n, acc_t<T> beta, T* c) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) c[i] = T(beta * acc_t<T>(c[i]));
}

// y[r, o] = bias[o] for every row r: the starting value of a linear layer's output.
template <class T>
__global__ void broadcast_rows_kernel(Index64 rows, Index64 cols, const T* bias, T* y) {
    for (Index64 i = first_index(); i < rows * cols; i += grid_stride()) y[i] = bias[i % cols];
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

// How cuBLAS is to see T: storage type, and the type it computes in.
template <class T> struct BlasType;
template <> struct BlasType<float> {
    static constexpr cudaDataType_t data = CUDA_R_32F;
    static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
};
template <> struct BlasType<double> {
    static constexpr cudaDataType_t data = CUDA_R_64F;
    static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_64F;
};
template <> struct BlasType<bf16> {
    static constexpr cudaDataType_t data = CUDA_R_16BF;
    static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
};

// compute_type<T>(): BlasType<T>::compute, or TF32 tensor cores for float when the process asked.
template <class T>
cublasComputeType_t compute_type() {
    if constexpr (std::is_same_v<T, float>)
        if (float_math() == FloatMath::tf32) return CUBLAS_COMPUTE_32F_FAST_TF32;
    return BlasType<T>::compute;
}

inline cublasOperation_t blas_op(ops::Trans t) { return t == ops::Trans::N ? CUBLAS_OP_N : CUBLAS_OP_T; }

inline int blas_int(Index64 value, const char* what) {
    CONTRA_CHECK(value <= std::numeric_limits<int>::max(), "gemm: ", what, " = ", value,
                 " exceeds what cuBLAS takes (2^31 - 1)");
    return int(value);
}

// c = beta · c over n elements; beta = 0 writes zeros without reading c (NaN-safe).
template <class T>
void scale(cudaStream_t stream, Index64 n, acc_t<T> beta, T* c) {
    if (n == 0) return;
    if (beta == acc_t<T>(0)) {
        CONTRA_CUDA_CHECK(cudaMemsetAsync(c, 0, std::size_t(n) * sizeof(T), stream));
        return;
    }
    scale_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, beta, c);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// For each l < batch: C_l[m,n] = alpha · op(A_l) · op(B_l) + beta · C_l, all row-major, matrix l
// of each operand starting l·stride elements after the first (a stride of 0 repeats one matrix).
// Queued on the stream the handle is bound to (cublas_handle() binds it to the current stream).
template <class T>
void gemm_strided_batched(cublasHandle_t handle, ops::Trans ta, ops::Trans tb, Index64 batch, Index64 m, Index64 n,
                          Index64 k, acc_t<T> alpha, const T* a, Index64 stride_a, const T* b, Index64 stride_b,
                          acc_t<T> beta, T* c, Index64 stride_c) {
    require_cuda_type<T>();
    if (batch == 0 || m == 0 || n == 0) return;
    if (k == 0) {  // op(A)·op(B) is all zeros: C = beta · C
        cudaStream_t stream = nullptr;
        CONTRA_CUBLAS_CHECK(cublasGetStream(handle, &stream));
        if (stride_c == m * n) scale(stream, batch * m * n, beta, c);
        else
            for (Index64 l = 0; l < batch; ++l) scale(stream, m * n, beta, c + l * stride_c);
        return;
    }
    // Leading dimensions: the row length of each matrix as stored.
    const Index64 lda = ta == ops::Trans::N ? k : m, ldb = tb == ops::Trans::N ? n : k, ldc = n;
    const auto type = BlasType<T>::data;
    const auto compute = compute_type<T>();
    if (batch == 1) {
        CONTRA_CUBLAS_CHECK(cublasGemmEx(handle, blas_op(tb), blas_op(ta), blas_int(n, "n"), blas_int(m, "m"),
                                         blas_int(k, "k"), &alpha, b, type, blas_int(ldb, "ldb"), a, type,
                                         blas_int(lda, "lda"), &beta, c, type, blas_int(ldc, "ldc"), compute,
                                         CUBLAS_GEMM_DEFAULT));
        return;
    }
    CONTRA_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        handle, blas_op(tb), blas_op(ta), blas_int(n, "n"), blas_int(m, "m"), blas_int(k, "k"), &alpha, b, type,
        blas_int(ldb, "ldb"), (long long)stride_b, a, type, blas_int(lda, "lda"), (long long)stride_a, &beta, c, type,
        blas_int(ldc, "ldc"), (long long)stride_c, blas_int(batch, "batch"), compute, CUBLAS_GEMM_DEFAULT));
}

// The packed case: matrix l of each operand follows matrix l − 1 directly.
template <class T>
void gemm_strided_batched(cublasHandle_t handle, ops::Trans ta, ops::Trans tb, Index64 batch, Index64 m, Index64 n,
                          Index64 k, acc_t<T> alpha, const T* a, const T* b, acc_t<T> beta, T* c) {
    gemm_strided_batched<T>(handle, ta, tb, batch, m, n, k, alpha, a, m * k, b, k * n, beta, c, m * n);
}

// ─── Kernels<cuda>: linear algebra ────────────────────────────────────────────────────────────

struct Linalg {
    template <class T>
    static void gemm(ops::Trans ta, ops::Trans tb, Index64 m, Index64 n, Index64 k, acc_t<T> alpha, const Tensor<T, cuda>& a,
                     const Tensor<T, cuda>& b, acc_t<T> beta, Tensor<T, cuda>& c) {
        gemm_strided_batched<T>(cublas_handle(), ta, tb, 1, m, n, k, alpha, a.data(), b.data(), beta, c.data());
    }
    // y = x·wᵀ + bias: the bias broadcast into y, then one GEMM with beta = 1.
    template <class T>
    static void linear(const Tensor<T, cuda>& x, const Tensor<T, cuda>& w, const Tensor<T, cuda>* bias, Tensor<T, cuda>& y) {
        const Index64 rows = x.rows(), out = w.size(0), in = x.cols();
        if (bias && rows * out > 0) {
            broadcast_rows_kernel<T><<<grid_for(rows * out), kBlock, 0, current_stream()>>>(rows, out, bias->data(), y.data());
            CONTRA_CUDA_CHECK_LAUNCH();
        }
        gemm_strided_batched<T>(cublas_handle(), ops::Trans::N, ops::Trans::T, 1, rows, out, in, acc_t<T>(1), x.data(),
                                w.data(), acc_t<T>(bias ? 1 : 0), y.data());
    }
    template <class T>
    static void gemm_batched(ops::Trans ta, ops::Trans tb, Index64 batch, Index64 m, Index64 n, Index64 k,
                             acc_t<T> alpha, const Tensor<T, cuda>& a, const Tensor<T, cuda>& b, acc_t<T> beta, Tensor<T, cuda>& c) {
        gemm_strided_batched<T>(cublas_handle(), ta, tb, batch, m, n, k, alpha, a.data(), b.data(), beta, c.data());
    }
};

}  // namespace contra::cu
