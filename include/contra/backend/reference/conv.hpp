// contra/backend/reference/conv.hpp — direct 2-D convolution (zero padding, square stride).
#pragma once
#include "common.hpp"

namespace contra::ref {

struct Conv {
    // Visits every (output element, weight element, input element) triple of the convolution.
    template <class T, class F>
    static void for_each_tap(const Shape& xs, const Shape& ws, ops::Conv2dShape s, F&& f) {
        const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], O = ws[0], KH = ws[2], KW = ws[3];
        const int64_t Ho = ops::conv2d_out_extent(H, KH, s), Wo = ops::conv2d_out_extent(W, KW, s);
        for (int64_t n = 0; n < N; ++n)
            for (int64_t o = 0; o < O; ++o)
                for (int64_t i = 0; i < Ho; ++i)
                    for (int64_t j = 0; j < Wo; ++j)
                        for (int64_t c = 0; c < C; ++c)
                            for (int64_t u = 0; u < KH; ++u)
                                for (int64_t v = 0; v < KW; ++v) {
                                    const int64_t yy = i * s.stride + u - s.padding, xx = j * s.stride + v - s.padding;
                                    if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                                    f(((n * O + o) * Ho + i) * Wo + j, ((o * C + c) * KH + u) * KW + v,
                                      ((n * C + c) * H + yy) * W + xx);
                                }
    }
    template <class T>
    static void conv2d(const HTensor<T>& x, const HTensor<T>& w, ops::Conv2dShape s, HTensor<T>& y) {
        std::vector<R> acc(std::size_t(y.numel()), 0.0);
        for_each_tap<T>(x.shape(), w.shape(), s,
                        [&](int64_t yi, int64_t wi, int64_t xi) { acc[yi] += R(w.data()[wi]) * R(x.data()[xi]); });
        for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = T(acc[std::size_t(i)]);
    }
    template <class T>
    static void conv2d_backward_data(const HTensor<T>& dy, const HTensor<T>& w, ops::Conv2dShape s, HTensor<T>& dx) {
        std::vector<R> acc(std::size_t(dx.numel()), 0.0);
        for_each_tap<T>(dx.shape(), w.shape(), s,
                        [&](int64_t yi, int64_t wi, int64_t xi) { acc[xi] += R(w.data()[wi]) * R(dy.data()[yi]); });
        for (int64_t i = 0; i < dx.numel(); ++i) dx.data()[i] = T(acc[std::size_t(i)]);
    }
    template <class T>
    static void conv2d_backward_weight(const HTensor<T>& dy, const HTensor<T>& x, ops::Conv2dShape s, HTensor<T>& dw) {
        std::vector<R> acc(std::size_t(dw.numel()), 0.0);
        for_each_tap<T>(x.shape(), dw.shape(), s,
                        [&](int64_t yi, int64_t wi, int64_t xi) { acc[wi] += R(x.data()[xi]) * R(dy.data()[yi]); });
        for (int64_t i = 0; i < dw.numel(); ++i) dw.data()[i] = T(acc[std::size_t(i)]);
    }
};

}  // namespace contra::ref
