// contra/backend/cuda/attention_block.hpp — the block program of the short-sequence attention
// kernels (attention.cuh): one block per (sequence n, head h) of at most kMaxTokens tokens and head
// dimension kHeadDim (CLIP's 50 image and 77 text tokens, head dimension 64).
//   forward:  the block stages head h's keys and values in shared memory; thread i then owns
//             query i: its q in registers, two passes over the keys (max and Σ exp, then the
//             probabilities and probs·v), its output row.
//   backward: the block stages q, k, v and dout; thread i forms row i of
//             ds = scale · p ⊙ (dp − Σ_j dp ⊙ p) in shared memory and dq_i = ds[i,:]·k; after a
//             barrier thread j forms dk_j = ds[:,j]ᵀ·q and dv_j = p[:,j]ᵀ·dout.
// Every read of shared memory in the inner loops is a broadcast (all threads read one element) or
// consecutive (row stride odd), so no bank conflicts. Sums run in index order, as the reference's.
//
// The steps are host-device functions: a kernel runs a step in every thread, then __syncthreads(),
// then the next step. A CPU test runs the same steps thread by thread
// (tests/backend/attention_block.cpp), so the block program is checked without a GPU.
// defines: contra::cu::short_attention::{kHeadDim, kMaxTokens, Problem, threads, fits,
//          ForwardShared, BackwardShared, stage_keys_values, attend, stage_backward,
//          backward_scores_and_dq, backward_dk_dv}
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../../core/config.hpp"
#include "../../core/dtype.hpp"

namespace contra::cu::short_attention {

inline constexpr int kHeadDim = 64;                 // the head dimension the kernels are compiled for
inline constexpr std::int64_t kMaxTokens = 128;     // one thread per token, at most four warps

// The shapes of one call. qkv is [N, L, 3W] (rows q | k | v, head h at columns h·kHeadDim), out
// and dout are [N, L, W], probs is [N, heads, L, L].
struct Problem {
    std::int64_t tokens = 0, width = 0, heads = 0;
    bool causal = false;
    const std::int64_t* key_lengths = nullptr;  // one per sequence, in the memory the kernel reads; or none
    float scale = 1;

