// contra/backend/eigen/linalg.hpp — GEMM: float products through contra's packed GEMM
// (packed_gemm.hpp) on AVX2/AVX-512 builds, everything else through Eigen's (multithreaded by
// Eigen's own OpenMP split); batched GEMM split over the batch, one single-threaded GEMM per matrix.
#pragma once
#include "common.hpp"
#include "packed_gemm.hpp"

namespace contra::eig {

struct Linalg {
    // Below this many multiply-adds (e.g. one attention head's 50×50×32 scores) packing costs
    // more than it saves, and Eigen's GEMM is faster.
    static constexpr int64_t kSmallProduct = 1 << 18;

    template <class T>
    static void gemm_raw(ops::Trans ta, ops::Trans tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, const T* b,
                         T beta, T* c) {
        if constexpr (std::is_same_v<T, float> && packed::kPackedGemm) {
            if (m * n * k >= kSmallProduct)
                return packed::sgemm(ta == ops::Trans::T, tb == ops::Trans::T, m, n, k, alpha, a, b, beta, c);
        }
        MatrixMap<T> C(c, m, n);
        if (k == 0) {
            if (beta == T(0)) C.setZero();
            else C *= beta;
            return;
        }
        ConstMatrixMap<T> A(a, ta == ops::Trans::N ? m : k, ta == ops::Trans::N ? k : m);
        ConstMatrixMap<T> B(b, tb == ops::Trans::N ? k : n, tb == ops::Trans::N ? n : k);
        auto run = [&](const auto& opA, const auto& opB) {
            if (beta == T(0)) {
                C.noalias() = alpha * (opA * opB);
            } else {
                if (beta != T(1)) C *= beta;
                C.noalias() += alpha * (opA * opB);
            }
        };
        if (ta == ops::Trans::N && tb == ops::Trans::N) run(A, B);
        else if (ta == ops::Trans::N) run(A, B.transpose());
        else if (tb == ops::Trans::N) run(A.transpose(), B);
        else run(A.transpose(), B.transpose());
    }
    template <class T>
    static void gemm(ops::Trans ta, ops::Trans tb, int64_t m, int64_t n, int64_t k, acc_t<T> alpha, const HTensor<T>& a,
                     const HTensor<T>& b, acc_t<T> beta, HTensor<T>& c) {
        require_eigen_type<T>();
        gemm_raw(ta, tb, m, n, k, T(alpha), a.data(), b.data(), T(beta), c.data());
    }
    // y = x·wᵀ + bias: the bias in the packed GEMM's epilogue, or added after Eigen's product.
    template <class T>
    static void linear(const HTensor<T>& x, const HTensor<T>& w, const HTensor<T>* bias, HTensor<T>& y) {
        require_eigen_type<T>();
        const int64_t m = x.rows(), n = w.size(0), k = x.cols();
        if constexpr (std::is_same_v<T, float> && packed::kPackedGemm) {
            if (m * n * k >= kSmallProduct)
                return packed::sgemm(false, true, m, n, k, 1.f, x.data(), w.data(), 0.f, y.data(),
                                     bias ? bias->data() : nullptr);
        }
        gemm_raw(ops::Trans::N, ops::Trans::T, m, n, k, T(1), x.data(), w.data(), T(0), y.data());
        if (bias) MatrixMap<T>(y.data(), m, n).rowwise() += ConstMatrixMap<T>(bias->data(), 1, n).row(0);
    }
    template <class T>
    static void gemm_batched(ops::Trans ta, ops::Trans tb, int64_t batch, int64_t m, int64_t n, int64_t k,
                             acc_t<T> alpha, const HTensor<T>& a, const HTensor<T>& b, acc_t<T> beta, HTensor<T>& c) {
        require_eigen_type<T>();
        const T* pa = a.data();
        const T* pb = b.data();
        T* pc = c.data();
        for_chunks(batch, 2 * m * n * k, [&](int64_t l0, int64_t l1) {
            for (int64_t l = l0; l < l1; ++l)
                gemm_raw(ta, tb, m, n, k, T(alpha), pa + l * m * k, pb + l * k * n, T(beta), pc + l * m * n);
        });
    }
};

}  // namespace contra::eig
