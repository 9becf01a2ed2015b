// contra/loss/info_nce.hpp — the symmetric CLIP loss with a learnable temperature:
//   logits = exp(logit_scale)·Î·T̂ᵀ  (Î, T̂ the L2-normalised embeddings, [N, N])
//   loss   = (CE(logits, diag) + CE(logitsᵀ, diag)) / 2
// Composite: built from differentiable ops. Fused: one GEMM for the cosines Î·T̂ᵀ, then one op
// pair (ops::clip_loss, ops::clip_loss_backward) that reads logit_scale and forms the diagonal
// targets where the tensors are, so nothing waits for the device; the node keeps only the [N, N]
// logits and two log-sum-exp vectors for its backward.
// defines: loss::InfoNce
#pragma once
#include <algorithm>
#include <cmath>

#include "../autograd/ops.hpp"
#include "../autograd/parameter.hpp"
#include "concepts.hpp"
#include "gather.hpp"

namespace contra::loss {

namespace detail {
// 0, 1, …, n−1 on device D: the matching caption of each image is on the diagonal.
template <class D>
Tensor<ops::Index, D> diagonal_targets(std::int64_t n) {
    auto t = Tensor<ops::Index, cpu>::empty(Shape{n});
    for (std::int64_t i = 0; i < n; ++i) t[i] = ops::Index(i);
    return to_device<D>(t);
}
// After every optimizer step, as open_clip: logit_scale ∈ [0, ln 100].
template <class T, class B>
void clamp_logit_scale(Parameter<T, B>& logit_scale) {
    constexpr double max_logit_scale = 4.605170185988092;  // ln 100
    auto value = logit_scale.value();
    ops::clamp(B{}, value, acc_t<T>(0), acc_t<T>(max_logit_scale), value);  // on the device: nothing is read back
}
template <class T, class B>
double scale_of(const Parameter<T, B>& logit_scale) {
    return std::exp(double(to_device<cpu>(logit_scale.value())[0]));
}

// exp(logit_scale)·normalize(image)·normalize(text)ᵀ: [N, E] × [M, E] → [N, M]
template <class T, class B>
Var<T, B> scaled_similarity(const Var<T, B>& image_features, const Var<T, B>& text_features,
                            const Parameter<T, B>& logit_scale) {
    const Var<T, B> similarity = ad::matmul(ad::l2_normalize(image_features), ad::l2_normalize(text_features),
                                            ops::Trans::N, ops::Trans::T);
    return ad::mul(similarity, ad::exp(Var<T, B>(logit_scale)));
}

// The matching column of each of this rank's n rows: rank·n + i (global loss: all W·n rows).
template <class D>
Tensor<ops::Index, D> gathered_targets(std::int64_t rows, std::int64_t offset) {
    auto t = Tensor<ops::Index, cpu>::empty(Shape{rows});
    for (std::int64_t i = 0; i < rows; ++i) t[i] = ops::Index(offset + i);
    return to_device<D>(t);
}
}  // namespace detail

template <class T, class B, class Impl = ad::Fused>
struct InfoNce {
    using value_type = T;
    using backend = B;
    using V = Var<T, B>;
    // What the logits, the loss and logit_scale are computed and kept in: acc_t<T>. A bf16 model's
    // features are widened to float first (mixed precision); float and double stay as they are.
    using score_type = acc_t<T>;
    using A = score_type;
    using S = Var<A, B>;

    Parameter<A, B> logit_scale{Shape{}};  // init ln(1/0.07)
    // Data parallel: the features of every rank are gathered, and each rank's loss is either
    //   global: the whole [W·n, W·n] problem (every rank computes it), or
    //   local:  its own n rows against all W·n columns, both directions, targets offset by rank·n
    // (the same gradients once averaged over ranks, with [n, W·n] logits instead of [W·n, W·n]).
    FeatureGather<A, B> gather;

