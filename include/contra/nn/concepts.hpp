// contra/nn/concepts.hpp — what each building block must provide, named, so that a wrong
// composition fails at compile time with the name of the missing piece.
// defines: nn::Numerics, nn::HasParameters, nn::SequenceModule, nn::AttentionModule,
//          nn::SameNumerics, nn::ImageTower, nn::TextTower, nn::ContrastiveLoss
#pragma once
#include <concepts>
#include <string>

#include "parameter.hpp"

namespace contra::nn {

namespace detail {
// A visitor with the signature every visit_parameters(f, prefix) must accept.
template <class T, class B>
struct ProbeVisitor {
    void operator()(const std::string&, Parameter<T, B>&) const {}
};
}  // namespace detail

// M computes with element type M::value_type on backend M::backend.
template <class M>
concept Numerics = requires {
    typename M::value_type;
    typename M::backend;
};

// M names its parameters: m.visit_parameters(f, prefix) calls f(name, parameter) for each.
template <class M>
concept HasParameters = Numerics<M> && requires(M& m, const std::string& prefix) {
    m.visit_parameters(detail::ProbeVisitor<typename M::value_type, typename M::backend>{}, prefix);
};

template <class A, class M>
concept SameNumerics = std::same_as<typename A::value_type, typename M::value_type> &&
                       std::same_as<typename A::backend, typename M::backend>;

// A map from a sequence [N, T, W] to a sequence of the same shape (norms, MLPs, blocks).
template <class M>
concept SequenceModule = HasParameters<M> && requires(const M& m, const Var<typename M::value_type, typename M::backend>& x) {
    { m.forward(x) } -> std::same_as<Var<typename M::value_type, typename M::backend>>;
};

// Self-attention: a sequence module built from (width, heads), with a mask policy.
template <class M>
concept AttentionModule = SequenceModule<M> && std::constructible_from<M, std::int64_t, std::int64_t> && requires {
    { M::mask::causal } -> std::convertible_to<bool>;
};

// An image tower maps images [N, C, H, W] to embeddings [N, E].
template <class M>
concept ImageTower = HasParameters<M> && requires(const M& m, const Tensor<typename M::value_type, device_of<typename M::backend>>& images) {
    { m.encode(images) } -> std::same_as<Var<typename M::value_type, typename M::backend>>;
    { m.output_dim() } -> std::convertible_to<std::int64_t>;
};

// A text tower maps token ids [N, T] (host memory) to embeddings [N, E].
template <class M>
concept TextTower = HasParameters<M> && requires(const M& m, const Tensor<ops::Index, cpu>& tokens) {
    { m.encode(tokens) } -> std::same_as<Var<typename M::value_type, typename M::backend>>;
    { m.output_dim() } -> std::convertible_to<std::int64_t>;
    { m.context_length() } -> std::convertible_to<std::int64_t>;
};

// A contrastive loss maps the two towers' embeddings [N, E] to a scalar loss; it owns its
// learnable scalars (logit_scale, logit_bias) and keeps them in range after each step.
template <class L>
concept ContrastiveLoss = HasParameters<L> && requires(const L& loss, L& mutable_loss,
                                                       const Var<typename L::value_type, typename L::backend>& features) {
    { loss(features, features) } -> std::same_as<Var<typename L::value_type, typename L::backend>>;
    mutable_loss.clamp_parameters();
};

}  // namespace contra::nn
