// contra/backend/eigen/loss.hpp — cross-entropy with integer targets, rows over threads.
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
};

}  // namespace contra::eig
