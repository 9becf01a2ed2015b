// contra/backend/eigen/loss.hpp — cross-entropy with integer targets, rows over threads; the CLIP
// loss, its rows over threads and its columns in blocks of columns over threads.
#pragma once
#include "../reference/loss.hpp"
#include "softmax.hpp"

namespace contra::eig {

struct Loss {
    template <class T>
    static void cross_entropy(const HTensor<T>& logits, const HTensor<ops::Index>& target, HTensor<T>& loss,
                              HTensor<T>& lse) {
        require_eigen_type<T>();
        const int64_t rows = logits.rows(), cols = logits.cols();
        ref::Loss::check_targets(target, cols);
        for_chunks(rows, cols * 3, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const T l = Softmax::logsumexp(ConstArrayMap<T>(logits.data() + r * cols, cols));
                lse.data()[r] = l;
                loss.data()[r] = l == -std::numeric_limits<T>::infinity() ? std::numeric_limits<T>::infinity()
                                                                          : l - logits.data()[r * cols + target.data()[r]];
            }
        });
    }
    template <class T>
    static void cross_entropy_backward(const HTensor<T>& logits, const HTensor<ops::Index>& target, const HTensor<T>& lse,
                                       const HTensor<T>& dloss, HTensor<T>& dlogits) {
        require_eigen_type<T>();
        const int64_t rows = logits.rows(), cols = logits.cols();
        ref::Loss::check_targets(target, cols);
        for_chunks(rows, cols * 3, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                ArrayMap<T> out(dlogits.data() + r * cols, cols);
                const T l = lse.data()[r];
                if (l == -std::numeric_limits<T>::infinity()) {
                    out.setZero();
                    continue;
                }
                out = (ConstArrayMap<T>(logits.data() + r * cols, cols) - l).exp() * dloss.data()[r];
                out[target.data()[r]] -= dloss.data()[r];
            }
        });
    }
    template <class T>
    static void clip_loss(const HTensor<T>& cosines, const HTensor<T>& logit_scale, HTensor<T>& logits,
                          HTensor<T>& lse_rows, HTensor<T>& lse_cols, HTensor<T>& loss) {
        require_eigen_type<T>();
        const int64_t n = cosines.size(0);
        const T s = std::exp(logit_scale.data()[0]);
        T* l = logits.data();
        for_chunks(n, n * 4, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                ArrayMap<T> row(l + r * n, n);
                row = ConstArrayMap<T>(cosines.data() + r * n, n) * s;  // in place when logits is cosines
                lse_rows.data()[r] = Softmax::logsumexp(ConstArrayMap<T>(row.data(), n));
            }
        });
        ArrayMap<T> lse_c(lse_cols.data(), n);
        for_chunks(n, n * 4, [&](int64_t c0, int64_t c1) {  // columns c0..c1−1, down every row
            auto max = lse_c.segment(c0, c1 - c0);
            max = ConstArrayMap<T>(l + c0, c1 - c0);
            for (int64_t r = 1; r < n; ++r) max = max.max(ConstArrayMap<T>(l + r * n + c0, c1 - c0));
            Eigen::Array<T, Eigen::Dynamic, 1> sum = Eigen::Array<T, Eigen::Dynamic, 1>::Zero(c1 - c0);
            for (int64_t r = 0; r < n; ++r) sum += (ConstArrayMap<T>(l + r * n + c0, c1 - c0) - max).exp();
            max = max.isFinite().select(max + sum.log(), max);
        });
        const Eigen::ArrayXd diagonal = ConstMatrixMap<T>(l, n, n).diagonal().template cast<double>();
        const double rows = (ConstArrayMap<T>(lse_rows.data(), n).template cast<double>() - diagonal).sum();
        const double cols = (lse_c.template cast<double>() - diagonal).sum();
        loss.data()[0] = T((rows + cols) / double(2 * n));
    }
    template <class T>
    static void clip_loss_backward(const HTensor<T>& logits, const HTensor<T>& lse_rows, const HTensor<T>& lse_cols,
                                   const HTensor<T>& logit_scale, const HTensor<T>& dloss, HTensor<T>& dcosines,
                                   HTensor<T>& dlogit_scale) {
        require_eigen_type<T>();
        const int64_t n = logits.size(0);
        const T s = std::exp(logit_scale.data()[0]), g = dloss.data()[0] / T(2 * n);
        const ConstArrayMap<T> lse_c(lse_cols.data(), n);
        reduce_rows_parallel(n, 1, n * 6, dlogit_scale.data(), [&](int64_t r0, int64_t r1, auto& partial) {
            for (int64_t r = r0; r < r1; ++r) {
                const ConstArrayMap<T> row(logits.data() + r * n, n);
                ArrayMap<T> out(dcosines.data() + r * n, n);  // dlogits first, then scaled by s
                out = g * ((row - lse_rows.data()[r]).exp() + (row - lse_c).exp());
                out[r] -= 2 * g;
                partial[0] += (out * row).sum();
                out *= s;
            }
        });
    }
};

}  // namespace contra::eig
