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
        // One node: the primitive reads the heads in place and saves only the probabilities.
        auto out = new_tensor<T, B>(Shape{s.batch, s.tokens, W});                      // [N, T, W]
        auto probs = new_tensor<T, B>(Shape{s.batch, heads, s.tokens, s.tokens});      // [N, H, T, T]
        ops::attention(B{}, qkv.value(), heads, mask, s.scale(), out, probs);
        return record<T, B>(out, [qkv, probs, heads, s](const TensorOn<T, B>& g) {
            auto dqkv = new_tensor<T, B>(qkv.shape());                                // [N, T, 3W]
            ops::attention_backward(B{}, qkv.value(), probs, g, heads, s.scale(), dqkv);
            qkv.accumulate(dqkv);
        }, qkv);
    }
}

}  // namespace contra::ad
