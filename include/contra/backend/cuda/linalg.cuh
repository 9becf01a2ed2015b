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
//
// A linear layer in float or bf16 (y = x·wᵀ + bias) is one cuBLASLt matmul with the bias added in
// its epilogue: no pass to broadcast the bias into y, no read of y by the GEMM. The algorithm is
// asked of cuBLASLt's heuristic once per shape, type and operand alignment (per thread), then
// reused. Where cuBLASLt offers none, or CONTRA_CUBLASLT=off is set in the environment (to compare),
// the bias is broadcast into y and one cublasGemmEx adds x·wᵀ (the composite twin).
#pragma once
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <tuple>

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

// ─── cuBLASLt: a linear layer with its bias in the epilogue ───────────────────────────────────

// Whether linear layers take cuBLASLt (CONTRA_CUBLASLT=off in the environment: no).
inline bool cublaslt_enabled() {
    static const bool enabled = [] {
        const char* v = std::getenv("CONTRA_CUBLASLT");
        return !(v && (std::strcmp(v, "off") == 0 || std::strcmp(v, "0") == 0));
    }();
    return enabled;
}

// The largest power of two (≤ 16) dividing every address: what the heuristic may assume.
inline std::uint32_t common_alignment(std::initializer_list<const void*> pointers) {
    std::uint32_t alignment = 16;
    for (const void* p : pointers)
        if (p)
            while (alignment > 1 && reinterpret_cast<std::uintptr_t>(p) % alignment != 0) alignment /= 2;
    return alignment;
}

// One shape's cuBLASLt descriptors and chosen algorithm. Column-major views of the row-major
// tensors: w [out, in] is W (in × out), x [rows, in] is X (in × rows), y [rows, out] is Y
// (out × rows); so Y = Wᵀ·X + bias, the bias one value per row of Y (per output feature).
struct LtLinearPlan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool usable = false;

    LtLinearPlan() = default;
    LtLinearPlan(const LtLinearPlan&) = delete;
    LtLinearPlan& operator=(const LtLinearPlan&) = delete;
    ~LtLinearPlan() {
        if (w) (void)cublasLtMatrixLayoutDestroy(w);
        if (x) (void)cublasLtMatrixLayoutDestroy(x);
        if (y) (void)cublasLtMatrixLayoutDestroy(y);
        if (op) (void)cublasLtMatmulDescDestroy(op);
    }
};

// rows, out, in, storage type, compute type, with a bias, operand alignment.
using LtLinearKey = std::tuple<Index64, Index64, Index64, int, int, bool, std::uint32_t>;

// Asks the heuristic for plan's algorithm; `plan.usable` says whether there is one.
inline void make_lt_linear_plan(LtLinearPlan& plan, const LtContext& lt, const LtLinearKey& key, const void* bias) {
    const auto [rows, out, in, data, compute, with_bias, alignment] = key;
    const auto type = cudaDataType_t(data);
    const cudaDataType_t scale = CUDA_R_32F;  // float and bf16: alpha and beta in float
    CONTRA_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.op, cublasComputeType_t(compute), scale));
    const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
    CONTRA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof(transpose)));
    CONTRA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof(keep)));
    const cublasLtEpilogue_t epilogue = with_bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    CONTRA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
    if (with_bias) {
        CONTRA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &type, sizeof(type)));
        CONTRA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    }
    CONTRA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.w, type, std::uint64_t(in), std::uint64_t(out), std::int64_t(in)));
    CONTRA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.x, type, std::uint64_t(in), std::uint64_t(rows), std::int64_t(in)));
    CONTRA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.y, type, std::uint64_t(out), std::uint64_t(rows), std::int64_t(out)));
    cublasLtMatmulPreference_t preference = nullptr;
    CONTRA_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
    const std::uint64_t workspace = lt.workspace_bytes;
    (void)cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace));
    for (const auto which : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                             CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
        (void)cublasLtMatmulPreferenceSetAttribute(preference, which, &alignment, sizeof(alignment));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t status =
        cublasLtMatmulAlgoGetHeuristic(lt.handle, plan.op, plan.w, plan.x, plan.y, plan.y, preference, 1, &result, &found);
    (void)cublasLtMatmulPreferenceDestroy(preference);
    plan.usable = status == CUBLAS_STATUS_SUCCESS && found > 0 && result.state == CUBLAS_STATUS_SUCCESS;
    if (plan.usable) plan.algo = result.algo;
}

