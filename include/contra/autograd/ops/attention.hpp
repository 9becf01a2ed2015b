// contra/autograd/ops/attention.hpp — multi-head scaled dot-product attention over a fused
// q/k/v projection (the OpenAI layout), composite and fused.
#pragma once
#include <cmath>

#include "elementwise.hpp"
#include "layout.hpp"
#include "linalg.hpp"
#include "softmax.hpp"

namespace contra::ad {

struct AttentionShape {
    std::int64_t batch, tokens, width, heads;
    std::int64_t head_dim() const { return width / heads; }
    double scale() const { return 1.0 / std::sqrt(double(head_dim())); }
};

namespace detail {
// [N·T, W] ↔ [N, H, T, Dh]: split a projection into heads, or merge heads back.
template <class T, class B>
DTensor<T, B> split_heads(const DTensor<T, B>& x, const AttentionShape& s) {
    auto heads = new_tensor<T, B>(Shape{s.batch, s.heads, s.tokens, s.head_dim()});
    ops::permute_0213(B{}, x.reshape(Shape{s.batch, s.tokens, s.heads, s.head_dim()}), heads);
    return heads;
}
template <class T, class B>
DTensor<T, B> merge_heads(const DTensor<T, B>& x, const AttentionShape& s) {
    auto merged = new_tensor<T, B>(Shape{s.batch, s.tokens, s.heads, s.head_dim()});
    ops::permute_0213(B{}, x, merged);
    return merged.reshape(Shape{s.batch * s.tokens, s.width});
}
}  // namespace detail

// attention<Impl>(qkv, heads, mask): qkv [N, T, 3W] holds the projected queries, keys and
// values side by side (columns q | k | v); per head h of width Dh = W/H:
//   out_h = softmax(q_h k_hᵀ / √Dh, mask) v_h,   result [N, T, W] with heads concatenated.
template <class Impl, class T, class B>
Var<T, B> attention(const Var<T, B>& qkv, std::int64_t heads, ops::SoftmaxMask mask = {}) {
    static_assert(ImplPolicy<Impl>, "attention: Impl is ad::Composite or ad::Fused");
    CONTRA_CHECK(qkv.shape().rank() == 3 && qkv.shape()[2] % 3 == 0, "attention: expects qkv [N, T, 3W], got ", qkv.shape());
    const AttentionShape s{qkv.shape()[0], qkv.shape()[1], qkv.shape()[2] / 3, heads};
    CONTRA_CHECK(heads > 0 && s.width % heads == 0, "attention: width ", s.width, " is not divisible into ", heads, " heads");
    const std::int64_t W = s.width;
    if constexpr (std::same_as<Impl, Composite>) {
        const auto rows = qkv.reshape(Shape{s.batch * s.tokens, 3 * W});
        auto heads_of = [&](std::int64_t column) {  // [N, H, T, Dh]
            return permute_0213(slice_cols(rows, column, column + W).reshape(Shape{s.batch, s.tokens, heads, s.head_dim()}));
        };
        const auto q = heads_of(0), k = heads_of(W), v = heads_of(2 * W);
        const auto scores = affine(bmm(q, k, ops::Trans::N, ops::Trans::T), acc_t<T>(s.scale()));  // [N,H,T,T]
        const auto probs = softmax(scores, mask);                                                   // [N,H,T,T]
        const auto out = permute_0213(bmm(probs, v));                                               // [N,T,H,Dh]
        return out.reshape(Shape{s.batch, s.tokens, W});
    } else {
        // One node: saves q, k, v (split into heads) and the probabilities; nothing else.
        const auto rows = qkv.value().reshape(Shape{s.batch * s.tokens, 3 * W});
        auto q_rows = new_tensor<T, B>(Shape{s.batch * s.tokens, W});
        auto kv_rows = new_tensor<T, B>(Shape{s.batch * s.tokens, 2 * W});
        auto k_rows = new_tensor<T, B>(Shape{s.batch * s.tokens, W});
        auto v_rows = new_tensor<T, B>(Shape{s.batch * s.tokens, W});
        ops::split_cols(B{}, rows, q_rows, kv_rows);
        ops::split_cols(B{}, kv_rows, k_rows, v_rows);
        const auto q = detail::split_heads<T, B>(q_rows, s), k = detail::split_heads<T, B>(k_rows, s),
                   v = detail::split_heads<T, B>(v_rows, s);                                       // [N,H,T,Dh]
        auto scores = new_tensor<T, B>(Shape{s.batch, heads, s.tokens, s.tokens});                 // [N,H,T,T]
        ops::gemm_batched(B{}, ops::Trans::N, ops::Trans::T, acc_t<T>(s.scale()), q, k, acc_t<T>(0), scores);
        auto probs = new_tensor<T, B>(scores.shape());
        ops::softmax(B{}, scores, mask, static_cast<const DTensor<T, B>*>(nullptr), probs);
        auto out = new_tensor<T, B>(Shape{s.batch, heads, s.tokens, s.head_dim()});                // [N,H,T,Dh]
        ops::gemm_batched(B{}, ops::Trans::N, ops::Trans::N, acc_t<T>(1), probs, v, acc_t<T>(0), out);
        auto merged = detail::merge_heads<T, B>(out, s).reshape(Shape{s.batch, s.tokens, W});
        return record<T, B>(merged, [qkv, q, k, v, probs, s](const DTensor<T, B>& g) {
            const auto dout = detail::split_heads<T, B>(g.reshape(Shape{s.batch * s.tokens, s.width}), s);  // [N,H,T,Dh]
            auto dv = new_tensor<T, B>(v.shape());
            ops::gemm_batched(B{}, ops::Trans::T, ops::Trans::N, acc_t<T>(1), probs, dout, acc_t<T>(0), dv);
            auto dprobs = new_tensor<T, B>(probs.shape());
            ops::gemm_batched(B{}, ops::Trans::N, ops::Trans::T, acc_t<T>(1), dout, v, acc_t<T>(0), dprobs);
            auto dscores = new_tensor<T, B>(probs.shape());
            ops::softmax_backward(B{}, probs, dprobs, dscores);
            auto dq = new_tensor<T, B>(q.shape());
            ops::gemm_batched(B{}, ops::Trans::N, ops::Trans::N, acc_t<T>(s.scale()), dscores, k, acc_t<T>(0), dq);
            auto dk = new_tensor<T, B>(k.shape());
            ops::gemm_batched(B{}, ops::Trans::T, ops::Trans::N, acc_t<T>(s.scale()), dscores, q, acc_t<T>(0), dk);
            const std::int64_t n = s.batch * s.tokens;
            auto dkv = new_tensor<T, B>(Shape{n, 2 * s.width});
            ops::concat_cols(B{}, detail::merge_heads<T, B>(dk, s), detail::merge_heads<T, B>(dv, s), dkv);
            auto dqkv = new_tensor<T, B>(Shape{n, 3 * s.width});
            ops::concat_cols(B{}, detail::merge_heads<T, B>(dq, s), dkv, dqkv);
            qkv.accumulate(dqkv);
        }, qkv);
    }
}

}  // namespace contra::ad
