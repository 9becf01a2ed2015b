// contra/autograd/ops/loss.hpp — mean cross-entropy over rows with integer targets
// (composite and fused).
#pragma once
#include <vector>

#include "elementwise.hpp"
#include "layout.hpp"
#include "reduce.hpp"
#include "softmax.hpp"

namespace contra::ad {

// cross_entropy<Impl>(logits [R, C], target [R]) = mean_r (logsumexp(logits[r]) − logits[r, target[r]]).
template <class Impl, class T, class B>
Var<T, B> cross_entropy(const Var<T, B>& logits, const TensorOn<ops::Index, B>& target) {
    static_assert(ImplPolicy<Impl>, "cross_entropy: Impl is ad::Composite or ad::Fused");
    const std::int64_t R = logits.value().rows(), C = logits.value().cols();
    CONTRA_CHECK(target.numel() == R, "cross_entropy: ", R, " rows of logits ", logits.shape(), " but ", target.numel(),
                 " targets");
    if constexpr (std::same_as<Impl, Composite>) {
        // Pick log p[r, target[r]] out of the flattened log-probabilities.
        const auto host_target = target.to_vector();
        auto flat = Tensor<ops::Index, cpu>::empty(Shape{R});
        for (std::int64_t r = 0; r < R; ++r) {
            CONTRA_CHECK(host_target[std::size_t(r)] >= 0 && host_target[std::size_t(r)] < C, "cross_entropy: target ",
                         host_target[std::size_t(r)], " of row ", r, " is outside [0, ", C, ")");
            flat[r] = ops::Index(r * C + host_target[std::size_t(r)]);
        }
        TensorOn<ops::Index, B> index = to_device<device_of<B>>(flat);
        const auto log_probs = log_softmax(logits.reshape(Shape{R, C})).reshape(Shape{R * C, 1});
        return affine(mean(gather_rows(log_probs, index)), acc_t<T>(-1));
    } else {
        auto losses = new_tensor<T, B>(Shape{R});
        auto lse = new_tensor<T, B>(Shape{R});
        ops::cross_entropy(B{}, logits.value(), target, losses, lse);
        auto out = new_tensor<T, B>(Shape{});
        auto out1 = out.reshape(Shape{1});
        ops::sum(B{}, ops::Axis::rows, acc_t<T>(1) / acc_t<T>(R), losses.reshape(Shape{R, 1}), acc_t<T>(0), out1);
        return record<T, B>(out, [logits, target, lse, R](const TensorOn<T, B>& g) {
            auto dloss = new_tensor<T, B>(Shape{R});
            ops::fill(B{}, acc_t<T>(0), dloss);
            ops::binary(B{}, ops::BinaryOp::add, dloss, g.reshape(Shape{1, 1}), dloss);
            ops::affine(B{}, dloss, acc_t<T>(1) / acc_t<T>(R), acc_t<T>(0), dloss);
            auto dlogits = new_tensor<T, B>(logits.shape());
            ops::cross_entropy_backward(B{}, logits.value(), target, lse, dloss, dlogits);
            logits.accumulate(dlogits);
        }, logits);
    }
}

}  // namespace contra::ad
