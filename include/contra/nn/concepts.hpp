// contra/nn/concepts.hpp — what each building block must provide, named, so that a wrong
// composition fails at compile time with the name of the missing piece. Each concept lists every
// member the compositions above it call.
// defines: nn::Module, nn::SequenceModule, nn::AttentionModule, nn::PaddingAwareModule, nn::BlockModule, nn::ImageTower,
//          nn::TextTower, nn::StepAware
#pragma once
#include <concepts>
#include <cstdint>
#include <span>
#include <string>

#include "../autograd/parameter.hpp"
#include "../backend/ops.hpp"

namespace contra::nn {

// A module names its parameters (HasParameters) and draws their initial values from the seed and
// their names: m.initialize(seed, prefix).
template <class M>
concept Module = HasParameters<M> && requires(M& m, std::uint64_t seed, const std::string& prefix) {
    m.initialize(seed, prefix);
};

// A map from a sequence [N, T, W] to a sequence of the same shape (norms, MLPs, blocks).
template <class M>
concept SequenceModule = Module<M> && requires(const M& m, const Var<typename M::value_type, typename M::backend>& x) {
    { m.forward(x) } -> std::same_as<Var<typename M::value_type, typename M::backend>>;
};

// Self-attention: a sequence module built from (width, heads), with a mask policy M::mask.
template <class M>
concept AttentionModule = SequenceModule<M> && std::constructible_from<M, std::int64_t, std::int64_t> && requires {
    { M::mask::causal } -> std::convertible_to<bool>;
};

// A module that takes a key-padding mask: m.forward(x, key_lengths), key_lengths one count per
// sequence (host memory) of the tokens that are not padding. Non-causal text towers need it.
template <class M>
concept PaddingAwareModule =
    SequenceModule<M> && requires(const M& m, const Var<typename M::value_type, typename M::backend>& x,
                                  std::span<const std::int64_t> key_lengths) {
        { m.forward(x, key_lengths) } -> std::same_as<Var<typename M::value_type, typename M::backend>>;
    };

// A transformer block: a sequence module built from (width, heads, mlp_hidden) around an attention
// (M::attention_type) and with a norm type (M::norm_type, built from the width) that the towers
// reuse for ln_pre, ln_post and ln_final.
template <class M>
concept BlockModule = SequenceModule<M> && std::constructible_from<M, std::int64_t, std::int64_t, std::int64_t> &&
                      AttentionModule<typename M::attention_type> && SequenceModule<typename M::norm_type> &&
                      std::constructible_from<typename M::norm_type, std::int64_t>;

// An image tower maps images [N, C, H, W] to embeddings [N, E]; it is built from its sizes and the
// embedding width: M(M::config_type, embed_dim).
template <class M>
concept ImageTower = Module<M> && std::constructible_from<M, const typename M::config_type&, std::int64_t> &&
                     requires(const M& m, const TensorOn<typename M::value_type, typename M::backend>& images) {
    { m.encode(images) } -> std::same_as<Var<typename M::value_type, typename M::backend>>;
    { m.output_dim() } -> std::convertible_to<std::int64_t>;
};

// A text tower maps token ids [N, T] (host memory) to embeddings [N, E]; it is built from its sizes
// and the embedding width: M(M::config_type, embed_dim).
template <class M>
concept TextTower = Module<M> && std::constructible_from<M, const typename M::config_type&, std::int64_t> &&
                    requires(const M& m, const Tensor<ops::Index, cpu>& tokens) {
    { m.encode(tokens) } -> std::same_as<Var<typename M::value_type, typename M::backend>>;
    { m.output_dim() } -> std::convertible_to<std::int64_t>;
    { m.context_length() } -> std::convertible_to<std::int64_t>;
};

// A module whose training forward depends on the step (patch dropout): m.begin_step(step) before
// a training step's forward passes, m.end_step() after them (nn::StepScope); outside a step its
// forward is deterministic. Optional: the training loop calls them where a model has them.
template <class M>
concept StepAware = requires(M& m, std::int64_t step) {
    m.begin_step(step);
    m.end_step();
};

}  // namespace contra::nn
