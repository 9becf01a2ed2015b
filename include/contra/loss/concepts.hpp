// contra/loss/concepts.hpp — what a contrastive loss must provide to be a Clip's loss and to be
// trained: named, so that a wrong type fails at compile time with the missing member's name.
// defines: loss::ContrastiveLoss, loss::ScoreVar
#pragma once
#include <concepts>
#include <cstdint>
#include <string>

#include "../autograd/parameter.hpp"

namespace contra::loss {

// A contrastive loss maps the two towers' embeddings [N, E] to a scalar loss and their logits
// [N, M]; it owns its learnable scalars (logit_scale, logit_bias), initialises them, keeps them in
// range after each step (clamp_parameters), and reports scale() = exp(logit_scale), the factor on
// the cosine similarities (the inverse temperature the trainer logs).
// The value of a loss and of its logits: Var<T, B>, or Var<acc_t<T>, B> when a 16-bit model's loss
// computes in float (mixed precision: loss::InfoNce).
template <class X, class T, class B>
concept ScoreVar = std::same_as<X, Var<T, B>> || std::same_as<X, Var<acc_t<T>, B>>;

template <class L>
concept ContrastiveLoss = HasParameters<L> &&
    requires(const L& loss, L& mutable_loss, const Var<typename L::value_type, typename L::backend>& features,
             std::uint64_t seed, const std::string& prefix) {
        { loss(features, features) } -> ScoreVar<typename L::value_type, typename L::backend>;
        { loss.logits(features, features) } -> ScoreVar<typename L::value_type, typename L::backend>;
        { loss.scale() } -> std::convertible_to<double>;
        mutable_loss.initialize(seed, prefix);
        mutable_loss.clamp_parameters();
    };

}  // namespace contra::loss
