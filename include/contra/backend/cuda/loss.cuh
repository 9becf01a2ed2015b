// contra/backend/cuda/loss.cuh — cross-entropy with int32 targets, forward (a warp per row, a
// block for rows longer than kWarpRowLimit) and backward (elementwise); the CLIP loss.
// defines: contra::cu::Loss (the loss part of Kernels<cuda>)
//
// Cross-entropy: the targets are checked on the device first (see layout.cuh): one
// synchronisation per call.
// The CLIP loss reads logit_scale and dloss on the device and never synchronises. Forward: a
// team per row scales the row and takes its logsumexp; the columns' logsumexps are running
// (max, Σ exp) pairs summed over chunks of rows and then over the chunks in order (reduce.cuh's
// column kernels); one block adds the 2N per-row and per-column terms in order. Backward: a team
// per row writes dcosines and its row's part of dlogit_scale, one block adds those in order.
// Every grid is fixed by N alone: the same bits on every run.
#pragma once
#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"
#include "layout.cuh"
#include "memory.cuh"
#include "reduce.cuh"
#include "softmax.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// lse = m + log Σ exp(x − m) (m = max, or lse = m when m = ±inf); loss = (m − x[target]) + log Σ,
// which stays exact beside logits of any size; a row of −inf gives loss +inf.
template <class Team, class T>
__global__ void cross_entropy_kernel(Index64 rows, Index64 cols, MaskedRow<T> row, const ops::Index* target, T* loss,
                                     T* lse) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        A m, s;
        row_max_and_sum<Team>(row, r, cols, scratch, m, s);
        if (Team::rank() != 0) continue;
        const A picked = row(r, target[r]);
        if (isinf(m)) {
            lse[r] = T(m);
            loss[r] = T(m == -infinity<A>() ? infinity<A>() : m - picked);
        } else {
            const A log_s = log(s);
            lse[r] = T(m + log_s);
            loss[r] = T((m - picked) + log_s);
        }
    }
}

// dlogits[r, c] = dloss[r] · (exp(x − lse[r]) − [c = target[r]]); 0 where lse[r] = −inf.
template <class T>
__global__ void cross_entropy_backward_kernel(Index64 rows, Index64 cols, const T* logits, const ops::Index* target,
                                              const T* lse, const T* dloss, T* dlogits) {
    using A = acc_t<T>;
    for (Index64 i = first_index(); i < rows * cols; i += grid_stride()) {
        const Index64 r = i / cols, c = i - r * cols;
        const A l = A(lse[r]);
        if (l == -infinity<A>()) {
            dlogits[i] = T(0);
            continue;
        }
        const A onehot = c == target[r] ? A(1) : A(0);
        dlogits[i] = T(A(dloss[r]) * (exp(A(logits[i]) - l) - onehot));
    }
}

// logits[r, :] = s·cosines[r, :] with s = exp(logit_scale[0]); lse_rows[r] = logsumexp of the row;
// terms[r] = lse_rows[r] − logits[r, r], formed as (m − logits[r, r]) + log Σ exp(x − m). Each thread
// reads back only the logits it wrote, and the one that wrote logits[r, r] writes lse_rows[r] and
// terms[r]: logits may be cosines itself (scaled in place).
template <class Team, class T>
__global__ void clip_loss_rows_kernel(Index64 rows, Index64 cols, const T* cosines, const T* logit_scale, T* logits,
                                      T* lse_rows, acc_t<T>* terms) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    const A s = exp(A(logit_scale[0]));
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        const Index64 o = r * cols;
        A m = -infinity<A>(), diagonal = 0;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) {
            const A v = A(T(s * A(cosines[o + c])));  // as stored
            logits[o + c] = T(v);
            m = fmax(m, v);
            if (c == r) diagonal = v;
        }
        m = Team::max(m, scratch);
        A sum = 0;
        if (!isinf(m))
            for (Index64 c = Team::rank(); c < cols; c += Team::size) sum += exp(A(logits[o + c]) - m);
        sum = Team::sum(sum, scratch);
        if (Team::rank() == r % Team::size) {
            const A log_sum = isinf(m) ? A(0) : log(sum);
            lse_rows[r] = T(m + log_sum);
            terms[r] = (m - diagonal) + log_sum;
        }
    }
}

