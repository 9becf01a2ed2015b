// contra/backend/reference/norm.hpp — layer norm (alone, or after a residual add) and L2 row
// normalisation, forward and backward.
#pragma once
#include "common.hpp"

namespace contra::ref {

struct Norm {
    template <class T>
    static void layer_norm(const HTensor<T>& x, const HTensor<T>& gamma, const HTensor<T>& beta, double eps,
                           HTensor<T>& y, HTensor<T>& mean, HTensor<T>& rstd) {
        const int64_t rows = x.rows(), cols = x.cols();
        for (int64_t r = 0; r < rows; ++r) {
            const T* xr = x.data() + r * cols;
            R mu = 0;
            for (int64_t c = 0; c < cols; ++c) mu += R(xr[c]);
            mu /= R(cols);
            R var = 0;
            for (int64_t c = 0; c < cols; ++c) var += (R(xr[c]) - mu) * (R(xr[c]) - mu);
            var /= R(cols);
            const R rs = 1.0 / std::sqrt(var + eps);
            for (int64_t c = 0; c < cols; ++c)
                y.data()[r * cols + c] = T((R(xr[c]) - mu) * rs * R(gamma.data()[c]) + R(beta.data()[c]));
            mean.data()[r] = T(mu);
            rstd.data()[r] = T(rs);
        }
    }
    // sum = x + branch as binary(add) rounds it, then layer_norm(sum): the composite, by definition.
    template <class T>
    static void add_layer_norm(const HTensor<T>& x, const HTensor<T>& branch, const HTensor<T>& gamma,
                               const HTensor<T>& beta, double eps, HTensor<T>& sum, HTensor<T>& y, HTensor<T>& mean,
                               HTensor<T>& rstd) {
        for (int64_t i = 0; i < x.numel(); ++i)
            sum.data()[i] = T(scalar::apply(ops::BinaryOp::add, R(x.data()[i]), R(branch.data()[i])));
        layer_norm(sum, gamma, beta, eps, y, mean, rstd);
    }
    // With x̂ = (x − μ)·rstd and g = dy·γ:  dx = rstd · (g − mean(g) − x̂·mean(g·x̂)).
    template <class T>
    static void layer_norm_backward(const HTensor<T>& x, const HTensor<T>& gamma, const HTensor<T>& mean,
                                    const HTensor<T>& rstd, const HTensor<T>& dy, HTensor<T>& dx, HTensor<T>& dgamma,
                                    HTensor<T>& dbeta) {
        const int64_t rows = x.rows(), cols = x.cols();
        for (int64_t c = 0; c < cols; ++c) {
            R dg = 0, db = 0;
            for (int64_t r = 0; r < rows; ++r) {
                const R xhat = (R(x.data()[r * cols + c]) - R(mean.data()[r])) * R(rstd.data()[r]);
                dg += R(dy.data()[r * cols + c]) * xhat;
                db += R(dy.data()[r * cols + c]);
            }
            dgamma.data()[c] = T(dg);
            dbeta.data()[c] = T(db);
        }
        for (int64_t r = 0; r < rows; ++r) {
            const R mu = R(mean.data()[r]), rs = R(rstd.data()[r]);
            R mean_g = 0, mean_gx = 0;
            for (int64_t c = 0; c < cols; ++c) {
                const R g = R(dy.data()[r * cols + c]) * R(gamma.data()[c]);
                mean_g += g;
                mean_gx += g * (R(x.data()[r * cols + c]) - mu) * rs;
            }
            mean_g /= R(cols);
            mean_gx /= R(cols);
            for (int64_t c = 0; c < cols; ++c) {
                const R g = R(dy.data()[r * cols + c]) * R(gamma.data()[c]);
                const R xhat = (R(x.data()[r * cols + c]) - mu) * rs;
                dx.data()[r * cols + c] = T(rs * (g - mean_g - xhat * mean_gx));
            }
        }
    }
    template <class T>
    static void l2_normalize(const HTensor<T>& x, double eps, HTensor<T>& y, HTensor<T>& norm) {
        const int64_t rows = x.rows(), cols = x.cols();
        for (int64_t r = 0; r < rows; ++r) {
            R ss = 0;
            for (int64_t c = 0; c < cols; ++c) ss += R(x.data()[r * cols + c]) * R(x.data()[r * cols + c]);
            const R n = std::sqrt(ss), d = std::max(n, eps);
            for (int64_t c = 0; c < cols; ++c) y.data()[r * cols + c] = T(R(x.data()[r * cols + c]) / d);
            norm.data()[r] = T(n);
        }
    }
    template <class T>
    static void l2_normalize_backward(const HTensor<T>& y, const HTensor<T>& norm, double eps, const HTensor<T>& dy,
                                      HTensor<T>& dx) {
        const int64_t rows = y.rows(), cols = y.cols();
        for (int64_t r = 0; r < rows; ++r) {
            const R n = R(norm.data()[r]);
            R dot = 0;
            if (n > eps)
                for (int64_t c = 0; c < cols; ++c) dot += R(y.data()[r * cols + c]) * R(dy.data()[r * cols + c]);
            const R d = std::max(n, eps);
            for (int64_t c = 0; c < cols; ++c)
                dx.data()[r * cols + c] = T((R(dy.data()[r * cols + c]) - R(y.data()[r * cols + c]) * dot) / d);
        }
    }
};

}  // namespace contra::ref
