// contra/backend/cuda/common.cuh — what every CUDA file of contra shares: error checks, launch
// geometry, the element types the kernels accept.
// defines: CONTRA_CUDA_CHECK, CONTRA_CUBLAS_CHECK, CONTRA_CUDA_CHECK_LAUNCH,
//          contra::cu::{Index64, kBlock, ceil_div, grid_for, require_cuda_type,
//          infinity, warp_sum, warp_max, block_sum, block_max, RowTeam, rows_grid, launch_rows, Sums}
//
// Errors. Every CUDA runtime and cuBLAS call is wrapped: a failure becomes a contra::Error whose
// message names the error, the call and the file:line, like every other check in contra.
// Kernel launches are checked right after the launch (CONTRA_CUDA_CHECK_LAUNCH) for launch
// errors (bad configuration); faults inside a kernel surface at the next synchronising call.
#pragma once
#include <cublasLt.h>
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

// ─── reductions ───────────────────────────────────────────────────────────────────────────────
// Every reduction combines its terms in an order fixed by the launch geometry alone (shuffles
// in a fixed pattern, shared-memory partials read in index order), and every launcher chooses
// its geometry from the shapes alone: the same inputs give bit-identical results on every run.

template <class A>
__device__ __forceinline__ A infinity() {
    return A(INFINITY);
}

// The sum (max) over the 32 lanes of a warp, in every lane.
//   requires: all 32 lanes of the warp call it.
template <class A>
__device__ __forceinline__ A warp_sum(A v) {
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}
template <class A>
__device__ __forceinline__ A warp_max(A v) {
    for (int offset = 16; offset > 0; offset /= 2) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// The sum (max) over the whole block, in every thread; `scratch` is 32 values of shared memory.
// Each warp combines the per-warp results itself, in the same order, so all agree bit for bit.
//   requires: every thread of the block calls it; blockDim.x a multiple of 32, ≤ 1024.
template <class A>
__device__ __forceinline__ A block_sum(A v, A* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // an earlier call may still be reading scratch
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_sum(lane < warps ? scratch[lane] : A(0));
}
template <class A>
__device__ __forceinline__ A block_max(A v, A* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_max(lane < warps ? scratch[lane] : -infinity<A>());
}

// RowTeam<kThreads>: the threads that share one matrix row in a row-wise kernel launched with
// kBlock threads per block: a warp (kThreads = 32, kBlock/32 rows per block) or the whole block
// (kThreads = kBlock, one row per block). A kernel visits its rows as
//   for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) { ... }
// so that every thread of a team (and, for a block team, of the block) takes the same turns.
template <int kThreads>
struct RowTeam {
    static_assert(kThreads == 32 || kThreads == kBlock, "a row team is a warp or a block");
    static constexpr int size = kThreads;
    static constexpr int per_block = kBlock / kThreads;

    __device__ static int rank() { return kThreads == 32 ? int(threadIdx.x & 31) : int(threadIdx.x); }
    __device__ static Index64 first_row() { return Index64(blockIdx.x) * per_block + threadIdx.x / kThreads; }
    __device__ static Index64 row_stride() { return Index64(gridDim.x) * per_block; }

    template <class A>
    __device__ static A sum(A v, A* scratch) {
        if constexpr (kThreads == 32) return warp_sum(v);
        else return block_sum(v, scratch);
    }
    template <class A>
    __device__ static A max(A v, A* scratch) {
        if constexpr (kThreads == 32) return warp_max(v);
        else return block_max(v, scratch);
    }
};

// Rows of up to this many columns go to a warp each, longer ones to a block each.
inline constexpr Index64 kWarpRowLimit = 1024;

// rows_grid<Team>(rows): blocks for a row-wise kernel (capped; the kernels loop over rows).
template <class Team>
unsigned rows_grid(Index64 rows) {
    constexpr Index64 kMaxBlocks = Index64(1) << 16;
    return unsigned(std::clamp<Index64>(ceil_div(rows, Team::per_block), 1, kMaxBlocks));
}

// launch_rows(stream, rows, cols, warp_kernel, block_kernel, args...): a row-wise kernel
// kernel(rows, cols, args...) with a warp per row, or a block per row for rows longer than
// kWarpRowLimit (the two kernels are one template instantiated for RowTeam<32> and RowTeam<kBlock>).
template <class... Params, class... Args>
void launch_rows(cudaStream_t stream, Index64 rows, Index64 cols, void (*warp_kernel)(Params...),
                 void (*block_kernel)(Params...), Args... args) {
    if (rows == 0) return;
    if (cols <= kWarpRowLimit) warp_kernel<<<rows_grid<RowTeam<32>>(rows), kBlock, 0, stream>>>(rows, cols, args...);
    else block_kernel<<<rows_grid<RowTeam<kBlock>>(rows), kBlock, 0, stream>>>(rows, cols, args...);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// Sums<A, K>: K running sums that reduce together (e.g. Σ dy and Σ dy·x̂).
template <class A, int K>
struct Sums {
    A v[K];
    __device__ __forceinline__ Sums operator+(const Sums& o) const {
        Sums s;
        for (int k = 0; k < K; ++k) s.v[k] = v[k] + o.v[k];
        return s;
    }
};

}  // namespace contra::cu
