// contra/backend/eigen/norm.hpp — layer norm (two-pass; alone or after a residual add) and L2 row
// normalisation.
#pragma once
#include "common.hpp"

namespace contra::eig {

struct Norm {
    template <class T>
    static void layer_norm(const HTensor<T>& x, const HTensor<T>& gamma, const HTensor<T>& beta, double eps,
                           HTensor<T>& y, HTensor<T>& mean, HTensor<T>& rstd) {
        require_eigen_type<T>();
        const int64_t cols = x.cols();
        for_chunks(x.rows(), cols * 4, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r)
                normalize_row(x.data() + r * cols, cols, gamma.data(), beta.data(), eps, y.data() + r * cols,
                              mean.data()[r], rstd.data()[r]);
        });
    }
    // sum = x + branch, then layer_norm(sum), a row at a time while the row is in cache: the same
    // bits as binary(add) then layer_norm.
    template <class T>
    static void add_layer_norm(const HTensor<T>& x, const HTensor<T>& branch, const HTensor<T>& gamma,
                               const HTensor<T>& beta, double eps, HTensor<T>& sum, HTensor<T>& y, HTensor<T>& mean,
                               HTensor<T>& rstd) {
        require_eigen_type<T>();
        const int64_t cols = x.cols();
        for_chunks(x.rows(), cols * 5, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                T* s = sum.data() + r * cols;
                ArrayMap<T>(s, cols) = ConstArrayMap<T>(x.data() + r * cols, cols) + ConstArrayMap<T>(branch.data() + r * cols, cols);
                normalize_row<T>(s, cols, gamma.data(), beta.data(), eps, y.data() + r * cols, mean.data()[r], rstd.data()[r]);
            }
        });
    }
    template <class T>
    static void layer_norm_backward(const HTensor<T>& x, const HTensor<T>& gamma, const HTensor<T>& mean,
                                    const HTensor<T>& rstd, const HTensor<T>& dy, HTensor<T>& dx, HTensor<T>& dgamma,
                                    HTensor<T>& dbeta) {
        require_eigen_type<T>();
        const int64_t rows = x.rows(), cols = x.cols();
        ConstArrayMap<T> g(gamma.data(), cols);
        for_chunks(rows, cols * 6, [&](int64_t r0, int64_t r1) {
            Eigen::Array<T, Eigen::Dynamic, 1> xhat(cols), gy(cols);
            for (int64_t r = r0; r < r1; ++r) {
                ConstArrayMap<T> xr(x.data() + r * cols, cols), dyr(dy.data() + r * cols, cols);
                const T rs = rstd.data()[r];
                xhat = (xr - mean.data()[r]) * rs;
                gy = dyr * g;
                const T mean_g = gy.mean(), mean_gx = (gy * xhat).mean();
                ArrayMap<T>(dx.data() + r * cols, cols) = rs * (gy - mean_g - xhat * mean_gx);
            }
        });
        // dgamma, dbeta: column sums, with per-thread partials of [dgamma | dbeta].
        Eigen::Array<T, Eigen::Dynamic, 1> both(2 * cols);
        reduce_rows_parallel<T>(rows, 2 * cols, cols * 3, both.data(), [&](int64_t r0, int64_t r1, auto& acc) {
            for (int64_t r = r0; r < r1; ++r) {
                ConstArrayMap<T> xr(x.data() + r * cols, cols), dyr(dy.data() + r * cols, cols);
                acc.head(cols) += dyr * (xr - mean.data()[r]) * rstd.data()[r];
                acc.tail(cols) += dyr;
            }
        });
        ArrayMap<T>(dgamma.data(), cols) = both.head(cols);
        ArrayMap<T>(dbeta.data(), cols) = both.tail(cols);
    }
    template <class T>
    static void l2_normalize(const HTensor<T>& x, double eps, HTensor<T>& y, HTensor<T>& norm) {
        require_eigen_type<T>();
        const int64_t rows = x.rows(), cols = x.cols();
        for_chunks(rows, cols * 3, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                ConstArrayMap<T> xr(x.data() + r * cols, cols);
                const T n = std::sqrt(xr.square().sum());
                ArrayMap<T>(y.data() + r * cols, cols) = xr / std::max(n, T(eps));
                norm.data()[r] = n;
            }
        });
    }
    template <class T>
    static void l2_normalize_backward(const HTensor<T>& y, const HTensor<T>& norm, double eps, const HTensor<T>& dy,
                                      HTensor<T>& dx) {
        require_eigen_type<T>();
        const int64_t rows = y.rows(), cols = y.cols();
        for_chunks(rows, cols * 3, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                ConstArrayMap<T> yr(y.data() + r * cols, cols), gr(dy.data() + r * cols, cols);
                const T n = norm.data()[r];
                const T dot = n > T(eps) ? (yr * gr).sum() : T(0);
                ArrayMap<T>(dx.data() + r * cols, cols) = (gr - yr * dot) / std::max(n, T(eps));
            }
        });
    }

private:
    // One row of layer_norm: y = (x − μ)·rstd·γ + β (two-pass variance); μ and rstd saved.
    template <class T>
    static void normalize_row(const T* x, int64_t cols, const T* gamma, const T* beta, double eps, T* y, T& mean,
                              T& rstd) {
        ConstArrayMap<T> xr(x, cols), g(gamma, cols), b(beta, cols);
        const T mu = xr.mean();
        const T var = (xr - mu).square().mean();
        const T rs = T(1) / std::sqrt(var + T(eps));
        ArrayMap<T>(y, cols) = (xr - mu) * (rs * g) + b;
        mean = mu;
        rstd = rs;
    }
};

}  // namespace contra::eig
