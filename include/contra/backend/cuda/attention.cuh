// contra/backend/cuda/attention.cuh — multi-head self-attention straight from the fused
// qkv [N, T, 3W] projection, and its backward pass.
// defines: contra::cu::Attention (the attention part of Kernels<cuda>)
//
// Sequences of at most 128 tokens with head dimension 64 (CLIP's) take the short-sequence
// kernels: one block per (sequence n, head h), the head's rows in shared memory, one thread per
// query or key (the block program is attention_block.hpp, checked on the CPU step by step).
//
// Any other shape takes the general kernels. One warp per (sequence n, head h, query i): the lanes
// split the head dimension, so every q, k, v and dout row is read coalesced, and one warp sum gives each score. The eight warps of a block
// take consecutive queries of the same (n, h), so the keys and values they share come through the
// same L1. Nothing is staged in shared memory: any sequence length and head dimension runs.
//   forward:  pass 1 finds the row's max and Σ exp (online), pass 2 writes probs, pass 3 reads
//             them back (rounded to T, as the reference) for probs·v.
//   backward: kernel 1 writes ds = scale · p ⊙ (dp − rowsum(dp ⊙ p)) per query row into an
//             acc_t<T> scratch [N, H, T, T]; kernel 2, per token t, forms dq_t = ds[t,:]·k,
//             dk_t = ds[:,t]ᵀ·q and dv_t = p[:,t]ᵀ·dout with sums in index order (no atomics).
#pragma once
#include "../ops.hpp"
#include "attention_block.hpp"
#include "common.cuh"
#include "context.cuh"
#include "memory.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// Where head h of sequence n keeps token t's query (part 0), key (1) or value (2).
struct HeadLayout {
    Index64 tokens, width, heads, head_dim;
    __device__ Index64 at(Index64 n, int part, Index64 h, Index64 t) const {
        return (n * tokens + t) * 3 * width + part * width + h * head_dim;
    }
};

// Σ_d a[d]·b[d] over the head dimension, split over the lanes of a warp; in every lane.
template <class A, class T>
__device__ __forceinline__ A warp_dot(const T* a, const T* b, Index64 dim) {
    A s = 0;
    for (Index64 d = threadIdx.x & 31; d < dim; d += 32) s += A(a[d]) * A(b[d]);
    return warp_sum(s);
}

inline constexpr int kWarpsPerBlock = kBlock / 32;

template <class T>
__global__ void attention_kernel(Index64 N, HeadLayout g, bool causal, const Index64* key_lengths, acc_t<T> scale,
                                 const T* qkv, T* out, T* probs) {
    using A = acc_t<T>;
    const Index64 L = g.tokens, D = g.head_dim, rows = N * g.heads * L;
    const int lane = threadIdx.x & 31;
    for (Index64 row = Index64(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5); row < rows;
         row += Index64(gridDim.x) * kWarpsPerBlock) {
        const Index64 i = row % L, nh = row / L, h = nh % g.heads, n = nh / g.heads;
        Index64 live = causal ? i + 1 : L;  // keys query i sees
        if (key_lengths) live = min(live, key_lengths[n]);
        const T* q = qkv + g.at(n, 0, h, i);
        A m = -infinity<A>(), s = 0;
        for (Index64 j = 0; j < live; ++j) {
            const A score = scale * warp_dot<A>(q, qkv + g.at(n, 1, h, j), D);
            if (score > m) {
                s = s * exp(m - score) + A(1);
                m = score;
            } else {
                s += exp(score - m);
            }
        }
        T* p = probs + row * L;
        for (Index64 j = 0; j < live; ++j) {
            const A score = scale * warp_dot<A>(q, qkv + g.at(n, 1, h, j), D);
            if (lane == 0) p[j] = T(exp(score - m) / s);
        }
        for (Index64 j = live + lane; j < L; j += 32) p[j] = T(0);
        __syncwarp();
        T* o = out + (n * L + i) * g.width + h * D;
        for (Index64 d = lane; d < D; d += 32) {
            A acc = 0;
            for (Index64 j = 0; j < live; ++j) acc += A(p[j]) * A(qkv[g.at(n, 2, h, j) + d]);
            o[d] = T(acc);
        }
    }
}

// ds[n, h, i, :] = scale · p ⊙ (dp − Σ_j dp ⊙ p) with dp = dout_i · v_jᵀ.
template <class T>
__global__ void attention_scores_backward_kernel(Index64 N, HeadLayout g, acc_t<T> scale, const T* qkv, const T* probs,
                                                 const T* dout, acc_t<T>* ds) {
    using A = acc_t<T>;
    const Index64 L = g.tokens, D = g.head_dim, rows = N * g.heads * L;
    const int lane = threadIdx.x & 31;
    for (Index64 row = Index64(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5); row < rows;
         row += Index64(gridDim.x) * kWarpsPerBlock) {
        const Index64 i = row % L, nh = row / L, h = nh % g.heads, n = nh / g.heads;
        const T* gi = dout + (n * L + i) * g.width + h * D;
        const T* p = probs + row * L;
        A* dsr = ds + row * L;
        A dot = 0;
        for (Index64 j = 0; j < L; ++j) {
            const A dp = warp_dot<A>(gi, qkv + g.at(n, 2, h, j), D);
            if (lane == 0) dsr[j] = dp;
            dot += dp * A(p[j]);
        }
        __syncwarp();
        for (Index64 j = lane; j < L; j += 32) dsr[j] = scale * A(p[j]) * (dsr[j] - dot);
    }
}

