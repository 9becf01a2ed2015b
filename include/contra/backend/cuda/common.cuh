// contra/backend/cuda/common.cuh — what every CUDA file of contra shares: error checks, launch
// geometry, the element types the kernels accept.
// defines: CONTRA_CUDA_CHECK, CONTRA_CUBLAS_CHECK, CONTRA_CUDA_CHECK_LAUNCH,
//          contra::cu::{DTensor, Index64, kBlock, ceil_div, grid_for, require_cuda_type}
//
// Errors. Every CUDA runtime and cuBLAS call is wrapped: a failure becomes a contra::Error whose
// message names the error, the call and the file:line, like every other check in contra.
// Kernel launches are checked right after the launch (CONTRA_CUDA_CHECK_LAUNCH) for launch
// errors (bad configuration); faults inside a kernel surface at the next synchronising call.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "../../core/config.hpp"
#include "../../core/dtype.hpp"
#include "../../core/tensor.hpp"

namespace contra::cu {

namespace detail {

// Turns a failed CUDA runtime call into a contra::Error. The runtime remembers the last error
// until it is read; it is read (and so cleared) here, so that a later launch check does not
// report this one again.
inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
    if (status == cudaSuccess) [[likely]]
        return;
    (void)cudaGetLastError();
    ::contra::detail::fail(file, line, call,
                           ::contra::detail::concat("CUDA error ", cudaGetErrorName(status), ": ",
                                                    cudaGetErrorString(status)));
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
    if (status == CUBLAS_STATUS_SUCCESS) [[likely]]
        return;
    ::contra::detail::fail(file, line, call,
                           ::contra::detail::concat("cuBLAS error ", cublasGetStatusName(status), ": ",
                                                    cublasGetStatusString(status)));
}

}  // namespace detail

// CONTRA_CUDA_CHECK(call): runs a CUDA runtime call; throws contra::Error unless it succeeded.
#define CONTRA_CUDA_CHECK(call) ::contra::cu::detail::check_cuda((call), #call, __FILE__, __LINE__)
// CONTRA_CUBLAS_CHECK(call): the same for a cuBLAS call.
#define CONTRA_CUBLAS_CHECK(call) ::contra::cu::detail::check_cublas((call), #call, __FILE__, __LINE__)
// CONTRA_CUDA_CHECK_LAUNCH(): right after a kernel<<<...>>> launch.
#define CONTRA_CUDA_CHECK_LAUNCH() CONTRA_CUDA_CHECK(cudaGetLastError())

template <class T> using DTensor = Tensor<T, cuda>;  // a tensor in device memory

// ─── launch geometry ──────────────────────────────────────────────────────────────────────────

using Index64 = std::int64_t;  // element counts and flat indices: tensors may exceed 2^31 elements

inline constexpr int kBlock = 256;  // threads per block for the simple elementwise kernels

constexpr Index64 ceil_div(Index64 a, Index64 b) { return (a + b - 1) / b; }

// grid_for(n): blocks for a grid-stride loop over n elements. Capped, so that a huge tensor is
// covered by each thread looping rather than by an enormous grid; at least one block.
inline unsigned grid_for(Index64 n, int block = kBlock) {
    constexpr Index64 kMaxBlocks = Index64(1) << 20;
    return unsigned(std::clamp<Index64>(ceil_div(n, block), 1, kMaxBlocks));
}

// The grid-stride loop every elementwise kernel uses:
//   for (Index64 i = first_index(); i < n; i += grid_stride()) { ... }
__device__ __forceinline__ Index64 first_index() { return Index64(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ Index64 grid_stride() { return Index64(gridDim.x) * blockDim.x; }

// ─── element types ────────────────────────────────────────────────────────────────────────────

// The CUDA backend computes on float, double and bf16 tensors; bf16 is read into float, computed
// on in float (acc_t<bf16>) and rounded back once on store.
template <class T>
inline constexpr bool is_cuda_type = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, bf16>;

template <class T>
constexpr void require_cuda_type() {
    static_assert(is_cuda_type<T>, "the cuda backend computes on float, double or bf16 tensors");
}

}  // namespace contra::cu
