// contra/backend/reference/loss.hpp — cross-entropy with integer targets.
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
};

}  // namespace contra::ref
