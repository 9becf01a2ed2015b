// contra/backend/cuda/batch_norm.cuh — per-channel batch normalisation of NCHW tensors: the
// batch statistics (two-pass), the normalisation, and its backward pass.
// defines: contra::cu::BatchNorm (the batch-norm part of Kernels<cuda>), cu::reduce_channels
//
// Per-channel sums run over N·H·W elements cut into chunks fixed by the shape: one block sums a
// chunk of one channel into a partial, a second kernel adds each channel's partials in chunk
// order. No atomics: the statistics and dgamma/dbeta are bit-identical from run to run.
#pragma once
#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"
#include "memory.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// partials[c · chunks + chunk] = Σ over the chunk's elements i of channel c of value(c, flat index).
template <class A, int K, class F>
__global__ void channel_partials_kernel(Index64 N, Index64 C, Index64 HW, Index64 per_chunk, Index64 chunks, F value,
                                        Sums<A, K>* partials) {
    __shared__ A scratch[32];
    const Index64 count = N * HW, begin = Index64(blockIdx.x) * per_chunk, end = std::min(count, begin + per_chunk);
    for (Index64 c = blockIdx.y; c < C; c += gridDim.y) {
        Sums<A, K> acc{};
        for (Index64 i = begin + threadIdx.x; i < end; i += blockDim.x) {
            const Index64 n = i / HW, p = i - n * HW;
            acc = acc + value(c, (n * C + c) * HW + p);
        }
        for (int k = 0; k < K; ++k) acc.v[k] = block_sum(acc.v[k], scratch);
        if (threadIdx.x == 0) partials[c * chunks + blockIdx.x] = acc;
    }
}

// finish(c, Σ_chunk partials[c · chunks + chunk]) for every channel.
template <class A, int K, class F>
__global__ void channel_finish_kernel(Index64 C, Index64 chunks, const Sums<A, K>* partials, F finish) {
    for (Index64 c = first_index(); c < C; c += grid_stride()) {
        Sums<A, K> s{};
        for (Index64 k = 0; k < chunks; ++k) s = s + partials[c * chunks + k];
        finish(c, s);
    }
}

template <class T>
struct ChannelValue {
    const T* x;
    __device__ Sums<acc_t<T>, 1> operator()(Index64, Index64 i) const { return {{acc_t<T>(x[i])}}; }
};

template <class T>
struct ChannelSquaredDeviation {
    const T* x;
    const acc_t<T>* mean;
    __device__ Sums<acc_t<T>, 1> operator()(Index64 c, Index64 i) const {
        const acc_t<T> d = acc_t<T>(x[i]) - mean[c];
        return {{d * d}};
    }
};

// mean[c] = s / count, kept in acc_t<T> for the second pass and stored as T.
template <class T>
struct StoreChannelMean {
    acc_t<T> count;
    acc_t<T>* mean_acc;
    T* mean;
    __device__ void operator()(Index64 c, const Sums<acc_t<T>, 1>& s) const {
        mean_acc[c] = s.v[0] / count;
        mean[c] = T(mean_acc[c]);
    }
};

template <class T>
struct StoreChannelVariance {
    acc_t<T> count;
    T* var;
    __device__ void operator()(Index64 c, const Sums<acc_t<T>, 1>& s) const { var[c] = T(s.v[0] / count); }
};

// y = (x − mean[c]) · rstd[c] · gamma[c] + beta[c]; rstd[c] = 1/sqrt(var[c] + eps) is written too.
template <class T>
__global__ void batch_norm_kernel(Index64 total, Index64 C, Index64 HW, const T* x, const T* gamma, const T* beta,
                                  const T* mean, const T* var, acc_t<T> eps, T* y, T* rstd) {
    using A = acc_t<T>;
    for (Index64 i = first_index(); i < total; i += grid_stride()) {
        const Index64 c = (i / HW) % C;
        const A rs = A(1) / sqrt(A(var[c]) + eps);
        y[i] = T((A(x[i]) - A(mean[c])) * rs * A(gamma[c]) + A(beta[c]));
        if (i < C) rstd[i] = T(A(1) / sqrt(A(var[i]) + eps));
    }
}

// (dy, dy·x̂) at element i of channel c.
template <class T>
struct BatchNormGradTerms {
    const T *x, *dy, *mean, *rstd;
    __device__ Sums<acc_t<T>, 2> operator()(Index64 c, Index64 i) const {
        using A = acc_t<T>;
        const A g = A(dy[i]);
        return {{g, g * (A(x[i]) - A(mean[c])) * A(rstd[c])}};
    }
};

// dbeta = Σ dy, dgamma = Σ dy·x̂; both sums kept in acc_t<T> for dx.
template <class T>
struct StoreBatchNormGrads {
    Sums<acc_t<T>, 2>* sums;
    T *dgamma, *dbeta;
    __device__ void operator()(Index64 c, const Sums<acc_t<T>, 2>& s) const {
        sums[c] = s;
        dbeta[c] = T(s.v[0]);
        dgamma[c] = T(s.v[1]);
    }
};

