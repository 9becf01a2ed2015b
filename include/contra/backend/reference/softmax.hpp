// contra/backend/reference/softmax.hpp — softmax (masked), log-softmax, and their backward passes.
#pragma once
#include <vector>

#include "common.hpp"

namespace contra::ref {

struct Softmax {
    template <class T>
    static void softmax(const HTensor<T>& x, ops::SoftmaxMask mask, const HTensor<T>* bias, HTensor<T>& y) {
        const int64_t rows = x.rows(), cols = x.cols();
        const int64_t group = mask.key_lengths.empty() ? rows : rows / int64_t(mask.key_lengths.size());  // rows a sequence
        std::vector<R> z(std::size_t(cols), 0.0);
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t live = mask.live(r / group, r % cols, cols);
            R max = -std::numeric_limits<R>::infinity();
            for (int64_t c = 0; c < cols; ++c) {
                R v = R(x.data()[r * cols + c]);
                if (bias) v += R(bias->data()[(r % bias->rows()) * cols + c]);
                if (c >= live) v = -std::numeric_limits<R>::infinity();
                z[std::size_t(c)] = v;
                max = std::max(max, v);
            }
            if (max == -std::numeric_limits<R>::infinity()) {  // every entry masked
                for (int64_t c = 0; c < cols; ++c) y.data()[r * cols + c] = T(0);
                continue;
            }
            R total = 0;
            for (int64_t c = 0; c < cols; ++c) total += std::exp(z[std::size_t(c)] - max);
            for (int64_t c = 0; c < cols; ++c) y.data()[r * cols + c] = T(std::exp(z[std::size_t(c)] - max) / total);
        }
    }
    template <class T>
    static void softmax_backward(const HTensor<T>& y, const HTensor<T>& dy, HTensor<T>& dx) {
        const int64_t rows = y.rows(), cols = y.cols();
        for (int64_t r = 0; r < rows; ++r) {
            R dot = 0;
            for (int64_t c = 0; c < cols; ++c) dot += R(y.data()[r * cols + c]) * R(dy.data()[r * cols + c]);
            for (int64_t c = 0; c < cols; ++c)
                dx.data()[r * cols + c] = T(R(y.data()[r * cols + c]) * (R(dy.data()[r * cols + c]) - dot));
        }
    }
    template <class T>
    static R logsumexp_row(const T* row, int64_t cols) {
        R max = -std::numeric_limits<R>::infinity();
        for (int64_t c = 0; c < cols; ++c) max = std::max(max, R(row[c]));
        if (max == -std::numeric_limits<R>::infinity() || max == std::numeric_limits<R>::infinity()) return max;
        R total = 0;
        for (int64_t c = 0; c < cols; ++c) total += std::exp(R(row[c]) - max);
        return max + std::log(total);
    }
    template <class T>
    static void log_softmax(const HTensor<T>& x, HTensor<T>& y) {
        const int64_t rows = x.rows(), cols = x.cols();
        for (int64_t r = 0; r < rows; ++r) {
            const R lse = logsumexp_row(x.data() + r * cols, cols);
            for (int64_t c = 0; c < cols; ++c) {
                const R v = R(x.data()[r * cols + c]);
                y.data()[r * cols + c] = T(v == -std::numeric_limits<R>::infinity() ? v : v - lse);
            }
        }
    }
    template <class T>
    static void log_softmax_backward(const HTensor<T>& y, const HTensor<T>& dy, HTensor<T>& dx) {
        const int64_t rows = y.rows(), cols = y.cols();
        for (int64_t r = 0; r < rows; ++r) {
            R total = 0;
            for (int64_t c = 0; c < cols; ++c) total += R(dy.data()[r * cols + c]);
            for (int64_t c = 0; c < cols; ++c)
                dx.data()[r * cols + c] = T(R(dy.data()[r * cols + c]) - std::exp(R(y.data()[r * cols + c])) * total);
        }
    }
};

}  // namespace contra::ref
