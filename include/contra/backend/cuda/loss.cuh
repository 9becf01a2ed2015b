// contra/backend/cuda/loss.cuh — cross-entropy with int32 targets, forward (a warp per row, a
// block for rows longer than kWarpRowLimit) and backward (elementwise).
// defines: contra::cu::Loss (the loss part of Kernels<cuda>)
//
// The targets are checked on the device first (see layout.cuh): one synchronisation per call.
#pragma once
#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"
#include "layout.cuh"
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
};

}  // namespace contra::cu