// A running logsumexp: max and Σ exp(x − max) over the values taken in; empty while sum = 0, so
// that the zero value (what reduce.cuh's column kernels start from) adds nothing.
template <class A>
struct RunningLogSumExp {
    A max, sum;
    __device__ RunningLogSumExp operator+(const RunningLogSumExp& o) const {
        if (sum == A(0)) return o;
        if (o.sum == A(0)) return *this;
        const RunningLogSumExp& hi = max >= o.max ? *this : o;
        const RunningLogSumExp& lo = max >= o.max ? o : *this;
        if (isinf(hi.max) && hi.max == lo.max) return {hi.max, hi.sum + lo.sum};  // ∞ − ∞ would be NaN
        return {hi.max, hi.sum + lo.sum * exp(lo.max - hi.max)};
    }
    __device__ A log_sum() const { return isinf(max) ? A(0) : log(sum); }
};

// Entry (r, c) of the logits as a running logsumexp of one value.
template <class T>
struct LogitTerm {
    const T* logits;
    Index64 cols;
    __device__ RunningLogSumExp<acc_t<T>> operator()(Index64 r, Index64 c) const {
        return {acc_t<T>(logits[r * cols + c]), acc_t<T>(1)};
    }
};

// lse_cols[c] and terms[N + c] = lse_cols[c] − logits[c, c] from column c's logsumexp.
template <class T>
struct StoreColumnLogSumExp {
    const T* logits;
    Index64 cols;
    T* lse_cols;
    acc_t<T>* terms;
    __device__ void operator()(Index64 c, const RunningLogSumExp<acc_t<T>>& v) const {
        lse_cols[c] = T(v.max + v.log_sum());
        terms[cols + c] = (v.max - acc_t<T>(logits[c * cols + c])) + v.log_sum();
    }
};

// out[0] = alpha · Σ terms[0..count), one block, the terms in a fixed order.
template <class T>
__global__ void sum_terms_kernel(Index64 count, const acc_t<T>* terms, acc_t<T> alpha, T* out) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    A total = 0;
    for (Index64 i = threadIdx.x; i < count; i += blockDim.x) total += terms[i];
    total = block_sum(total, scratch);
    if (threadIdx.x == 0) out[0] = T(alpha * total);
}

// dcosines[r, :] = s·dlogits[r, :] (see ops::clip_loss_backward); row_sums[r] = Σ_c dlogits[r, c]·logits[r, c].
template <class Team, class T>
__global__ void clip_loss_backward_kernel(Index64 rows, Index64 cols, const T* logits, const T* lse_rows,
                                          const T* lse_cols, const T* logit_scale, const T* dloss, T* dcosines,
                                          acc_t<T>* row_sums) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    const A s = exp(A(logit_scale[0])), g = A(dloss[0]) / A(2 * cols);
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        const Index64 o = r * cols;
        const A row_lse = A(lse_rows[r]);
        A dot = 0;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) {
            const A l = A(logits[o + c]);
            const A dl = g * (exp(l - row_lse) + exp(l - A(lse_cols[c])) - (c == r ? A(2) : A(0)));
            dcosines[o + c] = T(s * dl);
            dot += dl * l;
        }
        dot = Team::sum(dot, scratch);
        if (Team::rank() == 0) row_sums[r] = dot;
    }
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

inline void check_targets(cudaStream_t stream, Index64 rows, const ops::Index* target, Index64 classes) {
    const BadIndex bad = find_bad_index(stream, rows, target, classes);
    CONTRA_CHECK(!bad.found, "cross_entropy: target ", bad.value, " of row ", bad.position, " is outside [0, ", classes, ")");
}

template <class T>
void launch_cross_entropy(cudaStream_t stream, Index64 rows, Index64 cols, const T* logits, const ops::Index* target,
                          T* loss, T* lse) {
    check_targets(stream, rows, target, cols);
    const MaskedRow<T> row{logits, nullptr, 1, cols, false};
    launch_rows(stream, rows, cols, cross_entropy_kernel<RowTeam<32>, T>, cross_entropy_kernel<RowTeam<kBlock>, T>, row,
                target, loss, lse);
}

