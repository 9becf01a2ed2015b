// contra/backend/reference/batch_norm.hpp — per-channel batch normalisation of NCHW tensors and
// k×k average pooling (kernel = stride).
#pragma once
#include "common.hpp"

namespace contra::ref {

struct BatchNorm {
    // f(c, i) for every element i of channel c of an [N,C,H,W] tensor.
    template <class F>
    static void for_each_in_channel(const Shape& xs, int64_t c, F&& f) {
        const int64_t N = xs[0], C = xs[1], plane = xs[2] * xs[3];
        for (int64_t n = 0; n < N; ++n)
            for (int64_t p = 0; p < plane; ++p) f((n * C + c) * plane + p);
    }
    template <class T>
    static void batch_norm2d_statistics(const HTensor<T>& x, HTensor<T>& mean, HTensor<T>& var) {
        const R count = R(x.numel() / x.size(1));
        for (int64_t c = 0; c < x.size(1); ++c) {
            R s = 0, ss = 0;
            for_each_in_channel(x.shape(), c, [&](int64_t i) { s += R(x.data()[i]); });
            const R mu = s / count;
            for_each_in_channel(x.shape(), c, [&](int64_t i) { ss += (R(x.data()[i]) - mu) * (R(x.data()[i]) - mu); });
            mean.data()[c] = T(mu);
            var.data()[c] = T(ss / count);
        }
    }
    template <class T>
    static void batch_norm2d(const HTensor<T>& x, const HTensor<T>& gamma, const HTensor<T>& beta, const HTensor<T>& mean,
                             const HTensor<T>& var, double eps, HTensor<T>& y, HTensor<T>& rstd) {
        for (int64_t c = 0; c < x.size(1); ++c) {
            const R rs = 1.0 / std::sqrt(R(var.data()[c]) + eps), mu = R(mean.data()[c]);
            const R g = R(gamma.data()[c]), b = R(beta.data()[c]);
            for_each_in_channel(x.shape(), c, [&](int64_t i) { y.data()[i] = T((R(x.data()[i]) - mu) * rs * g + b); });
            rstd.data()[c] = T(rs);
        }
    }
    template <class T>
    static void batch_norm2d_backward(const HTensor<T>& x, const HTensor<T>& gamma, const HTensor<T>& mean,
                                      const HTensor<T>& rstd, const HTensor<T>& dy, bool batch_statistics,
                                      HTensor<T>& dx, HTensor<T>& dgamma, HTensor<T>& dbeta) {
        const R count = R(x.numel() / x.size(1));
        for (int64_t c = 0; c < x.size(1); ++c) {
            const R rs = R(rstd.data()[c]), mu = R(mean.data()[c]), g = R(gamma.data()[c]);
            R sum_dy = 0, sum_dy_xhat = 0;
            for_each_in_channel(x.shape(), c, [&](int64_t i) {
                sum_dy += R(dy.data()[i]);
                sum_dy_xhat += R(dy.data()[i]) * (R(x.data()[i]) - mu) * rs;
            });
            for_each_in_channel(x.shape(), c, [&](int64_t i) {
                const R xhat = (R(x.data()[i]) - mu) * rs;
                const R d = batch_statistics ? R(dy.data()[i]) - sum_dy / count - xhat * sum_dy_xhat / count : R(dy.data()[i]);
                dx.data()[i] = T(g * rs * d);
            });
            dgamma.data()[c] = T(sum_dy_xhat);
            dbeta.data()[c] = T(sum_dy);
        }
    }
};

struct Pool {
    // f(output index, input index) for every input element inside a window.
    template <class F>
    static void for_each_window_tap(const Shape& xs, int k, F&& f) {
        const int64_t NC = xs[0] * xs[1], H = xs[2], W = xs[3], Ho = H / k, Wo = W / k;
        for (int64_t p = 0; p < NC; ++p)
            for (int64_t i = 0; i < Ho; ++i)
                for (int64_t j = 0; j < Wo; ++j)
                    for (int64_t u = 0; u < k; ++u)
                        for (int64_t v = 0; v < k; ++v) f((p * Ho + i) * Wo + j, (p * H + i * k + u) * W + j * k + v);
    }
    template <class T>
    static void avg_pool2d(const HTensor<T>& x, int k, HTensor<T>& y) {
        std::vector<R> acc(std::size_t(y.numel()), 0.0);
        for_each_window_tap(x.shape(), k, [&](int64_t yi, int64_t xi) { acc[std::size_t(yi)] += R(x.data()[xi]); });
        for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = T(acc[std::size_t(i)] / R(k * k));
    }
    template <class T>
    static void avg_pool2d_backward(const HTensor<T>& dy, int k, HTensor<T>& dx) {
        for (int64_t i = 0; i < dx.numel(); ++i) dx.data()[i] = T(0);
        for_each_window_tap(dx.shape(), k, [&](int64_t yi, int64_t xi) { dx.data()[xi] = T(R(dy.data()[yi]) / R(k * k)); });
    }
};

}  // namespace contra::ref
