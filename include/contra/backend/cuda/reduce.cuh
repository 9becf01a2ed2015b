// contra/backend/cuda/reduce.cuh — sum over rows or columns, reduce_all; the deterministic
// column reduction that the norm kernels' parameter gradients share.
// defines: contra::cu::Reduce (the reduce part of Kernels<cuda>), cu::reduce_columns
//
// Over columns (→ [R]): one warp per row (a block for rows longer than kWarpRowLimit).
// Over rows (→ [C]): the rows are cut into chunks fixed by the shape; each block sums one chunk of
// 32 columns into a partial, and a second kernel adds each column's partials in chunk order.
// reduce_all: per-block partials in double over a grid fixed by the element count, added in
// block order by one block; the result is copied to the host (this synchronises).
// reduce_all_into: the same, the result combined into a device total (no synchronisation).
#pragma once
#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"
#include "memory.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// partials[chunk, c] = Σ_{r in chunk} value(r, c): block (32, 8) covers 32 columns of one chunk.
template <class V, class F>
__global__ void column_partials_kernel(Index64 rows, Index64 cols, Index64 rows_per_chunk, F value, V* partials) {
    __shared__ V tile[8][33];
    const Index64 c = Index64(blockIdx.x) * 32 + threadIdx.x, chunk = blockIdx.y;
    const Index64 r0 = chunk * rows_per_chunk, r1 = std::min(rows, r0 + rows_per_chunk);
    V acc{};
    if (c < cols)
        for (Index64 r = r0 + threadIdx.y; r < r1; r += 8) acc = acc + value(r, c);
    tile[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        V s = tile[0][threadIdx.x];
        for (int k = 1; k < 8; ++k) s = s + tile[k][threadIdx.x];
        partials[chunk * cols + c] = s;
    }
}

// The one-column case: partials[chunk] = Σ_{r in chunk} value(r, 0), a block per chunk.
template <class A, int K, class F>
__global__ void vector_partials_kernel(Index64 rows, Index64 rows_per_chunk, F value, Sums<A, K>* partials) {
    __shared__ A scratch[32];
    const Index64 r0 = Index64(blockIdx.x) * rows_per_chunk, r1 = std::min(rows, r0 + rows_per_chunk);
    Sums<A, K> acc{};
    for (Index64 r = r0 + threadIdx.x; r < r1; r += blockDim.x) acc = acc + value(r, 0);
    for (int k = 0; k < K; ++k) acc.v[k] = block_sum(acc.v[k], scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// finish(c, Σ_chunks partials[chunk, c]) for every column.
template <class V, class F>
__global__ void column_finish_kernel(Index64 cols, Index64 chunks, const V* partials, F finish) {
    for (Index64 c = first_index(); c < cols; c += grid_stride()) {
        V s{};
        for (Index64 k = 0; k < chunks; ++k) s = s + partials[k * cols + c];
        finish(c, s);
    }
}

// out[r] = alpha · Σ_c x[r, c] (+ beta · out[r]).
template <class Team, class T>
__global__ void sum_cols_kernel(Index64 rows, Index64 cols, acc_t<T> alpha, const T* x, acc_t<T> beta, T* out) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        const T* xr = x + r * cols;
        A s = 0;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) s += A(xr[c]);
        s = Team::sum(s, scratch);
        if (Team::rank() == 0) out[r] = T(beta == A(0) ? alpha * s : alpha * s + beta * A(out[r]));
    }
}

template <class T>
struct ReadElement {
    const T* x;
    Index64 cols;
    __device__ Sums<acc_t<T>, 1> operator()(Index64 r, Index64 c) const { return {{acc_t<T>(x[r * cols + c])}}; }
};

template <class T>
struct StoreScaledSum {
    acc_t<T> alpha, beta;
    T* out;
    __device__ void operator()(Index64 c, const Sums<acc_t<T>, 1>& s) const {
        out[c] = T(beta == acc_t<T>(0) ? alpha * s.v[0] : alpha * s.v[0] + beta * acc_t<T>(out[c]));
    }
};

__device__ __forceinline__ double reduce_term(ops::ReduceOp op, double v) {
    switch (op) {
        case ops::ReduceOp::sum: return v;
        case ops::ReduceOp::sum_squares: return v * v;
        case ops::ReduceOp::max_abs: return fabs(v);
        case ops::ReduceOp::count_nonfinite: return isfinite(v) ? 0.0 : 1.0;
    }
    return v;
}

__device__ __forceinline__ double reduce_block(ops::ReduceOp op, double v, double* scratch) {
    return op == ops::ReduceOp::max_abs ? block_max(v, scratch) : block_sum(v, scratch);
}

