// contra/backend/reference/loss.hpp — cross-entropy with integer targets; the CLIP loss.
#pragma once
#include "softmax.hpp"

namespace contra::ref {

struct Loss {
    static void check_targets(const HTensor<ops::Index>& target, int64_t classes) {
        for (int64_t r = 0; r < target.numel(); ++r)
            CONTRA_CHECK(target.data()[r] >= 0 && target.data()[r] < classes, "cross_entropy: target ", target.data()[r],
                         " of row ", r, " is outside [0, ", classes, ")");
    }
    template <class T>
    static void cross_entropy(const HTensor<T>& logits, const HTensor<ops::Index>& target, HTensor<T>& loss,
                              HTensor<T>& lse) {
        const int64_t rows = logits.rows(), cols = logits.cols();
        check_targets(target, cols);
        for (int64_t r = 0; r < rows; ++r) {
            const R l = Softmax::logsumexp_row(logits.data() + r * cols, cols);
            const R picked = R(logits.data()[r * cols + target.data()[r]]);
            lse.data()[r] = T(l);
            loss.data()[r] = T(l == -std::numeric_limits<R>::infinity() ? std::numeric_limits<R>::infinity() : l - picked);
        }
    }
    template <class T>
    static void cross_entropy_backward(const HTensor<T>& logits, const HTensor<ops::Index>& target, const HTensor<T>& lse,
                                       const HTensor<T>& dloss, HTensor<T>& dlogits) {
        const int64_t rows = logits.rows(), cols = logits.cols();
        check_targets(target, cols);
        for (int64_t r = 0; r < rows; ++r) {
            const R l = R(lse.data()[r]), g = R(dloss.data()[r]);
            for (int64_t c = 0; c < cols; ++c) {
                const R p = l == -std::numeric_limits<R>::infinity() ? 0.0 : std::exp(R(logits.data()[r * cols + c]) - l);
                const R onehot = (l != -std::numeric_limits<R>::infinity() && c == target.data()[r]) ? 1.0 : 0.0;
                dlogits.data()[r * cols + c] = T(g * (p - onehot));
            }
        }
    }

    // logsumexp of x[0], x[stride], …, x[(count−1)·stride], around the maximum.
    template <class T>
    static R logsumexp_strided(const T* x, int64_t count, int64_t stride) {
        R max = -std::numeric_limits<R>::infinity();
        for (int64_t k = 0; k < count; ++k) max = std::max(max, R(x[k * stride]));
        if (std::isinf(max)) return max;
        R total = 0;
        for (int64_t k = 0; k < count; ++k) total += std::exp(R(x[k * stride]) - max);
        return max + std::log(total);
    }
    template <class T>
    static void clip_loss(const HTensor<T>& cosines, const HTensor<T>& logit_scale, HTensor<T>& logits,
                          HTensor<T>& lse_rows, HTensor<T>& lse_cols, HTensor<T>& loss) {
        const int64_t n = cosines.size(0);
        const R s = std::exp(R(logit_scale.data()[0]));
        const T* cos = cosines.data();
        T* l = logits.data();
        for (int64_t i = 0; i < n * n; ++i) l[i] = T(s * R(cos[i]));  // in place when logits is cosines
        R total = 0;
        for (int64_t i = 0; i < n; ++i) {
            const R row = logsumexp_strided(l + i * n, n, 1), col = logsumexp_strided(l + i, n, n);
            lse_rows.data()[i] = T(row);
            lse_cols.data()[i] = T(col);
            total += (row - R(l[i * n + i])) + (col - R(l[i * n + i]));
        }
        loss.data()[0] = T(total / R(2 * n));
    }
    template <class T>
    static void clip_loss_backward(const HTensor<T>& logits, const HTensor<T>& lse_rows, const HTensor<T>& lse_cols,
                                   const HTensor<T>& logit_scale, const HTensor<T>& dloss, HTensor<T>& dcosines,
                                   HTensor<T>& dlogit_scale) {
        const int64_t n = logits.size(0);
        const R s = std::exp(R(logit_scale.data()[0])), g = R(dloss.data()[0]) / R(2 * n);
        R total = 0;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j) {
                const R l = R(logits.data()[i * n + j]);
                const R dl = g * (std::exp(l - R(lse_rows.data()[i])) + std::exp(l - R(lse_cols.data()[j])) - (i == j ? 2 : 0));
                dcosines.data()[i * n + j] = T(s * dl);
                total += dl * l;
            }
        dlogit_scale.data()[0] = T(total);
    }
};

}  // namespace contra::ref