    void initialize(std::uint64_t, const std::string& = "") { init_constant(logit_scale, std::log(1 / 0.07)); }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "logit_scale"), logit_scale);
    }
    void clamp_parameters() { detail::clamp_logit_scale(logit_scale); }
    // exp(logit_scale): the factor on the cosine similarities.
    double scale() const { return detail::scale_of(logit_scale); }
    // logit_scale's value copied on the device (queued, nothing read back): scale() is exp of it.
    TensorOn<A, B> log_scale_on_device() const { return logit_scale.value().clone(); }

    // logits = exp(logit_scale)·normalize(image)·normalize(text)ᵀ, [N, M]
    S logits(const V& image_features, const V& text_features) const {
        return detail::scaled_similarity(widen(image_features), widen(text_features), logit_scale);
    }

    // image_features, text_features [N, E] (row i of each is a matching pair) → scalar loss
    S operator()(const V& image_features, const V& text_features) const {
        CONTRA_CHECK(image_features.shape() == text_features.shape() && image_features.shape().rank() == 2,
                     "InfoNce: image features ", image_features.shape(), " and text features ",
                     text_features.shape(), " must both be [N, E]");
        const S img = widen(image_features), txt = widen(text_features);
        const std::int64_t n = img.shape()[0];
        if (gather) return across_ranks(img, txt);
        if constexpr (std::same_as<Impl, ad::Composite>) {
            const auto targets = detail::diagonal_targets<device_of<B>>(n);
            const S per_image = detail::scaled_similarity(img, txt, logit_scale);  // [N, N]
            const S both = ad::add(ad::cross_entropy<ad::Composite>(per_image, targets),
                                   ad::cross_entropy<ad::Composite>(ad::transpose(per_image), targets));
            return ad::affine(both, A(0.5));
        } else {
            return fused(ad::l2_normalize(img), ad::l2_normalize(txt));
        }
    }

private:
    // The features in the score type (a copy only for 16-bit models).
    static S widen(const V& features) {
        if constexpr (std::same_as<T, A>) return features;
        else return ad::cast<A>(features);
    }

    S across_ranks(const S& image_features, const S& text_features) const {
        const std::int64_t n = image_features.shape()[0];
        const S img = ad::l2_normalize(image_features), txt = ad::l2_normalize(text_features);   // [n, E]
        const S all_img = gather.all_rows(img), all_txt = gather.all_rows(txt);                    // [W·n, E]
        const S scale = ad::exp(S(logit_scale));
        using CE = ad::Fused;
        if (gather.local_loss) {
            const auto targets = detail::gathered_targets<device_of<B>>(n, std::int64_t(gather.rank) * n);
            const S per_image = ad::mul(ad::matmul(img, all_txt, ops::Trans::N, ops::Trans::T), scale);  // [n, W·n]
            const S per_text = ad::mul(ad::matmul(txt, all_img, ops::Trans::N, ops::Trans::T), scale);   // [n, W·n]
            return ad::affine(ad::add(ad::cross_entropy<CE>(per_image, targets), ad::cross_entropy<CE>(per_text, targets)),
                              A(0.5));
        }
        const auto targets = detail::gathered_targets<device_of<B>>(n * gather.ranks, 0);
        const S per_image = ad::mul(ad::matmul(all_img, all_txt, ops::Trans::N, ops::Trans::T), scale);  // [W·n, W·n]
        return ad::affine(ad::add(ad::cross_entropy<CE>(per_image, targets),
                                  ad::cross_entropy<CE>(ad::transpose(per_image), targets)),
                          A(0.5));
    }

    // Î, T̂ [N, E] (normalised) → the loss, as one node: cosines = Î·T̂ᵀ, scaled in place into the logits.
    S fused(const S& img, const S& txt) const {
        const std::int64_t n = img.shape()[0];
        auto logits = ad::new_tensor<A, B>(Shape{n, n});  // the cosines, then the logits (saved for backward)
        ops::gemm(B{}, ops::Trans::N, ops::Trans::T, A(1), img.value(), txt.value(), A(0), logits);
        auto lse_rows = ad::new_tensor<A, B>(Shape{n}), lse_cols = ad::new_tensor<A, B>(Shape{n});
        auto out = ad::new_tensor<A, B>(Shape{});
        ops::clip_loss(B{}, logits, logit_scale.value(), logits, lse_rows, lse_cols, out);
        const S scale_var = logit_scale;
        return record<A, B>(out, [img, txt, scale_var, logits, lse_rows, lse_cols, n](const TensorOn<A, B>& g) {
            auto dcosines = ad::new_tensor<A, B>(Shape{n, n}), dscale = ad::new_tensor<A, B>(Shape{});
            ops::clip_loss_backward(B{}, logits, lse_rows, lse_cols, scale_var.value(), g, dcosines, dscale);
            scale_var.accumulate(dscale);  // only where logit_scale is learned
            if (img.requires_grad()) {  // dÎ = dcosines·T̂
                auto [dimg, beta] = img.slot()->destination(B{}, img.shape());
                ops::gemm(B{}, ops::Trans::N, ops::Trans::N, A(1), dcosines, txt.value(), beta, dimg);
            }
            if (txt.requires_grad()) {  // dT̂ = dcosinesᵀ·Î
                auto [dtxt, beta] = txt.slot()->destination(B{}, txt.shape());
                ops::gemm(B{}, ops::Trans::T, ops::Trans::N, A(1), dcosines, img.value(), beta, dtxt);
            }
        }, img, txt, scale_var);
    }
};

}  // namespace contra::loss