// y = x·wᵀ + bias (bias may be null) as one cuBLASLt matmul on the current stream. Returns false,
// having queued nothing, when cuBLASLt has no algorithm for it (the caller takes the cuBLAS path).
//   requires: T is float or bf16; rows, out, in ≥ 1.
template <class T>
bool lt_linear(Index64 rows, Index64 out, Index64 in, const T* x, const T* w, const T* bias, T* y) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, bf16>, "cuBLASLt linear layers: float or bf16");
    const LtContext lt = lt_context();
    const LtLinearKey key{rows, out, in, int(BlasType<T>::data), int(compute_type<T>()), bias != nullptr,
                          common_alignment({x, w, bias, y})};
    thread_local std::map<LtLinearKey, LtLinearPlan> plans;
    auto [it, fresh] = plans.try_emplace(key);
    LtLinearPlan& plan = it->second;
    if (fresh) make_lt_linear_plan(plan, lt, key, bias);
    if (!plan.usable) return false;
    if (bias) CONTRA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    const float one = 1, zero = 0;
    CONTRA_CUBLAS_CHECK(cublasLtMatmul(lt.handle, plan.op, &one, w, plan.w, x, plan.x, &zero, y, plan.y, y, plan.y, &plan.algo,
                                       lt.workspace, lt.workspace_bytes, current_stream()));
    return true;
}

// The composite twin: the bias broadcast into y, then one GEMM with beta = 1 (any T).
template <class T>
void composite_linear(Index64 rows, Index64 out, Index64 in, const T* x, const T* w, const T* bias, T* y) {
    if (bias && rows * out > 0) {
        broadcast_rows_kernel<T><<<grid_for(rows * out), kBlock, 0, current_stream()>>>(rows, out, bias, y);
        CONTRA_CUDA_CHECK_LAUNCH();
    }
    gemm_strided_batched<T>(cublas_handle(), ops::Trans::N, ops::Trans::T, 1, rows, out, in, acc_t<T>(1), x, w,
                            acc_t<T>(bias ? 1 : 0), y);
}

// ─── Kernels<cuda>: linear algebra ────────────────────────────────────────────────────────────

struct Linalg {
    template <class T>
    static void gemm(ops::Trans ta, ops::Trans tb, Index64 m, Index64 n, Index64 k, acc_t<T> alpha, const Tensor<T, cuda>& a,
                     const Tensor<T, cuda>& b, acc_t<T> beta, Tensor<T, cuda>& c) {
        gemm_strided_batched<T>(cublas_handle(), ta, tb, 1, m, n, k, alpha, a.data(), b.data(), beta, c.data());
    }
    // y = x·wᵀ + bias: one cuBLASLt matmul with the bias in its epilogue (float, bf16), else the
    // composite twin.
    template <class T>
    static void linear(const Tensor<T, cuda>& x, const Tensor<T, cuda>& w, const Tensor<T, cuda>* bias, Tensor<T, cuda>& y) {
        require_cuda_type<T>();
        const Index64 rows = x.rows(), out = w.size(0), in = x.cols();
        const T* b = bias ? bias->data() : nullptr;
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, bf16>)
            if (cublaslt_enabled() && rows > 0 && out > 0 && in > 0 && lt_linear<T>(rows, out, in, x.data(), w.data(), b, y.data()))
                return;
        composite_linear<T>(rows, out, in, x.data(), w.data(), b, y.data());
    }
    template <class T>
    static void gemm_batched(ops::Trans ta, ops::Trans tb, Index64 batch, Index64 m, Index64 n, Index64 k,
                             acc_t<T> alpha, const Tensor<T, cuda>& a, const Tensor<T, cuda>& b, acc_t<T> beta, Tensor<T, cuda>& c) {
        gemm_strided_batched<T>(cublas_handle(), ta, tb, batch, m, n, k, alpha, a.data(), b.data(), beta, c.data());
    }
};

}  // namespace contra::cu
