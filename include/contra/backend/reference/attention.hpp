// contra/backend/reference/attention.hpp — multi-head self-attention from the fused q|k|v
// projection, and its backward pass: one (n, head) at a time, every sum in double.
#pragma once
#include <vector>

#include "common.hpp"

namespace contra::ref {

struct Attention {
    // Element (t, d) of head h's query (part 0), key (1) or value (2) block of sequence n.
    struct Heads {
        int64_t tokens, width, head_dim;
        int64_t at(int64_t n, int64_t part, int64_t h, int64_t t, int64_t d) const {
            return (n * tokens + t) * 3 * width + part * width + h * head_dim + d;
        }
    };

    template <class T>
    static void attention(const HTensor<T>& qkv, int64_t heads, ops::SoftmaxMask mask, double scale, HTensor<T>& out,
                          HTensor<T>& probs) {
        const int64_t N = qkv.size(0), L = qkv.size(1), W = qkv.size(2) / 3, D = W / heads;
        const Heads at{L, W, D};
        const T* x = qkv.data();
        std::vector<R> p(static_cast<std::size_t>(L));
        for (int64_t n = 0; n < N; ++n)
            for (int64_t h = 0; h < heads; ++h)
                for (int64_t i = 0; i < L; ++i) {
                    const int64_t live = mask.live(n, i, L);  // keys query i may see
                    R max = -std::numeric_limits<R>::infinity();
                    for (int64_t j = 0; j < live; ++j) {
                        R s = 0;
                        for (int64_t d = 0; d < D; ++d) s += R(x[at.at(n, 0, h, i, d)]) * R(x[at.at(n, 1, h, j, d)]);
                        p[std::size_t(j)] = scale * s;
                        max = std::max(max, p[std::size_t(j)]);
                    }
                    R total = 0;
                    for (int64_t j = 0; j < live; ++j) total += (p[std::size_t(j)] = std::exp(p[std::size_t(j)] - max));
                    T* prow = probs.data() + ((n * heads + h) * L + i) * L;
                    for (int64_t j = 0; j < L; ++j) prow[j] = j < live ? T(p[std::size_t(j)] / total) : T(0);
                    for (int64_t d = 0; d < D; ++d) {
                        R o = 0;
                        for (int64_t j = 0; j < live; ++j) o += R(prow[j]) * R(x[at.at(n, 2, h, j, d)]);
                        out.data()[(n * L + i) * W + h * D + d] = T(o);
                    }
                }
    }

    template <class T>
    static void attention_backward(const HTensor<T>& qkv, const HTensor<T>& probs, const HTensor<T>& dout, int64_t heads,
                                   double scale, HTensor<T>& dqkv) {
        const int64_t N = qkv.size(0), L = qkv.size(1), W = qkv.size(2) / 3, D = W / heads;
        const Heads at{L, W, D};
        const T* x = qkv.data();
        T* dx = dqkv.data();
        std::vector<R> ds(static_cast<std::size_t>(L * L));
        for (int64_t n = 0; n < N; ++n)
            for (int64_t h = 0; h < heads; ++h) {
                const T* p = probs.data() + (n * heads + h) * L * L;
                auto g = [&](int64_t i, int64_t d) { return R(dout.data()[(n * L + i) * W + h * D + d]); };
                for (int64_t i = 0; i < L; ++i) {  // ds = scale · p ⊙ (dp − Σ_j dp ⊙ p), dp = dout·vᵀ
                    R dot = 0;
                    for (int64_t j = 0; j < L; ++j) {
                        R dp = 0;
                        for (int64_t d = 0; d < D; ++d) dp += g(i, d) * R(x[at.at(n, 2, h, j, d)]);
                        ds[std::size_t(i * L + j)] = dp;
                        dot += dp * R(p[i * L + j]);
                    }
                    for (int64_t j = 0; j < L; ++j)
                        ds[std::size_t(i * L + j)] = scale * R(p[i * L + j]) * (ds[std::size_t(i * L + j)] - dot);
                }
                for (int64_t t = 0; t < L; ++t)
                    for (int64_t d = 0; d < D; ++d) {
                        R dq = 0, dk = 0, dv = 0;
                        for (int64_t j = 0; j < L; ++j) {
                            dq += ds[std::size_t(t * L + j)] * R(x[at.at(n, 1, h, j, d)]);
                            dk += ds[std::size_t(j * L + t)] * R(x[at.at(n, 0, h, j, d)]);
                            dv += R(p[j * L + t]) * g(j, d);
                        }
                        dx[at.at(n, 0, h, t, d)] = T(dq);
                        dx[at.at(n, 1, h, t, d)] = T(dk);
                        dx[at.at(n, 2, h, t, d)] = T(dv);
                    }
            }
    }
};

}  // namespace contra::ref
