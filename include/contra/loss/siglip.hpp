// contra/loss/siglip.hpp — SigLIP's pairwise sigmoid loss with a learnable scale and bias:
//   logits = exp(logit_scale)·Î·T̂ᵀ + logit_bias,  z = +1 on the diagonal, −1 elsewhere
//   loss   = −Σ log σ(z ⊙ logits) / N
// defines: loss::SigLip
#pragma once
#include <cmath>

#include "info_nce.hpp"

namespace contra::loss {

template <class T, class B>
struct SigLip {
    using value_type = T;
    using backend = B;
    using V = Var<T, B>;

    Parameter<T, B> logit_scale{Shape{}};  // init ln 10
    Parameter<T, B> logit_bias{Shape{}};   // init −10
    FeatureGather<T, B> gather;  // data parallel: this rank's images against every rank's texts

    void initialize(std::uint64_t, const std::string& = "") {
        init_constant(logit_scale, std::log(10.0));
        init_constant(logit_bias, -10.0);
    }
    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "logit_scale"), logit_scale);
        f(join(prefix, "logit_bias"), logit_bias);
    }
    void clamp_parameters() { detail::clamp_logit_scale(logit_scale); }
    // exp(logit_scale): the factor on the cosine similarities.
    double scale() const { return detail::scale_of(logit_scale); }
    // logit_scale's value copied on the device (queued, nothing read back): scale() is exp of it.
    TensorOn<T, B> log_scale_on_device() const { return logit_scale.value().clone(); }

    // logits = exp(logit_scale)·normalize(image)·normalize(text)ᵀ + logit_bias, [N, M]
    V logits(const V& image_features, const V& text_features) const {
        return ad::add(detail::scaled_similarity(image_features, text_features, logit_scale), V(logit_bias));
    }

    V operator()(const V& image_features, const V& text_features) const {
        CONTRA_CHECK(image_features.shape() == text_features.shape() && image_features.shape().rank() == 2,
                     "SigLip: image features ", image_features.shape(), " and text features ", text_features.shape(),
                     " must both be [N, E]");
        const std::int64_t n = image_features.shape()[0];
        // Across ranks: this rank's n images against all W·n texts; the mean over ranks of these
        // losses is the loss of the whole W·n batch.
        const int ranks = gather.ranks, rank = gather.rank;
        const V texts = gather ? gather.all_rows(ad::l2_normalize(text_features)) : ad::l2_normalize(text_features);  // [W·n, E]
        auto signs = Tensor<T, cpu>::full(Shape{n, n * ranks}, T(-1));  // z: +1 for matching pairs
        for (std::int64_t i = 0; i < n; ++i) signs[i * n * ranks + rank * n + i] = T(1);
        const V z(to_device<device_of<B>>(signs));
        const V similarity = ad::matmul(ad::l2_normalize(image_features), texts, ops::Trans::N, ops::Trans::T);
        const V scaled = ad::add(ad::mul(similarity, ad::exp(V(logit_scale))), V(logit_bias));  // [n, W·n]
        const V log_likelihood = ad::unary(ad::mul(scaled, z), ops::UnaryOp::log_sigmoid);
        return ad::affine(ad::sum(log_likelihood), acc_t<T>(-1.0 / double(n)));
    }
};

}  // namespace contra::loss
