// contra/backend/cuda/conv.cuh — 2-D convolution (zero padding, square stride) as im2col + cuBLAS,
// and its two adjoints.
// defines: contra::cu::Conv (the convolution part of Kernels<cuda>)
//
// With K = C·KH·KW and P = Ho·Wo, image n's columns cols_n [K, P] hold the input taps of every
// output pixel, so that
//   y_n  [O, P] = w [O, K] · cols_n                 (one strided-batched GEMM; w repeated, stride 0)
//   cols_n      = wᵀ · dy_n, then col2im: each dx pixel gathers its taps (no atomics)
//   dw  [O, K]  = Σ_n dy_n · cols_nᵀ = dy' · cols'ᵀ  with dy' [O, G·P] and cols' [K, G·P]
// Images go in groups of G, sized so that the columns stay under kConvWorkspaceElements; the
// weight gradient adds the groups' GEMMs in group order (beta = 1 after the first).
#pragma once
#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"
#include "layout.cuh"
#include "linalg.cuh"
#include "memory.cuh"

namespace contra::cu {

inline constexpr Index64 kConvWorkspaceElements = Index64(1) << 25;

struct ConvGeometry {
    Index64 N, C, H, W, O, KH, KW, Ho, Wo;
    int stride, padding;
    __host__ __device__ Index64 k() const { return C * KH * KW; }
    __host__ __device__ Index64 pixels() const { return Ho * Wo; }
};

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// cols[g·stride_g + kk·stride_k + pix] = x[first + g, c, i·s + u − pad, j·s + v − pad] (0 outside),
// kk = (c, u, v), pix = (i, j), for the images first … first + G − 1.
template <class T>
__global__ void im2col_kernel(ConvGeometry geo, Index64 first, Index64 G, Index64 stride_g, Index64 stride_k, const T* x,
                              T* cols) {
    const Index64 K = geo.k(), P = geo.pixels(), total = G * K * P;
    for (Index64 e = first_index(); e < total; e += grid_stride()) {
        const Index64 pix = e % P, kk = (e / P) % K, g = e / (P * K);
        const Index64 v = kk % geo.KW, u = (kk / geo.KW) % geo.KH, c = kk / (geo.KW * geo.KH);
        const Index64 i = pix / geo.Wo, j = pix % geo.Wo;
        const Index64 yy = i * geo.stride + u - geo.padding, xx = j * geo.stride + v - geo.padding;
        const bool inside = yy >= 0 && yy < geo.H && xx >= 0 && xx < geo.W;
        cols[g * stride_g + kk * stride_k + pix] = inside ? x[(((first + g) * geo.C + c) * geo.H + yy) * geo.W + xx] : T(0);
    }
}

// dx[first + g, c, yy, xx] = Σ over the taps (u, v) that read it of cols[g, (c, u, v), (i, j)].
template <class T>
__global__ void col2im_kernel(ConvGeometry geo, Index64 first, Index64 G, const T* cols, T* dx) {
    using A = acc_t<T>;
    const Index64 K = geo.k(), P = geo.pixels(), total = G * geo.C * geo.H * geo.W;
    for (Index64 e = first_index(); e < total; e += grid_stride()) {
        const Index64 xx = e % geo.W, yy = (e / geo.W) % geo.H, c = (e / (geo.W * geo.H)) % geo.C;
        const Index64 g = e / (geo.W * geo.H * geo.C);
        const T* cg = cols + g * K * P;
        A s = 0;
        for (Index64 u = 0; u < geo.KH; ++u) {
            const Index64 ti = yy + geo.padding - u;
            if (ti < 0 || ti % geo.stride != 0 || ti / geo.stride >= geo.Ho) continue;
            for (Index64 v = 0; v < geo.KW; ++v) {
                const Index64 tj = xx + geo.padding - v;
                if (tj < 0 || tj % geo.stride != 0 || tj / geo.stride >= geo.Wo) continue;
                s += A(cg[((c * geo.KH + u) * geo.KW + v) * P + (ti / geo.stride) * geo.Wo + tj / geo.stride]);
            }
        }
        dx[(first * geo.C) * geo.H * geo.W + e] = T(s);
    }
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

inline ConvGeometry conv_geometry(const Shape& x, const Shape& w, ops::Conv2dShape s) {
    return {x[0], x[1], x[2], x[3], w[0], w[2], w[3], ops::conv2d_out_extent(x[2], w[2], s),
            ops::conv2d_out_extent(x[3], w[3], s), s.stride, s.padding};
}

// Images per group: as many as keep `per_image` workspace elements under the budget.
inline Index64 conv_group(const ConvGeometry& geo, Index64 per_image) {
    return std::clamp<Index64>(kConvWorkspaceElements / std::max<Index64>(1, per_image), 1, std::max<Index64>(1, geo.N));
}

template <class T>
void launch_im2col(cudaStream_t stream, const ConvGeometry& geo, Index64 first, Index64 G, Index64 stride_g,
                   Index64 stride_k, const T* x, T* cols) {
    const Index64 total = G * geo.k() * geo.pixels();
    if (total == 0) return;
    im2col_kernel<T><<<grid_for(total), kBlock, 0, stream>>>(geo, first, G, stride_g, stride_k, x, cols);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_conv2d(cudaStream_t stream, const ConvGeometry& geo, const T* x, const T* w, T* y) {
    const Index64 K = geo.k(), P = geo.pixels(), O = geo.O;
    if (geo.N * O * P == 0) return;
    const Index64 group = conv_group(geo, K * P);
    auto cols = scratch<T>(group * K * P);  // [G, K, P]
    for (Index64 first = 0; first < geo.N; first += group) {
        const Index64 G = std::min(group, geo.N - first);
        launch_im2col(stream, geo, first, G, K * P, P, x, cols.data());
        gemm_strided_batched<T>(cublas_handle(), ops::Trans::N, ops::Trans::N, G, O, P, K, acc_t<T>(1), w, 0,
                                cols.data(), K * P, acc_t<T>(0), y + first * O * P, O * P);
    }
}

template <class T>
void launch_conv2d_backward_data(cudaStream_t stream, const ConvGeometry& geo, const T* dy, const T* w, T* dx) {
    const Index64 K = geo.k(), P = geo.pixels(), O = geo.O, total = geo.N * geo.C * geo.H * geo.W;
    if (total == 0) return;
    const Index64 group = conv_group(geo, K * P);
    auto cols = scratch<T>(std::max<Index64>(1, group * K * P));  // [G, K, P]
    for (Index64 first = 0; first < geo.N; first += group) {
        const Index64 G = std::min(group, geo.N - first);
        gemm_strided_batched<T>(cublas_handle(), ops::Trans::T, ops::Trans::N, G, K, P, O, acc_t<T>(1), w, 0,
                                dy + first * O * P, O * P, acc_t<T>(0), cols.data(), K * P);
        const Index64 n = G * geo.C * geo.H * geo.W;
        col2im_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(geo, first, G, cols.data(), dx);
        CONTRA_CUDA_CHECK_LAUNCH();
    }
}

template <class T>
void launch_conv2d_backward_weight(cudaStream_t stream, const ConvGeometry& geo, const T* dy, const T* x, T* dw) {
    const Index64 K = geo.k(), P = geo.pixels(), O = geo.O;
    if (O * K == 0) return;
    if (geo.N * P == 0) {
        CONTRA_CUDA_CHECK(cudaMemsetAsync(dw, 0, std::size_t(O * K) * sizeof(T), stream));
        return;
    }
    const Index64 group = conv_group(geo, (K + O) * P);
    auto cols = scratch<T>(group * K * P);      // [K, G·P]
    auto dy_rows = scratch<T>(group * O * P);   // [O, G·P]
    for (Index64 first = 0; first < geo.N; first += group) {
        const Index64 G = std::min(group, geo.N - first);
        launch_im2col(stream, geo, first, G, P, G * P, x, cols.data());
        const Index64 n = G * O * P;  // dy [G, O, P] → [O, G, P]
        permute_0213_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, G, O, P, dy + first * O * P, dy_rows.data());
        CONTRA_CUDA_CHECK_LAUNCH();
        gemm_strided_batched<T>(cublas_handle(), ops::Trans::N, ops::Trans::T, 1, O, K, G * P, acc_t<T>(1),
                                dy_rows.data(), cols.data(), acc_t<T>(first == 0 ? 0 : 1), dw);
    }
}

// ─── Kernels<cuda>: convolution ───────────────────────────────────────────────────────────────

struct Conv {
    template <class T>
    static void conv2d(const Tensor<T, cuda>& x, const Tensor<T, cuda>& w, ops::Conv2dShape s, Tensor<T, cuda>& y) {
        require_cuda_type<T>();
        launch_conv2d(current_stream(), conv_geometry(x.shape(), w.shape(), s), x.data(), w.data(), y.data());
    }
    template <class T>
    static void conv2d_backward_data(const Tensor<T, cuda>& dy, const Tensor<T, cuda>& w, ops::Conv2dShape s, Tensor<T, cuda>& dx) {
        require_cuda_type<T>();
        launch_conv2d_backward_data(current_stream(), conv_geometry(dx.shape(), w.shape(), s), dy.data(), w.data(),
                                    dx.data());
    }
    template <class T>
    static void conv2d_backward_weight(const Tensor<T, cuda>& dy, const Tensor<T, cuda>& x, ops::Conv2dShape s, Tensor<T, cuda>& dw) {
        require_cuda_type<T>();
        launch_conv2d_backward_weight(current_stream(), conv_geometry(x.shape(), dw.shape(), s), dy.data(), x.data(),
                                      dw.data());
    }
};

}  // namespace contra::cu