// partials[b] = the reduction of the elements that block b's grid-stride loop visits (in double;
// max_abs starts from 0, as |x| ≥ 0).
template <class T>
__global__ void reduce_all_partials_kernel(ops::ReduceOp op, Index64 n, const T* x, double* partials) {
    __shared__ double scratch[32];
    double acc = 0;
    for (Index64 i = first_index(); i < n; i += grid_stride()) {
        const double t = reduce_term(op, double(acc_t<T>(x[i])));
        acc = op == ops::ReduceOp::max_abs ? fmax(acc, t) : acc + t;
    }
    acc = reduce_block(op, acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// result[0] = the partials combined by one block; with `accumulate`, combined with result[0].
template <class R>
__global__ void reduce_all_finish_kernel(ops::ReduceOp op, int count, const R* partials, R* result, bool accumulate) {
    __shared__ R scratch[32];
    R acc = 0;
    for (int i = threadIdx.x; i < count; i += blockDim.x)
        acc = op == ops::ReduceOp::max_abs ? fmax(acc, partials[i]) : acc + partials[i];
    acc = reduce_block(op, acc, scratch);
    if (threadIdx.x == 0)
        result[0] = !accumulate ? acc : op == ops::ReduceOp::max_abs ? fmax(result[0], acc) : result[0] + acc;
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

// reduce_columns<V>(stream, rows, cols, value, finish): finish(c, Σ_r value(r, c)) for each column c,
// value returning a Sums<A, K> (V). The chunking depends on (rows, cols) only.
template <class A, int K, class F, class Finish>
void reduce_columns(cudaStream_t stream, Index64 rows, Index64 cols, F value, Finish finish) {
    using V = Sums<A, K>;
    if (cols == 0) return;
    Index64 chunks = 0, rows_per_chunk = 1;
    const bool vector = cols == 1;
    if (rows > 0) {
        const Index64 col_tiles = ceil_div(cols, 32);
        const Index64 target = vector ? 1024 : std::max<Index64>(1, 2048 / col_tiles);
        chunks = std::clamp<Index64>(ceil_div(rows, vector ? 2048 : 64), 1, std::min<Index64>(target, 65535));
        rows_per_chunk = ceil_div(rows, chunks);
        chunks = ceil_div(rows, rows_per_chunk);
    }
    auto partials = scratch<V>(std::max<Index64>(1, chunks * cols));  // [chunks, cols]
    if (chunks > 0) {
        if (vector) {
            vector_partials_kernel<A, K><<<unsigned(chunks), kBlock, 0, stream>>>(rows, rows_per_chunk, value,
                                                                                  partials.data());
        } else {
            const dim3 grid(unsigned(ceil_div(cols, 32)), unsigned(chunks));
            column_partials_kernel<V><<<grid, dim3(32, 8), 0, stream>>>(rows, cols, rows_per_chunk, value, partials.data());
        }
        CONTRA_CUDA_CHECK_LAUNCH();
    }
    column_finish_kernel<V><<<grid_for(cols), kBlock, 0, stream>>>(cols, chunks, partials.data(), finish);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_sum_cols(cudaStream_t stream, Index64 rows, Index64 cols, acc_t<T> alpha, const T* x, acc_t<T> beta,
                     T* out) {
    if (rows == 0) return;
    if (cols <= kWarpRowLimit) {
        using Team = RowTeam<32>;
        sum_cols_kernel<Team, T><<<rows_grid<Team>(rows), kBlock, 0, stream>>>(rows, cols, alpha, x, beta, out);
    } else {
        using Team = RowTeam<kBlock>;
        sum_cols_kernel<Team, T><<<rows_grid<Team>(rows), kBlock, 0, stream>>>(rows, cols, alpha, x, beta, out);
    }
    CONTRA_CUDA_CHECK_LAUNCH();
}

// *total = reduce_all(x) (accumulate false) or *total ⊕= reduce_all(x) (true), on the device.
template <class T>
void launch_reduce_all_into(cudaStream_t stream, ops::ReduceOp op, Index64 n, const T* x, double* total, bool accumulate) {
    const unsigned blocks = unsigned(std::clamp<Index64>(ceil_div(n, Index64(kBlock) * 8), 1, 1024));
    auto partials = scratch<double>(Index64(blocks));
    reduce_all_partials_kernel<T><<<blocks, kBlock, 0, stream>>>(op, n, x, partials.data());
    CONTRA_CUDA_CHECK_LAUNCH();
    reduce_all_finish_kernel<double><<<1, kBlock, 0, stream>>>(op, int(blocks), partials.data(), total, accumulate);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
double launch_reduce_all(cudaStream_t stream, ops::ReduceOp op, Index64 n, const T* x) {
    if (n == 0) return 0;
    auto on_device = scratch<double>(1);
    launch_reduce_all_into(stream, op, n, x, on_device.data(), false);
    double result = 0;
    memory_resource<cuda>::copy_to_host(&result, on_device.data(), sizeof(double));
    return result;
}

// ─── Kernels<cuda>: reductions ────────────────────────────────────────────────────────────────

struct Reduce {
    template <class T>
    static void sum(ops::Axis axis, acc_t<T> alpha, const Tensor<T, cuda>& x, acc_t<T> beta, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        const Index64 rows = x.rows(), cols = x.cols();
        if (axis == ops::Axis::cols) {
            launch_sum_cols(current_stream(), rows, cols, alpha, x.data(), beta, out.data());
            return;
        }
        reduce_columns<acc_t<T>, 1>(current_stream(), rows, cols, ReadElement<T>{x.data(), cols},
                                    StoreScaledSum<T>{alpha, beta, out.data()});
    }
    template <class T>
    static double reduce_all(ops::ReduceOp op, const Tensor<T, cuda>& x) {
        require_cuda_type<T>();
        return launch_reduce_all(current_stream(), op, x.numel(), x.data());
    }
    template <class T>
    static void reduce_all_into(ops::ReduceOp op, const Tensor<T, cuda>& x, Tensor<double, cuda>& total) {
        require_cuda_type<T>();
        if (x.numel() > 0) launch_reduce_all_into(current_stream(), op, x.numel(), x.data(), total.data(), true);
    }
};

}  // namespace contra::cu
