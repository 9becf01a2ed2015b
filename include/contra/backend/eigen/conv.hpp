// contra/backend/eigen/conv.hpp — 2-D convolution as im2col + GEMM per image, images split over
// the threads (the weight gradient from per-thread partial sums).
#pragma once
#include "common.hpp"
#include "linalg.hpp"

namespace contra::eig {

struct Conv {
    struct Geometry {
        int64_t N, C, H, W, O, KH, KW, Ho, Wo;
        ops::Conv2dShape s;
        int64_t k() const { return C * KH * KW; }
        int64_t pixels() const { return Ho * Wo; }
    };
    static Geometry geometry(const Shape& x, const Shape& w, ops::Conv2dShape s) {
        return {x[0], x[1], x[2], x[3], w[0], w[2], w[3], ops::conv2d_out_extent(x[2], w[2], s),
                ops::conv2d_out_extent(x[3], w[3], s), s};
    }
    // cols [C·KH·KW, Ho·Wo] ↔ image [C, H, W]; ToCols gathers, otherwise scatter-adds.
    template <bool ToCols, class T>
    static void im2col(const Geometry& g, T* img, T* cols) {
        for (int64_t c = 0; c < g.C; ++c)
            for (int64_t u = 0; u < g.KH; ++u)
                for (int64_t v = 0; v < g.KW; ++v) {
                    T* row = cols + ((c * g.KH + u) * g.KW + v) * g.pixels();
                    for (int64_t i = 0; i < g.Ho; ++i) {
                        const int64_t yy = i * g.s.stride + u - g.s.padding;
                        for (int64_t j = 0; j < g.Wo; ++j) {
                            const int64_t xx = j * g.s.stride + v - g.s.padding;
                            const bool inside = yy >= 0 && yy < g.H && xx >= 0 && xx < g.W;
                            T* pixel = img + (c * g.H + yy) * g.W + xx;
                            if constexpr (ToCols) row[i * g.Wo + j] = inside ? *pixel : T(0);
                            else if (inside) *pixel += row[i * g.Wo + j];
                        }
                    }
                }
    }
    template <class T>
    static void conv2d(const HTensor<T>& x, const HTensor<T>& w, ops::Conv2dShape s, HTensor<T>& y) {
        require_eigen_type<T>();
        const Geometry g = geometry(x.shape(), w.shape(), s);
        for_chunks(g.N, g.O * g.k() * g.pixels(), [&](int64_t n0, int64_t n1) {
            std::vector<T> cols(std::size_t(g.k() * g.pixels()));
            for (int64_t n = n0; n < n1; ++n) {
                im2col<true>(g, const_cast<T*>(x.data()) + n * g.C * g.H * g.W, cols.data());
                Linalg::gemm_raw(ops::Trans::N, ops::Trans::N, g.O, g.pixels(), g.k(), T(1), w.data(), cols.data(), T(0),
                                 y.data() + n * g.O * g.pixels());
            }
        });
    }
    template <class T>
    static void conv2d_backward_data(const HTensor<T>& dy, const HTensor<T>& w, ops::Conv2dShape s, HTensor<T>& dx) {
        require_eigen_type<T>();
        const Geometry g = geometry(dx.shape(), w.shape(), s);
        dx.zero_();
        for_chunks(g.N, g.O * g.k() * g.pixels(), [&](int64_t n0, int64_t n1) {
            std::vector<T> cols(std::size_t(g.k() * g.pixels()));
            for (int64_t n = n0; n < n1; ++n) {
                Linalg::gemm_raw(ops::Trans::T, ops::Trans::N, g.k(), g.pixels(), g.O, T(1), w.data(),
                                 dy.data() + n * g.O * g.pixels(), T(0), cols.data());
                im2col<false>(g, dx.data() + n * g.C * g.H * g.W, cols.data());
            }
        });
    }
    template <class T>
    static void conv2d_backward_weight(const HTensor<T>& dy, const HTensor<T>& x, ops::Conv2dShape s, HTensor<T>& dw) {
        require_eigen_type<T>();
        const Geometry g = geometry(x.shape(), dw.shape(), s);
        reduce_rows_parallel<T>(g.N, g.O * g.k(), g.O * g.k() * g.pixels(), dw.data(), [&](int64_t n0, int64_t n1, auto& acc) {
            std::vector<T> cols(std::size_t(g.k() * g.pixels()));
            MatrixMap<T> partial(acc.data(), g.O, g.k());  // [O, C·KH·KW]
            for (int64_t n = n0; n < n1; ++n) {
                im2col<true>(g, const_cast<T*>(x.data()) + n * g.C * g.H * g.W, cols.data());
                partial.noalias() += ConstMatrixMap<T>(dy.data() + n * g.O * g.pixels(), g.O, g.pixels()) *
                                     ConstMatrixMap<T>(cols.data(), g.k(), g.pixels()).transpose();
            }
        });
    }
};

}  // namespace contra::eig