// dq_t = Σ_j ds[t, j]·k_j,  dk_t = Σ_j ds[j, t]·q_j,  dv_t = Σ_j p[j, t]·dout_j  (one warp per t).
template <class T>
__global__ void attention_qkv_backward_kernel(Index64 N, HeadLayout g, const T* qkv, const T* probs, const T* dout,
                                              const acc_t<T>* ds, T* dqkv) {
    using A = acc_t<T>;
    const Index64 L = g.tokens, D = g.head_dim, rows = N * g.heads * L;
    const int lane = threadIdx.x & 31;
    for (Index64 row = Index64(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5); row < rows;
         row += Index64(gridDim.x) * kWarpsPerBlock) {
        const Index64 t = row % L, nh = row / L, h = nh % g.heads, n = nh / g.heads;
        const A* ds_nh = ds + nh * L * L;
        const T* p_nh = probs + nh * L * L;
        for (Index64 d = lane; d < D; d += 32) {
            A dq = 0, dk = 0, dv = 0;
            for (Index64 j = 0; j < L; ++j) {
                dq += ds_nh[t * L + j] * A(qkv[g.at(n, 1, h, j) + d]);
                dk += ds_nh[j * L + t] * A(qkv[g.at(n, 0, h, j) + d]);
                dv += A(p_nh[j * L + t]) * A(dout[(n * L + j) * g.width + h * D + d]);
            }
            dqkv[g.at(n, 0, h, t) + d] = T(dq);
            dqkv[g.at(n, 1, h, t) + d] = T(dk);
            dqkv[g.at(n, 2, h, t) + d] = T(dv);
        }
    }
}

// The short-sequence kernels: one block per (n, h), the steps of attention_block.hpp.
template <class T>
__global__ void short_attention_kernel(short_attention::Problem p, const T* qkv, T* out, T* probs) {
    extern __shared__ __align__(16) unsigned char shared_bytes[];
    const Index64 n = blockIdx.x / p.heads, h = blockIdx.x % p.heads;
    const auto s = short_attention::ForwardShared<T>::at(shared_bytes, p.tokens);
    short_attention::stage_keys_values(int(threadIdx.x), int(blockDim.x), p, n, h, qkv, s);
    __syncthreads();
    short_attention::attend(int(threadIdx.x), p, n, h, qkv, s, out, probs);
}

template <class T>
__global__ void short_attention_backward_kernel(short_attention::Problem p, const T* qkv, const T* probs, const T* dout,
                                                T* dqkv) {
    extern __shared__ __align__(16) unsigned char shared_bytes[];
    const Index64 n = blockIdx.x / p.heads, h = blockIdx.x % p.heads;
    const auto s = short_attention::BackwardShared<T>::at(shared_bytes, p.tokens);
    short_attention::stage_backward(int(threadIdx.x), int(blockDim.x), p, n, h, qkv, dout, s);
    __syncthreads();
    short_attention::backward_scores_and_dq(int(threadIdx.x), p, n, h, probs, dout, s, dqkv);
    __syncthreads();
    short_attention::backward_dk_dv(int(threadIdx.x), p, n, h, probs, s, dqkv);
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

// The shared memory one block may use on this process's GPU when a kernel asks for it.
inline std::size_t shared_memory_per_block_optin() {
    static const std::size_t bytes = [] {
        int device = 0, value = 0;
        CONTRA_CUDA_CHECK(cudaGetDevice(&device));
        CONTRA_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
        return std::size_t(value);
    }();
    return bytes;
}

// Launches `kernel` with `bytes` of dynamic shared memory, raising its limit past the default 48 KiB
// the first time (the limit is a property of the kernel).
template <auto kernel, class... Args>
void launch_with_shared(Index64 blocks, int threads, std::size_t bytes, cudaStream_t stream, Args... args) {
    static const bool raised = [&] {
        CONTRA_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               int(shared_memory_per_block_optin())));
        return true;
    }();
    (void)raised;
    kernel<<<unsigned(blocks), threads, bytes, stream>>>(args...);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// Whether the short-sequence kernels take this problem (forward and backward).
template <class T>
bool short_attention_fits(Index64 N, const HeadLayout& g) {
    return short_attention::fits<T>(g.tokens, g.head_dim) && N * g.heads < (Index64(1) << 31) &&
           short_attention::BackwardShared<T>::bytes(g.tokens) <= shared_memory_per_block_optin();
}

