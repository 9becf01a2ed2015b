// contra/backend/reference/elementwise.hpp — binary (with broadcast), unary, affine, clamp, convert, axpy, fill.
#pragma once
#include "common.hpp"

namespace contra::ref {

struct Elementwise {
    template <class T>
    static void binary(ops::BinaryOp op, int64_t rows, int64_t cols, const HTensor<T>& a, int64_t brows, int64_t bcols,
                       const HTensor<T>& b, HTensor<T>& out) {
        const T* pa = a.data();
        const T* pb = b.data();
        T* po = out.data();
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) {
                const R bv = R(pb[(brows == 1 ? 0 : r) * bcols + (bcols == 1 ? 0 : c)]);
                po[r * cols + c] = T(scalar::apply(op, R(pa[r * cols + c]), bv));
            }
    }
    template <class T>
    static void unary(ops::UnaryOp op, const HTensor<T>& x, HTensor<T>& out) {
        for (int64_t i = 0; i < x.numel(); ++i) out.data()[i] = T(scalar::apply(op, R(x.data()[i])));
    }
    template <class T>
    static void affine(const HTensor<T>& x, acc_t<T> alpha, acc_t<T> beta, HTensor<T>& out) {
        for (int64_t i = 0; i < x.numel(); ++i) out.data()[i] = T(R(alpha) * R(x.data()[i]) + R(beta));
    }
    template <class T>
    static void clamp(const HTensor<T>& x, acc_t<T> lo, acc_t<T> hi, HTensor<T>& out) {
        for (int64_t i = 0; i < x.numel(); ++i) {
            const R v = R(x.data()[i]);
            out.data()[i] = T(v < R(lo) ? R(lo) : v > R(hi) ? R(hi) : v);
        }
    }
    template <class T, class U>
    static void convert(const HTensor<T>& x, HTensor<U>& out) {
        for (int64_t i = 0; i < x.numel(); ++i) out.data()[i] = U(acc_t<T>(x.data()[i]));
    }
    template <class T>
    static void axpy(acc_t<T> alpha, const HTensor<T>& x, HTensor<T>& y) {
        for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = T(R(y.data()[i]) + R(alpha) * R(x.data()[i]));
    }
    template <class T>
    static void fill(acc_t<T> value, HTensor<T>& out) {
        for (int64_t i = 0; i < out.numel(); ++i) out.data()[i] = T(value);
    }
};

}  // namespace contra::ref
