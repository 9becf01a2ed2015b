// contra/backend/eigen/softmax.hpp — row softmax (masked), log-softmax, backward passes;
// rows split over threads, each row a vectorised expression.
#pragma once
#include "common.hpp"

namespace contra::eig {

struct Softmax {
    template <class T>
    static void softmax(const HTensor<T>& x, ops::SoftmaxMask mask, const HTensor<T>* bias, HTensor<T>& y) {
        require_eigen_type<T>();
        const int64_t rows = x.rows(), cols = x.cols();
        const T* px = x.data();
        T* py = y.data();
        const T* pb = bias ? bias->data() : nullptr;
        const int64_t bias_rows = bias ? bias->rows() : 1;
        const int64_t group = mask.key_lengths.empty() ? rows : rows / int64_t(mask.key_lengths.size());  // rows a sequence
        for_chunks(rows, cols * 4, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                // Only the first `live` columns take part (causal: (r mod C) + 1).
                const int64_t live = mask.live(r / group, r % cols, cols);
                ArrayMap<T> out(py + r * cols, cols);
                auto head = out.head(live);
                head = ConstArrayMap<T>(px + r * cols, live);
                if (pb) head += ConstArrayMap<T>(pb + (r % bias_rows) * cols, live);
                out.tail(cols - live).setZero();
                const T max = head.maxCoeff();
                if (max == -std::numeric_limits<T>::infinity()) {
                    head.setZero();
                    continue;
                }
                head = (head - max).exp();
                head *= T(1) / head.sum();
            }
        });
    }
    template <class T>
    static void softmax_backward(const HTensor<T>& y, const HTensor<T>& dy, HTensor<T>& dx) {
        require_eigen_type<T>();
        const int64_t rows = y.rows(), cols = y.cols();
        for_chunks(rows, cols * 3, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                ConstArrayMap<T> yr(y.data() + r * cols, cols), gr(dy.data() + r * cols, cols);
                const T dot = (yr * gr).sum();
                ArrayMap<T>(dx.data() + r * cols, cols) = yr * (gr - dot);
            }
        });
    }
    template <class T>
    static T logsumexp(const ConstArrayMap<T>& row) {
        const T max = row.maxCoeff();
        if (!std::isfinite(max)) return max;
        return max + std::log((row - max).exp().sum());
    }
    template <class T>
    static void log_softmax(const HTensor<T>& x, HTensor<T>& y) {
        require_eigen_type<T>();
        const int64_t rows = x.rows(), cols = x.cols();
        for_chunks(rows, cols * 4, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                ConstArrayMap<T> xr(x.data() + r * cols, cols);
                const T lse = logsumexp(xr);
                ArrayMap<T> yr(y.data() + r * cols, cols);
                if (lse == -std::numeric_limits<T>::infinity()) yr = xr;
                else yr = xr - lse;
            }
        });
    }
    template <class T>
    static void log_softmax_backward(const HTensor<T>& y, const HTensor<T>& dy, HTensor<T>& dx) {
        require_eigen_type<T>();
        const int64_t rows = y.rows(), cols = y.cols();
        for_chunks(rows, cols * 3, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                ConstArrayMap<T> yr(y.data() + r * cols, cols), gr(dy.data() + r * cols, cols);
                ArrayMap<T>(dx.data() + r * cols, cols) = gr - yr.exp() * gr.sum();
            }
        });
    }
};

}  // namespace contra::eig
