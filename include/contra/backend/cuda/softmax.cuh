// contra/backend/cuda/softmax.cuh — softmax (causal mask, additive bias), log-softmax and their
// backward passes, row by row: a warp per row (a block for rows longer than kWarpRowLimit),
// each pass re-reading the row, arithmetic in acc_t<T>.
// defines: contra::cu::Softmax (the softmax part of Kernels<cuda>), cu::MaskedRow, cu::row_max_and_sum
#pragma once
#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"
#include "memory.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// Entry c of row r after the mask and the bias (−inf where masked).
template <class T>
struct MaskedRow {
    const T* x;
    const T* bias;       // [bias_rows, cols] or null
    Index64 bias_rows;
    Index64 cols;
    bool causal;
    const Index64* key_lengths = nullptr;  // one per group of `group` rows (device), or null
    Index64 group = 1;
    __device__ acc_t<T> operator()(Index64 r, Index64 c) const {
        using A = acc_t<T>;
        if (causal && c > r % cols) return -infinity<A>();
        if (key_lengths && c >= key_lengths[r / group]) return -infinity<A>();
        A v = A(x[r * cols + c]);
        if (bias) v += A(bias[(r % bias_rows) * cols + c]);
        return v;
    }
};

// The row's maximum m and Σ exp(x − m) (sum 0 when m = ±inf), for a team that shares the row.
template <class Team, class A, class Row>
__device__ __forceinline__ void row_max_and_sum(const Row& row, Index64 r, Index64 cols, A* scratch, A& m, A& s) {
    m = -infinity<A>();
    for (Index64 c = Team::rank(); c < cols; c += Team::size) m = fmax(m, row(r, c));
    m = Team::max(m, scratch);
    s = 0;
    if (isinf(m)) return;
    for (Index64 c = Team::rank(); c < cols; c += Team::size) s += exp(row(r, c) - m);
    s = Team::sum(s, scratch);
}

template <class Team, class T>
__global__ void softmax_kernel(Index64 rows, Index64 cols, MaskedRow<T> row, T* y) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        A m, s;
        row_max_and_sum<Team>(row, r, cols, scratch, m, s);
        T* yr = y + r * cols;
        if (m == -infinity<A>()) {  // every entry masked
            for (Index64 c = Team::rank(); c < cols; c += Team::size) yr[c] = T(0);
            continue;
        }
        for (Index64 c = Team::rank(); c < cols; c += Team::size) yr[c] = T(exp(row(r, c) - m) / s);
    }
}

// dx = y ⊙ (dy − Σ y·dy)
template <class Team, class T>
__global__ void softmax_backward_kernel(Index64 rows, Index64 cols, const T* y, const T* dy, T* dx) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        const Index64 o = r * cols;
        A dot = 0;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) dot += A(y[o + c]) * A(dy[o + c]);
        dot = Team::sum(dot, scratch);
        for (Index64 c = Team::rank(); c < cols; c += Team::size) dx[o + c] = T(A(y[o + c]) * (A(dy[o + c]) - dot));
    }
}

// y = x − logsumexp(x), formed as (x − m) − log Σ exp(x − m) so that it stays exact next to
// large logits; −inf entries stay −inf.
template <class Team, class T>
__global__ void log_softmax_kernel(Index64 rows, Index64 cols, MaskedRow<T> row, T* y) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        A m, s;
        row_max_and_sum<Team>(row, r, cols, scratch, m, s);
        const A log_s = isinf(m) ? A(0) : log(s);
        T* yr = y + r * cols;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) {
            const A v = row(r, c);
            yr[c] = T(v == -infinity<A>() ? v : (isinf(m) ? v - m : (v - m) - log_s));
        }
    }
}

// dx = dy − exp(y) · Σ dy
template <class Team, class T>
__global__ void log_softmax_backward_kernel(Index64 rows, Index64 cols, const T* y, const T* dy, T* dx) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        const Index64 o = r * cols;
        A total = 0;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) total += A(dy[o + c]);
        total = Team::sum(total, scratch);
        for (Index64 c = Team::rank(); c < cols; c += Team::size) dx[o + c] = T(A(dy[o + c]) - exp(A(y[o + c])) * total);
    }
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

template <class T>
void launch_softmax(cudaStream_t stream, Index64 rows, Index64 cols, const MaskedRow<T>& row, T* y) {
    launch_rows(stream, rows, cols, softmax_kernel<RowTeam<32>, T>, softmax_kernel<RowTeam<kBlock>, T>, row, y);
}

template <class T>
void launch_softmax_backward(cudaStream_t stream, Index64 rows, Index64 cols, const T* y, const T* dy, T* dx) {
    launch_rows(stream, rows, cols, softmax_backward_kernel<RowTeam<32>, T>, softmax_backward_kernel<RowTeam<kBlock>, T>,
                y, dy, dx);
}

template <class T>
void launch_log_softmax(cudaStream_t stream, Index64 rows, Index64 cols, const MaskedRow<T>& row, T* y) {
    launch_rows(stream, rows, cols, log_softmax_kernel<RowTeam<32>, T>, log_softmax_kernel<RowTeam<kBlock>, T>, row, y);
}

template <class T>
void launch_log_softmax_backward(cudaStream_t stream, Index64 rows, Index64 cols, const T* y, const T* dy, T* dx) {
    launch_rows(stream, rows, cols, log_softmax_backward_kernel<RowTeam<32>, T>,
                log_softmax_backward_kernel<RowTeam<kBlock>, T>, y, dy, dx);
}

// ─── Kernels<cuda>: softmax ───────────────────────────────────────────────────────────────────

struct Softmax {
    template <class T>
    static void softmax(const Tensor<T, cuda>& x, ops::SoftmaxMask mask, const Tensor<T, cuda>* bias, Tensor<T, cuda>& y) {
        require_cuda_type<T>();
        const Index64 cols = x.cols();
        // A device copy of the key lengths only when there is a key-padding mask.
        const auto lengths = mask.key_lengths.empty() ? Tensor<Index64, cuda>() : device_copy(mask.key_lengths);
        const Index64 group = mask.key_lengths.empty() ? 1 : x.rows() / Index64(mask.key_lengths.size());
        const MaskedRow<T> row{x.data(), bias ? bias->data() : nullptr, bias ? bias->rows() : 1, cols, mask.causal,
                               mask.key_lengths.empty() ? nullptr : lengths.data(), group};
        launch_softmax(current_stream(), x.rows(), cols, row, y.data());
    }
    template <class T>
    static void softmax_backward(const Tensor<T, cuda>& y, const Tensor<T, cuda>& dy, Tensor<T, cuda>& dx) {
        require_cuda_type<T>();
        launch_softmax_backward(current_stream(), y.rows(), y.cols(), y.data(), dy.data(), dx.data());
    }
    template <class T>
    static void log_softmax(const Tensor<T, cuda>& x, Tensor<T, cuda>& y) {
        require_cuda_type<T>();
        const MaskedRow<T> row{x.data(), nullptr, 1, x.cols(), false};
        launch_log_softmax(current_stream(), x.rows(), x.cols(), row, y.data());
    }
    template <class T>
    static void log_softmax_backward(const Tensor<T, cuda>& y, const Tensor<T, cuda>& dy, Tensor<T, cuda>& dx) {
        require_cuda_type<T>();
        launch_log_softmax_backward(current_stream(), y.rows(), y.cols(), y.data(), dy.data(), dx.data());
    }
};

}  // namespace contra::cu
