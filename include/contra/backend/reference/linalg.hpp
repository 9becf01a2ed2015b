// contra/backend/reference/linalg.hpp — gemm, linear, gemm_batched as triple loops.
#pragma once
#include "common.hpp"

namespace contra::ref {

struct Linalg {
    // C[m×n] = alpha·op(A)·op(B) + beta·C on raw row-major matrices.
    template <class T>
    static void gemm_raw(ops::Trans ta, ops::Trans tb, int64_t m, int64_t n, int64_t k, R alpha, const T* a,
                         const T* b, R beta, T* c) {
        const int64_t lda = ta == ops::Trans::N ? k : m, ldb = tb == ops::Trans::N ? n : k;
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                R s = 0;
                for (int64_t p = 0; p < k; ++p) {
                    const R av = ta == ops::Trans::N ? R(a[i * lda + p]) : R(a[p * lda + i]);
                    const R bv = tb == ops::Trans::N ? R(b[p * ldb + j]) : R(b[j * ldb + p]);
                    s += av * bv;
                }
                c[i * n + j] = T(beta == 0 ? alpha * s : alpha * s + beta * R(c[i * n + j]));
            }
    }
    template <class T>
    static void gemm(ops::Trans ta, ops::Trans tb, int64_t m, int64_t n, int64_t k, acc_t<T> alpha, const HTensor<T>& a,
                     const HTensor<T>& b, acc_t<T> beta, HTensor<T>& c) {
        gemm_raw(ta, tb, m, n, k, R(alpha), a.data(), b.data(), R(beta), c.data());
    }
    template <class T>
    static void linear(const HTensor<T>& x, const HTensor<T>& w, const HTensor<T>* bias, HTensor<T>& y) {
        const int64_t rows = x.rows(), in = x.cols(), out = w.size(0);
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t o = 0; o < out; ++o) {
                R s = bias ? R(bias->data()[o]) : R(0);
                for (int64_t i = 0; i < in; ++i) s += R(x.data()[r * in + i]) * R(w.data()[o * in + i]);
                y.data()[r * out + o] = T(s);
            }
    }
    template <class T>
    static void gemm_batched(ops::Trans ta, ops::Trans tb, int64_t batch, int64_t m, int64_t n, int64_t k,
                             acc_t<T> alpha, const HTensor<T>& a, const HTensor<T>& b, acc_t<T> beta, HTensor<T>& c) {
        for (int64_t l = 0; l < batch; ++l)
            gemm_raw(ta, tb, m, n, k, R(alpha), a.data() + l * m * k, b.data() + l * k * n, R(beta), c.data() + l * m * n);
    }
};

}  // namespace contra::ref
