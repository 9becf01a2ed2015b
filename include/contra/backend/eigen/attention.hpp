// contra/backend/eigen/attention.hpp — multi-head self-attention from the fused q|k|v
// projection: one task per (sequence, head), split over the threads. Each task reads its head's
// columns of qkv in place (strided Eigen maps), keeps its T×T scores in cache, and writes its
// columns of the output (or of dqkv) in place: no head split, merge or concatenation copies.
#pragma once
#include "common.hpp"

namespace contra::eig {

struct Attention {
    template <class T> using Strided = Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
    template <class T> using StridedOut = Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>>;

    // Head h's [T, D] block of part 0 (q), 1 (k) or 2 (v) of sequence n, rows 3W apart.
    template <class T>
    static Strided<T> part(const T* qkv, int64_t n, int64_t part, int64_t h, int64_t L, int64_t W, int64_t D) {
        return Strided<T>(qkv + n * L * 3 * W + part * W + h * D, L, D, Eigen::OuterStride<>(3 * W));
    }
    template <class T>
    static StridedOut<T> part_out(T* qkv, int64_t n, int64_t part, int64_t h, int64_t L, int64_t W, int64_t D) {
        return StridedOut<T>(qkv + n * L * 3 * W + part * W + h * D, L, D, Eigen::OuterStride<>(3 * W));
    }

    template <class T>
    static void attention(const HTensor<T>& qkv, int64_t heads, ops::SoftmaxMask mask, double scale, HTensor<T>& out,
                          HTensor<T>& probs) {
        require_eigen_type<T>();
        const int64_t N = qkv.size(0), L = qkv.size(1), W = qkv.size(2) / 3, D = W / heads;
        const T* x = qkv.data();
        for_chunks(N * heads, 4 * L * L * D, [&](int64_t task0, int64_t task1) {
            for (int64_t task = task0; task < task1; ++task) {
                const int64_t n = task / heads, h = task % heads;
                MatrixMap<T> p(probs.data() + task * L * L, L, L);                          // [T, T]
                p.noalias() = T(scale) * (part(x, n, 0, h, L, W, D) * part(x, n, 1, h, L, W, D).transpose());
                for (int64_t i = 0; i < L; ++i) {
                    const int64_t live = mask.live(n, i, L);  // keys query i may see
                    auto row = p.row(i).head(live).array();
                    row = (row - row.maxCoeff()).exp();
                    row *= T(1) / row.sum();
                    p.row(i).tail(L - live).setZero();
                }
                StridedOut<T> o(out.data() + n * L * W + h * D, L, D, Eigen::OuterStride<>(W));  // [T, D]
                o.noalias() = p * part(x, n, 2, h, L, W, D);
            }
        });
    }

    template <class T>
    static void attention_backward(const HTensor<T>& qkv, const HTensor<T>& probs, const HTensor<T>& dout, int64_t heads,
                                   double scale, HTensor<T>& dqkv) {
        require_eigen_type<T>();
        const int64_t N = qkv.size(0), L = qkv.size(1), W = qkv.size(2) / 3, D = W / heads;
        const T* x = qkv.data();
        T* dx = dqkv.data();
        for_chunks(N * heads, 8 * L * L * D, [&](int64_t task0, int64_t task1) {
            RowMatrix<T> ds(L, L);
            for (int64_t task = task0; task < task1; ++task) {
                const int64_t n = task / heads, h = task % heads;
                ConstMatrixMap<T> p(probs.data() + task * L * L, L, L);                              // [T, T]
                Strided<T> g(dout.data() + n * L * W + h * D, L, D, Eigen::OuterStride<>(W));         // [T, D]
                part_out(dx, n, 2, h, L, W, D).noalias() = p.transpose() * g;                        // dv = pᵀ·dout
                ds.noalias() = g * part(x, n, 2, h, L, W, D).transpose();                           // dp = dout·vᵀ
                const auto dot = (ds.array() * p.array()).rowwise().sum().eval();                   // [T]
                ds.array() = T(scale) * p.array() * (ds.array().colwise() - dot);                   // ds
                part_out(dx, n, 0, h, L, W, D).noalias() = ds * part(x, n, 1, h, L, W, D);           // dq = ds·k
                part_out(dx, n, 1, h, L, W, D).noalias() = ds.transpose() * part(x, n, 0, h, L, W, D);  // dk = dsᵀ·q
            }
        });
    }
};

}  // namespace contra::eig
