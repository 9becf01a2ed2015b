// contra/backend/eigen/batch_norm.hpp — per-channel batch normalisation of NCHW tensors (channels
// in parallel, each channel's N planes as Eigen arrays) and k×k average pooling (planes in parallel).
#pragma once
#include "common.hpp"

namespace contra::eig {

struct BatchNorm {
    struct Planes {
        int64_t N, C, plane;
        int64_t at(int64_t n, int64_t c) const { return (n * C + c) * plane; }  // first element of plane (n, c)
        int64_t count() const { return N * plane; }
    };
    static Planes layout(const Shape& s) { return {s[0], s[1], s[2] * s[3]}; }

    template <class T>
    static void batch_norm2d_statistics(const HTensor<T>& x, HTensor<T>& mean, HTensor<T>& var) {
        require_eigen_type<T>();
        const Planes l = layout(x.shape());
        for_chunks(l.C, l.count() * 3, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                T s = 0, ss = 0;
                for (int64_t n = 0; n < l.N; ++n) s += ConstArrayMap<T>(x.data() + l.at(n, c), l.plane).sum();
                const T mu = s / T(l.count());
                for (int64_t n = 0; n < l.N; ++n) ss += (ConstArrayMap<T>(x.data() + l.at(n, c), l.plane) - mu).square().sum();
                mean.data()[c] = mu;
                var.data()[c] = ss / T(l.count());
            }
        });
    }
    template <class T>
    static void batch_norm2d(const HTensor<T>& x, const HTensor<T>& gamma, const HTensor<T>& beta, const HTensor<T>& mean,
                             const HTensor<T>& var, double eps, HTensor<T>& y, HTensor<T>& rstd) {
        require_eigen_type<T>();
        const Planes l = layout(x.shape());
        for_chunks(l.C, l.count() * 2, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                const T rs = T(1) / std::sqrt(var.data()[c] + T(eps)), mu = mean.data()[c];
                const T scale = rs * gamma.data()[c], shift = beta.data()[c];
                for (int64_t n = 0; n < l.N; ++n)
                    ArrayMap<T>(y.data() + l.at(n, c), l.plane) =
                        (ConstArrayMap<T>(x.data() + l.at(n, c), l.plane) - mu) * scale + shift;
                rstd.data()[c] = rs;
            }
        });
    }
    template <class T>
    static void batch_norm2d_backward(const HTensor<T>& x, const HTensor<T>& gamma, const HTensor<T>& mean,
                                      const HTensor<T>& rstd, const HTensor<T>& dy, bool batch_statistics,
                                      HTensor<T>& dx, HTensor<T>& dgamma, HTensor<T>& dbeta) {
        require_eigen_type<T>();
        const Planes l = layout(x.shape());
        for_chunks(l.C, l.count() * 6, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                const T rs = rstd.data()[c], mu = mean.data()[c], g = gamma.data()[c];
                T sum_dy = 0, sum_dy_xhat = 0;
                for (int64_t n = 0; n < l.N; ++n) {
                    ConstArrayMap<T> xp(x.data() + l.at(n, c), l.plane), dyp(dy.data() + l.at(n, c), l.plane);
                    sum_dy += dyp.sum();
                    sum_dy_xhat += (dyp * (xp - mu)).sum() * rs;
                }
                const T avg_dy = batch_statistics ? sum_dy / T(l.count()) : T(0);
                const T avg_dy_xhat = batch_statistics ? sum_dy_xhat / T(l.count()) : T(0);
                for (int64_t n = 0; n < l.N; ++n) {
                    ConstArrayMap<T> xp(x.data() + l.at(n, c), l.plane), dyp(dy.data() + l.at(n, c), l.plane);
                    ArrayMap<T>(dx.data() + l.at(n, c), l.plane) = (g * rs) * (dyp - avg_dy - (xp - mu) * (rs * avg_dy_xhat));
                }
                dgamma.data()[c] = sum_dy_xhat;
                dbeta.data()[c] = sum_dy;
            }
        });
    }
};

struct Pool {
    template <class T>
    static void avg_pool2d(const HTensor<T>& x, int k, HTensor<T>& y) {
        require_eigen_type<T>();
        const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = H / k, Wo = W / k;
        const T inv = T(1) / T(k * k);
        for_chunks(planes, H * W, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p) {
                const T* in = x.data() + p * H * W;
                T* out = y.data() + p * Ho * Wo;
                for (int64_t i = 0; i < Ho; ++i)
                    for (int64_t j = 0; j < Wo; ++j) {
                        T s = 0;
                        for (int64_t u = 0; u < k; ++u)
                            for (int64_t v = 0; v < k; ++v) s += in[(i * k + u) * W + j * k + v];
                        out[i * Wo + j] = s * inv;
                    }
            }
        });
    }
    template <class T>
    static void avg_pool2d_backward(const HTensor<T>& dy, int k, HTensor<T>& dx) {
        require_eigen_type<T>();
        const int64_t planes = dx.size(0) * dx.size(1), H = dx.size(2), W = dx.size(3), Ho = H / k, Wo = W / k;
        const T inv = T(1) / T(k * k);
        for_chunks(planes, H * W, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p) {
                T* out = dx.data() + p * H * W;
                const T* in = dy.data() + p * Ho * Wo;
                std::fill(out, out + H * W, T(0));
                for (int64_t i = 0; i < Ho; ++i)
                    for (int64_t j = 0; j < Wo; ++j) {
                        const T g = in[i * Wo + j] * inv;
                        for (int64_t u = 0; u < k; ++u)
                            for (int64_t v = 0; v < k; ++v) out[(i * k + u) * W + j * k + v] = g;
                    }
            }
        });
    }
};

}  // namespace contra::eig