template <class T>
void launch_cross_entropy_backward(cudaStream_t stream, Index64 rows, Index64 cols, const T* logits,
                                   const ops::Index* target, const T* lse, const T* dloss, T* dlogits) {
    check_targets(stream, rows, target, cols);
    if (rows * cols == 0) return;
    cross_entropy_backward_kernel<T><<<grid_for(rows * cols), kBlock, 0, stream>>>(rows, cols, logits, target, lse, dloss,
                                                                                   dlogits);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// Column c of the [n, n] logits: lse_cols[c] and terms[n + c]. The rows are cut into chunks fixed
// by n (as reduce_columns cuts them); a block takes 32 columns of one chunk.
template <class T>
void launch_clip_loss_columns(cudaStream_t stream, Index64 n, const T* logits, T* lse_cols, acc_t<T>* terms) {
    using V = RunningLogSumExp<acc_t<T>>;
    const Index64 col_tiles = ceil_div(n, 32);
    const Index64 wanted = std::clamp<Index64>(ceil_div(n, 64), 1, std::max<Index64>(1, 2048 / col_tiles));
    const Index64 rows_per_chunk = ceil_div(n, wanted), chunks = ceil_div(n, rows_per_chunk);
    auto partials = scratch<V>(chunks * n);  // [chunks, n]
    column_partials_kernel<V><<<dim3(unsigned(col_tiles), unsigned(chunks)), dim3(32, 8), 0, stream>>>(
        n, n, rows_per_chunk, LogitTerm<T>{logits, n}, partials.data());
    CONTRA_CUDA_CHECK_LAUNCH();
    column_finish_kernel<V><<<grid_for(n), kBlock, 0, stream>>>(n, chunks, partials.data(),
                                                                 StoreColumnLogSumExp<T>{logits, n, lse_cols, terms});
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_clip_loss(cudaStream_t stream, Index64 n, const T* cosines, const T* logit_scale, T* logits, T* lse_rows,
                      T* lse_cols, T* loss) {
    using A = acc_t<T>;
    auto terms = scratch<A>(2 * n);  // [lse_rows − diagonal | lse_cols − diagonal]
    launch_rows(stream, n, n, clip_loss_rows_kernel<RowTeam<32>, T>, clip_loss_rows_kernel<RowTeam<kBlock>, T>, cosines,
                logit_scale, logits, lse_rows, terms.data());
    launch_clip_loss_columns(stream, n, static_cast<const T*>(logits), lse_cols, terms.data());
    sum_terms_kernel<T><<<1, kBlock, 0, stream>>>(2 * n, terms.data(), A(1.0 / double(2 * n)), loss);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_clip_loss_backward(cudaStream_t stream, Index64 n, const T* logits, const T* lse_rows, const T* lse_cols,
                               const T* logit_scale, const T* dloss, T* dcosines, T* dlogit_scale) {
    using A = acc_t<T>;
    auto row_sums = scratch<A>(n);
    launch_rows(stream, n, n, clip_loss_backward_kernel<RowTeam<32>, T>, clip_loss_backward_kernel<RowTeam<kBlock>, T>,
                logits, lse_rows, lse_cols, logit_scale, dloss, dcosines, row_sums.data());
    sum_terms_kernel<T><<<1, kBlock, 0, stream>>>(n, row_sums.data(), A(1), dlogit_scale);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: losses ────────────────────────────────────────────────────────────────────

struct Loss {
    template <class T>
    static void cross_entropy(const Tensor<T, cuda>& logits, const Tensor<ops::Index, cuda>& target, Tensor<T, cuda>& loss,
                              Tensor<T, cuda>& lse) {
        require_cuda_type<T>();
        launch_cross_entropy(current_stream(), logits.rows(), logits.cols(), logits.data(), target.data(), loss.data(),
                             lse.data());
    }
    template <class T>
    static void cross_entropy_backward(const Tensor<T, cuda>& logits, const Tensor<ops::Index, cuda>& target, const Tensor<T, cuda>& lse,
                                       const Tensor<T, cuda>& dloss, Tensor<T, cuda>& dlogits) {
        require_cuda_type<T>();
        launch_cross_entropy_backward(current_stream(), logits.rows(), logits.cols(), logits.data(), target.data(),
                                      lse.data(), dloss.data(), dlogits.data());
    }
    template <class T>
    static void clip_loss(const Tensor<T, cuda>& cosines, const Tensor<T, cuda>& logit_scale, Tensor<T, cuda>& logits,
                          Tensor<T, cuda>& lse_rows, Tensor<T, cuda>& lse_cols, Tensor<T, cuda>& loss) {
        require_cuda_type<T>();
        launch_clip_loss(current_stream(), cosines.size(0), cosines.data(), logit_scale.data(), logits.data(),
                         lse_rows.data(), lse_cols.data(), loss.data());
    }
    template <class T>
    static void clip_loss_backward(const Tensor<T, cuda>& logits, const Tensor<T, cuda>& lse_rows,
                                   const Tensor<T, cuda>& lse_cols, const Tensor<T, cuda>& logit_scale,
                                   const Tensor<T, cuda>& dloss, Tensor<T, cuda>& dcosines, Tensor<T, cuda>& dlogit_scale) {
        require_cuda_type<T>();
        launch_clip_loss_backward(current_stream(), logits.size(0), logits.data(), lse_rows.data(), lse_cols.data(),
                                  logit_scale.data(), dloss.data(), dcosines.data(), dlogit_scale.data());
    }
};

}  // namespace contra::cu