    // Where token t's query (part 0), key (1) or value (2) of head h of sequence n starts in qkv.
    CONTRA_HOST_DEVICE std::int64_t at(std::int64_t n, int part, std::int64_t h, std::int64_t t) const {
        return (n * tokens + t) * 3 * width + part * width + h * kHeadDim;
    }
    // Where token t's row of head h of sequence n starts in out and dout.
    CONTRA_HOST_DEVICE std::int64_t out_at(std::int64_t n, std::int64_t h, std::int64_t t) const {
        return (n * tokens + t) * width + h * kHeadDim;
    }
    // The keys [0, live) that query i of sequence n sees (ops::SoftmaxMask::live).
    CONTRA_HOST_DEVICE std::int64_t live(std::int64_t n, std::int64_t i) const {
        std::int64_t visible = causal ? i + 1 : tokens;
        if (key_lengths && key_lengths[n] < visible) visible = key_lengths[n];
        return visible;
    }
    // ds's row stride in shared memory: odd, so a column read by consecutive threads hits 32 banks.
    CONTRA_HOST_DEVICE std::int64_t ds_stride() const { return tokens | 1; }
};

// Threads per block: the tokens rounded up to whole warps.
inline int threads(std::int64_t tokens) { return int((tokens + 31) / 32 * 32); }

// Whether a problem runs on these kernels: the head dimension, the sequence length and a type the
// block accumulates in float.
template <class T>
bool fits(std::int64_t tokens, std::int64_t head_dim) {
    return (std::is_same_v<T, float> || std::is_same_v<T, bf16>) && head_dim == kHeadDim && tokens >= 1 &&
           tokens <= kMaxTokens;
}

using A = float;  // what every sum accumulates in

CONTRA_HOST_DEVICE A exp_of(A x) {
#ifdef __CUDA_ARCH__
    return ::expf(x);
#else
    return std::exp(x);
#endif
}

// ─── forward ──────────────────────────────────────────────────────────────────────────────────

// Shared memory of the forward block: k and v of one head, [L, kHeadDim] each.
template <class T>
struct ForwardShared {
    T* k;
    T* v;
    static std::size_t bytes(std::int64_t tokens) { return std::size_t(2 * tokens * kHeadDim) * sizeof(T); }
    CONTRA_HOST_DEVICE static ForwardShared at(void* base, std::int64_t tokens) {
        T* k = static_cast<T*>(base);
        return {k, k + tokens * kHeadDim};
    }
};

// Step 1 (every thread): copy head h's keys and values into shared memory, consecutive threads on
// consecutive columns.
template <class T>
CONTRA_HOST_DEVICE void stage_keys_values(int thread, int block_threads, const Problem& p, std::int64_t n,
                                          std::int64_t h, const T* qkv, ForwardShared<T> s) {
    for (std::int64_t e = thread; e < p.tokens * kHeadDim; e += block_threads) {
        const std::int64_t t = e / kHeadDim, d = e % kHeadDim;
        s.k[e] = qkv[p.at(n, 1, h, t) + d];
        s.v[e] = qkv[p.at(n, 2, h, t) + d];
    }
}

// Step 2 (thread i < L): query i's probabilities (rounded to T, as the reference) and output row.
template <class T>
CONTRA_HOST_DEVICE void attend(int i, const Problem& p, std::int64_t n, std::int64_t h, const T* qkv,
                               ForwardShared<T> s, T* out, T* probs) {
    if (i >= p.tokens) return;
    A q[kHeadDim];
    const T* q_row = qkv + p.at(n, 0, h, i);
    for (int d = 0; d < kHeadDim; ++d) q[d] = A(q_row[d]);
    auto score = [&](std::int64_t j) {
        const T* k = s.k + j * kHeadDim;
        A dot = 0;
        for (int d = 0; d < kHeadDim; ++d) dot += q[d] * A(k[d]);
        return p.scale * dot;
    };
    const std::int64_t live = p.live(n, i);
    A max = score(0), total = 1;  // live ≥ 1 (ops::detail::check_key_lengths)
    for (std::int64_t j = 1; j < live; ++j) {
        const A sj = score(j);
        if (sj > max) {
            total = total * exp_of(max - sj) + A(1);
            max = sj;
        } else {
            total += exp_of(sj - max);
        }
    }
    A o[kHeadDim];
    for (int d = 0; d < kHeadDim; ++d) o[d] = 0;
    T* p_row = probs + ((n * p.heads + h) * p.tokens + i) * p.tokens;
    for (std::int64_t j = 0; j < live; ++j) {
        const T pj = T(exp_of(score(j) - max) / total);
        p_row[j] = pj;
        const T* v = s.v + j * kHeadDim;
        for (int d = 0; d < kHeadDim; ++d) o[d] += A(pj) * A(v[d]);
    }
    for (std::int64_t j = live; j < p.tokens; ++j) p_row[j] = T(0);
    T* o_row = out + p.out_at(n, h, i);
    for (int d = 0; d < kHeadDim; ++d) o_row[d] = T(o[d]);
}

// ─── backward ─────────────────────────────────────────────────────────────────────────────────

// Shared memory of the backward block: q, k, v and dout of one head, [L, kHeadDim] each, then ds
// [L, ds_stride] in float.
template <class T>
struct BackwardShared {
    T* q;
    T* k;
    T* v;
    T* dout;
    A* ds;
    static std::size_t bytes(std::int64_t tokens) {
        const std::size_t rows = std::size_t(4 * tokens * kHeadDim) * sizeof(T);
        return (rows + sizeof(A) - 1) / sizeof(A) * sizeof(A) + std::size_t(tokens * (tokens | 1)) * sizeof(A);
    }
    CONTRA_HOST_DEVICE static BackwardShared at(void* base, std::int64_t tokens) {
        T* q = static_cast<T*>(base);
        const std::int64_t block = tokens * kHeadDim;
        const std::size_t rows = std::size_t(4 * block) * sizeof(T);
        A* ds = reinterpret_cast<A*>(static_cast<unsigned char*>(base) + (rows + sizeof(A) - 1) / sizeof(A) * sizeof(A));
        return {q, q + block, q + 2 * block, q + 3 * block, ds};
    }
};

// Step 1 (every thread): copy head h's q, k, v and dout rows into shared memory.
template <class T>
CONTRA_HOST_DEVICE void stage_backward(int thread, int block_threads, const Problem& p, std::int64_t n, std::int64_t h,
                                       const T* qkv, const T* dout, BackwardShared<T> s) {
    for (std::int64_t e = thread; e < p.tokens * kHeadDim; e += block_threads) {
        const std::int64_t t = e / kHeadDim, d = e % kHeadDim;
        s.q[e] = qkv[p.at(n, 0, h, t) + d];
        s.k[e] = qkv[p.at(n, 1, h, t) + d];
        s.v[e] = qkv[p.at(n, 2, h, t) + d];
        s.dout[e] = dout[p.out_at(n, h, t) + d];
    }
}

// Step 2 (thread i < L): row i of ds into shared memory, then dq_i into dqkv. A zero probability
// (a masked key) gives a zero ds without its dot product. The thread's own dout row comes from
// global memory (rows of one head in shared memory share their banks).
template <class T>
CONTRA_HOST_DEVICE void backward_scores_and_dq(int i, const Problem& p, std::int64_t n, std::int64_t h, const T* probs,
                                               const T* dout, BackwardShared<T> s, T* dqkv) {
    if (i >= p.tokens) return;
    const std::int64_t L = p.tokens, stride = p.ds_stride();
    const T* p_row = probs + ((n * p.heads + h) * L + i) * L;
    A g[kHeadDim];
    const T* g_row = dout + p.out_at(n, h, i);
    for (int d = 0; d < kHeadDim; ++d) g[d] = A(g_row[d]);
    A* ds = s.ds + i * stride;
    A dot = 0;
    for (std::int64_t j = 0; j < L; ++j) {
        const A pj = A(p_row[j]);
        A dp = 0;
        if (pj != A(0)) {
            const T* v = s.v + j * kHeadDim;
            for (int d = 0; d < kHeadDim; ++d) dp += g[d] * A(v[d]);
        }
        ds[j] = dp;
        dot += dp * pj;
    }
    for (std::int64_t j = 0; j < L; ++j) ds[j] = p.scale * A(p_row[j]) * (ds[j] - dot);
    A dq[kHeadDim];
    for (int d = 0; d < kHeadDim; ++d) dq[d] = 0;
    for (std::int64_t j = 0; j < L; ++j) {
        const A dsj = ds[j];
        const T* k = s.k + j * kHeadDim;
        for (int d = 0; d < kHeadDim; ++d) dq[d] += dsj * A(k[d]);
    }
    T* dq_row = dqkv + p.at(n, 0, h, i);
    for (int d = 0; d < kHeadDim; ++d) dq_row[d] = T(dq[d]);
}

// Step 3 (thread j < L, after every row of ds is in): dk_j and dv_j into dqkv.
template <class T>
CONTRA_HOST_DEVICE void backward_dk_dv(int j, const Problem& p, std::int64_t n, std::int64_t h, const T* probs,
                                       BackwardShared<T> s, T* dqkv) {
    if (j >= p.tokens) return;
    const std::int64_t L = p.tokens, stride = p.ds_stride();
    A acc[kHeadDim];
    for (int d = 0; d < kHeadDim; ++d) acc[d] = 0;
    for (std::int64_t i = 0; i < L; ++i) {
        const A dsij = s.ds[i * stride + j];
        const T* q = s.q + i * kHeadDim;
        for (int d = 0; d < kHeadDim; ++d) acc[d] += dsij * A(q[d]);
    }
    T* dk_row = dqkv + p.at(n, 1, h, j);
    for (int d = 0; d < kHeadDim; ++d) dk_row[d] = T(acc[d]);
    for (int d = 0; d < kHeadDim; ++d) acc[d] = 0;
    const T* p_column = probs + (n * p.heads + h) * L * L + j;
    for (std::int64_t i = 0; i < L; ++i) {
        const A pij = A(p_column[i * L]);
        const T* g = s.dout + i * kHeadDim;
        for (int d = 0; d < kHeadDim; ++d) acc[d] += pij * A(g[d]);
    }
    T* dv_row = dqkv + p.at(n, 2, h, j);
    for (int d = 0; d < kHeadDim; ++d) dv_row[d] = T(acc[d]);
}

}  // namespace contra::cu::short_attention
