// contra/backend/eigen/elementwise.hpp — binary with broadcast, unary, affine, clamp, convert, axpy, fill:
// vectorised Eigen array expressions over parallel chunks.
#pragma once
#include "common.hpp"

namespace contra::eig {

struct Elementwise {
    template <class T, class Lhs, class Rhs>
    static auto combine(ops::BinaryOp op, const Lhs& a, const Rhs& b, ArrayMap<T>& out) {
        switch (op) {
            case ops::BinaryOp::add: out = a + b; break;
            case ops::BinaryOp::sub: out = a - b; break;
            case ops::BinaryOp::mul: out = a * b; break;
            case ops::BinaryOp::div: out = a / b; break;
        }
    }
    template <class T>
    static void binary(ops::BinaryOp op, int64_t rows, int64_t cols, const HTensor<T>& a, int64_t brows, int64_t bcols,
                       const HTensor<T>& b, HTensor<T>& out) {
        require_eigen_type<T>();
        const T* pa = a.data();
        const T* pb = b.data();
        T* po = out.data();
        if (brows == rows && bcols == cols) {  // same shape: flat chunks
            for_chunks(rows * cols, 1, [&](int64_t i0, int64_t i1) {
                ArrayMap<T> o(po + i0, i1 - i0);
                combine<T>(op, ConstArrayMap<T>(pa + i0, i1 - i0), ConstArrayMap<T>(pb + i0, i1 - i0), o);
            });
            return;
        }
        for_chunks(rows, cols, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                ArrayMap<T> o(po + r * cols, cols);
                ConstArrayMap<T> x(pa + r * cols, cols);
                const T* brow = pb + (brows == 1 ? 0 : r) * bcols;
                if (bcols == 1) combine<T>(op, x, Eigen::Array<T, Eigen::Dynamic, 1>::Constant(cols, brow[0]), o);
                else combine<T>(op, x, ConstArrayMap<T>(brow, cols), o);
            }
        });
    }
    template <class T>
    static void unary(ops::UnaryOp op, const HTensor<T>& x, HTensor<T>& out) {
        require_eigen_type<T>();
        const T* px = x.data();
        T* po = out.data();
        for_chunks(x.numel(), 8, [&](int64_t i0, int64_t i1) {
            ConstArrayMap<T> a(px + i0, i1 - i0);
            ArrayMap<T> o(po + i0, i1 - i0);
            switch (op) {
                case ops::UnaryOp::neg: o = -a; break;
                case ops::UnaryOp::exp: o = a.exp(); break;
                case ops::UnaryOp::log: o = a.log(); break;
                case ops::UnaryOp::sqrt: o = a.sqrt(); break;
                case ops::UnaryOp::rsqrt: o = a.rsqrt(); break;
                case ops::UnaryOp::tanh: o = a.tanh(); break;
                case ops::UnaryOp::erf: o = a.erf(); break;
                case ops::UnaryOp::sigmoid: o = a.logistic(); break;
                case ops::UnaryOp::square: o = a.square(); break;
                case ops::UnaryOp::reciprocal: o = a.inverse(); break;
                case ops::UnaryOp::abs: o = a.abs(); break;
                case ops::UnaryOp::log_sigmoid: o = a.min(T(0)) - (-a.abs()).exp().log1p(); break;
            }
        });
    }
    template <class T>
    static void affine(const HTensor<T>& x, acc_t<T> alpha, acc_t<T> beta, HTensor<T>& out) {
        require_eigen_type<T>();
        const T* px = x.data();
        T* po = out.data();
        for_chunks(x.numel(), 1, [&](int64_t i0, int64_t i1) {
            ArrayMap<T>(po + i0, i1 - i0) = T(alpha) * ConstArrayMap<T>(px + i0, i1 - i0) + T(beta);
        });
    }
    // Any element types (bf16 included): a plain loop over parallel chunks.
    template <class T, class U>
    static void convert(const HTensor<T>& x, HTensor<U>& out) {
        const T* px = x.data();
        U* po = out.data();
        for_chunks(x.numel(), 1, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) po[i] = U(acc_t<T>(px[i]));
        });
    }
    template <class T>
    static void clamp(const HTensor<T>& x, acc_t<T> lo, acc_t<T> hi, HTensor<T>& out) {
        require_eigen_type<T>();
        const T* px = x.data();
        T* po = out.data();
        for_chunks(x.numel(), 1, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) po[i] = px[i] < T(lo) ? T(lo) : px[i] > T(hi) ? T(hi) : px[i];
        });
    }
    template <class T>
    static void axpy(acc_t<T> alpha, const HTensor<T>& x, HTensor<T>& y) {
        require_eigen_type<T>();
        const T* px = x.data();
        T* py = y.data();
        for_chunks(x.numel(), 1, [&](int64_t i0, int64_t i1) {
            ArrayMap<T>(py + i0, i1 - i0) += T(alpha) * ConstArrayMap<T>(px + i0, i1 - i0);
        });
    }
    template <class T>
    static void fill(acc_t<T> value, HTensor<T>& out) {
        T* po = out.data();
        for_chunks(out.numel(), 1, [&](int64_t i0, int64_t i1) { std::fill(po + i0, po + i1, T(value)); });
    }
};

}  // namespace contra::eig