// dx = gamma·rstd·(dy − Σdy/count − x̂·Σdy·x̂/count) with batch statistics, gamma·rstd·dy without.
template <class T>
__global__ void batch_norm_backward_kernel(Index64 total, Index64 C, Index64 HW, acc_t<T> count, bool batch_statistics,
                                           const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy,
                                           const Sums<acc_t<T>, 2>* sums, T* dx) {
    using A = acc_t<T>;
    for (Index64 i = first_index(); i < total; i += grid_stride()) {
        const Index64 c = (i / HW) % C;
        const A rs = A(rstd[c]), g = A(dy[i]);
        A d = g;
        if (batch_statistics) {
            const A xhat = (A(x[i]) - A(mean[c])) * rs;
            d = g - sums[c].v[0] / count - xhat * sums[c].v[1] / count;
        }
        dx[i] = T(A(gamma[c]) * rs * d);
    }
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

// reduce_channels<A, K>(stream, N, C, HW, value, finish): finish(c, Σ_{n,p} value(c, index of
// x[n, c, p])) for every channel, value returning Sums<A, K>.
template <class A, int K, class F, class Finish>
void reduce_channels(cudaStream_t stream, Index64 N, Index64 C, Index64 HW, F value, Finish finish) {
    if (C == 0) return;
    const Index64 count = N * HW;
    Index64 chunks = std::clamp<Index64>(ceil_div(count, 4096), 1, std::max<Index64>(1, 4096 / C));
    const Index64 per_chunk = ceil_div(count, chunks);
    chunks = ceil_div(count, per_chunk);
    auto partials = scratch<Sums<A, K>>(C * chunks);  // [C, chunks]
    const dim3 grid(unsigned(chunks), unsigned(std::min<Index64>(C, 65535)));
    channel_partials_kernel<A, K><<<grid, kBlock, 0, stream>>>(N, C, HW, per_chunk, chunks, value, partials.data());
    CONTRA_CUDA_CHECK_LAUNCH();
    channel_finish_kernel<A, K><<<grid_for(C), kBlock, 0, stream>>>(C, chunks, partials.data(), finish);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_batch_norm_statistics(cudaStream_t stream, Index64 N, Index64 C, Index64 HW, const T* x, T* mean, T* var) {
    using A = acc_t<T>;
    const A count = A(N * HW);
    auto mean_acc = scratch<A>(C);
    reduce_channels<A, 1>(stream, N, C, HW, ChannelValue<T>{x}, StoreChannelMean<T>{count, mean_acc.data(), mean});
    reduce_channels<A, 1>(stream, N, C, HW, ChannelSquaredDeviation<T>{x, mean_acc.data()},
                          StoreChannelVariance<T>{count, var});
}

template <class T>
void launch_batch_norm(cudaStream_t stream, Index64 N, Index64 C, Index64 HW, const T* x, const T* gamma, const T* beta,
                       const T* mean, const T* var, double eps, T* y, T* rstd) {
    const Index64 total = N * C * HW;
    batch_norm_kernel<T><<<grid_for(total), kBlock, 0, stream>>>(total, C, HW, x, gamma, beta, mean, var, acc_t<T>(eps),
                                                                 y, rstd);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_batch_norm_backward(cudaStream_t stream, Index64 N, Index64 C, Index64 HW, const T* x, const T* gamma,
                                const T* mean, const T* rstd, const T* dy, bool batch_statistics, T* dx, T* dgamma,
                                T* dbeta) {
    using A = acc_t<T>;
    auto sums = scratch<Sums<A, 2>>(C);  // [C] (Σ dy, Σ dy·x̂)
    reduce_channels<A, 2>(stream, N, C, HW, BatchNormGradTerms<T>{x, dy, mean, rstd},
                          StoreBatchNormGrads<T>{sums.data(), dgamma, dbeta});
    const Index64 total = N * C * HW;
    batch_norm_backward_kernel<T><<<grid_for(total), kBlock, 0, stream>>>(total, C, HW, A(N * HW), batch_statistics, x,
                                                                          gamma, mean, rstd, dy, sums.data(), dx);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: batch normalisation ───────────────────────────────────────────────────────

struct BatchNorm {
    template <class T>
    static void batch_norm2d_statistics(const Tensor<T, cuda>& x, Tensor<T, cuda>& mean, Tensor<T, cuda>& var) {
        require_cuda_type<T>();
        launch_batch_norm_statistics(current_stream(), x.size(0), x.size(1), x.size(2) * x.size(3), x.data(), mean.data(),
                                     var.data());
    }
    template <class T>
    static void batch_norm2d(const Tensor<T, cuda>& x, const Tensor<T, cuda>& gamma, const Tensor<T, cuda>& beta, const Tensor<T, cuda>& mean,
                             const Tensor<T, cuda>& var, double eps, Tensor<T, cuda>& y, Tensor<T, cuda>& rstd) {
        require_cuda_type<T>();
        launch_batch_norm(current_stream(), x.size(0), x.size(1), x.size(2) * x.size(3), x.data(), gamma.data(),
                          beta.data(), mean.data(), var.data(), eps, y.data(), rstd.data());
    }
    template <class T>
    static void batch_norm2d_backward(const Tensor<T, cuda>& x, const Tensor<T, cuda>& gamma, const Tensor<T, cuda>& mean,
                                      const Tensor<T, cuda>& rstd, const Tensor<T, cuda>& dy, bool batch_statistics,
                                      Tensor<T, cuda>& dx, Tensor<T, cuda>& dgamma, Tensor<T, cuda>& dbeta) {
        require_cuda_type<T>();
        launch_batch_norm_backward(current_stream(), x.size(0), x.size(1), x.size(2) * x.size(3), x.data(), gamma.data(),
                                   mean.data(), rstd.data(), dy.data(), batch_statistics, dx.data(), dgamma.data(),
                                   dbeta.data());
    }
};

}  // namespace contra::cu