inline short_attention::Problem short_problem(const HeadLayout& g, bool causal, const Index64* key_lengths, double scale) {
    return {g.tokens, g.width, g.heads, causal, key_lengths, float(scale)};
}

// requires: short_attention_fits<T>(N, g)
template <class T>
void launch_short_attention(cudaStream_t stream, Index64 N, const HeadLayout& g, bool causal, const Index64* key_lengths,
                            double scale, const T* qkv, T* out, T* probs) {
    if (N == 0) return;
    launch_with_shared<short_attention_kernel<T>>(N * g.heads, short_attention::threads(g.tokens),
                       short_attention::ForwardShared<T>::bytes(g.tokens), stream,
                       short_problem(g, causal, key_lengths, scale), qkv, out, probs);
}

// requires: short_attention_fits<T>(N, g)
template <class T>
void launch_short_attention_backward(cudaStream_t stream, Index64 N, const HeadLayout& g, double scale, const T* qkv,
                                     const T* probs, const T* dout, T* dqkv) {
    if (N == 0) return;
    launch_with_shared<short_attention_backward_kernel<T>>(N * g.heads, short_attention::threads(g.tokens),
                       short_attention::BackwardShared<T>::bytes(g.tokens), stream,
                       short_problem(g, false, nullptr, scale), qkv, probs, dout, dqkv);
}

inline unsigned attention_grid(Index64 rows) {
    return unsigned(std::clamp<Index64>(ceil_div(rows, kWarpsPerBlock), 1, Index64(1) << 20));
}

template <class T>
void launch_attention(cudaStream_t stream, Index64 N, const HeadLayout& g, bool causal, const Index64* key_lengths,
                      double scale, const T* qkv, T* out, T* probs) {
    const Index64 rows = N * g.heads * g.tokens;
    if (rows == 0) return;
    attention_kernel<T><<<attention_grid(rows), kBlock, 0, stream>>>(N, g, causal, key_lengths, acc_t<T>(scale), qkv, out,
                                                                     probs);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_attention_backward(cudaStream_t stream, Index64 N, const HeadLayout& g, double scale, const T* qkv,
                               const T* probs, const T* dout, T* dqkv) {
    const Index64 rows = N * g.heads * g.tokens;
    if (rows == 0) return;
    auto ds = scratch<acc_t<T>>(rows * g.tokens);  // [N, H, T, T]
    attention_scores_backward_kernel<T><<<attention_grid(rows), kBlock, 0, stream>>>(N, g, acc_t<T>(scale), qkv, probs,
                                                                                     dout, ds.data());
    CONTRA_CUDA_CHECK_LAUNCH();
    attention_qkv_backward_kernel<T><<<attention_grid(rows), kBlock, 0, stream>>>(N, g, qkv, probs, dout, ds.data(), dqkv);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: attention ─────────────────────────────────────────────────────────────────

struct Attention {
    static HeadLayout layout(const Shape& qkv, Index64 heads) {
        const Index64 w = qkv[2] / 3;
        return {qkv[1], w, heads, w / heads};
    }
    template <class T>
    static void attention(const Tensor<T, cuda>& qkv, Index64 heads, ops::SoftmaxMask mask, double scale, Tensor<T, cuda>& out,
                          Tensor<T, cuda>& probs) {
        require_cuda_type<T>();
        // A device copy of the key lengths only when there is a key-padding mask.
        const auto lengths = mask.key_lengths.empty() ? Tensor<Index64, cuda>() : device_copy(mask.key_lengths);
        const Index64* key_lengths = mask.key_lengths.empty() ? nullptr : lengths.data();
        const auto g = layout(qkv.shape(), heads);
        if (short_attention_fits<T>(qkv.size(0), g))
            launch_short_attention(current_stream(), qkv.size(0), g, mask.causal, key_lengths, scale, qkv.data(),
                                   out.data(), probs.data());
        else
            launch_attention(current_stream(), qkv.size(0), g, mask.causal, key_lengths, scale, qkv.data(), out.data(),
                             probs.data());
    }
    template <class T>
    static void attention_backward(const Tensor<T, cuda>& qkv, const Tensor<T, cuda>& probs, const Tensor<T, cuda>& dout, Index64 heads,
                                   double scale, Tensor<T, cuda>& dqkv) {
        require_cuda_type<T>();
        const auto g = layout(qkv.shape(), heads);
        if (short_attention_fits<T>(qkv.size(0), g))
            launch_short_attention_backward(current_stream(), qkv.size(0), g, scale, qkv.data(), probs.data(),
                                            dout.data(), dqkv.data());
        else
            launch_attention_backward(current_stream(), qkv.size(0), g, scale, qkv.data(), probs.data(), dout.data(),
                                      dqkv.data());
    }
};

}  // namespace contra::cu
