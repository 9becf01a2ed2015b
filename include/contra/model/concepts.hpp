// contra/model/concepts.hpp — what the layers above (training, evaluation, checkpoints, the
// runner) need from a model: named, so that a model of the user's own fails with the missing
// member's name instead of deep inside train::fit.
// defines: model::ContrastiveModel
#pragma once
#include <concepts>
#include <cstdint>

#include "../autograd/parameter.hpp"
#include "../backend/ops.hpp"
#include "../loss/concepts.hpp"

namespace contra::model {

// A contrastive model: its parameters named as in a state dict (visit_parameters(f)); the loss
// of a batch of matching (image, text) pairs; each tower's embeddings; the factor on the cosine
// similarities (scale(), logged); its scalars kept in range after each step; and its parts as
// visual, text and loss_fn (activation checkpointing, data-parallel gathering, ResNet eval mode).
// Optional: begin_step(step) / end_step() (nn::StepAware), which train::train_step calls around a
// numbered step when the model has them (patch dropout).
template <class M>
concept ContrastiveModel = Numerics<M> &&
    requires(M& m, const M& cm, const TensorOn<typename M::value_type, typename M::backend>& images,
             const Tensor<ops::Index, cpu>& tokens) {
        m.visit_parameters(::contra::detail::ProbeVisitor<typename M::value_type, typename M::backend>{});
        { cm.loss(images, tokens) } -> loss::ScoreVar<typename M::value_type, typename M::backend>;
        { cm.encode_image(images) } -> std::same_as<Var<typename M::value_type, typename M::backend>>;
        { cm.encode_text(tokens) } -> std::same_as<Var<typename M::value_type, typename M::backend>>;
        { cm.scale() } -> std::convertible_to<double>;
        { m.parameter_count() } -> std::convertible_to<std::int64_t>;
        m.clamp_parameters();
        m.visual;
        m.text;
        m.loss_fn;
    };

}  // namespace contra::model
