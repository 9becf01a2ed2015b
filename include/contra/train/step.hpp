// contra/train/step.hpp — one optimizer step of contrastive training, as the reference takes it:
//   loss of the batch → backward (under data parallelism the gradients are averaged over the
//   ranks while backward runs) → clip the global gradient norm → the optimizer's update at the
//   step's learning rate → the loss's scalars back in range (logit_scale ≤ ln 100).
// A step whose loss or gradient is not finite changes nothing. A numbered step runs inside the
// model's step scope (nn::StepScope): a ViT with patch dropout drops patches then, and only then.
// On a GPU, after backward the host waits for the device once, for the loss and the gradient norm
// together; the update is queued. (The forward pass still copies from the host: the batch, the
// text tower's token ids, the loss's targets; and the fused loss reads logit_scale.)
// defines: train::StepOptions, train::StepResult, train::train_step
#pragma once
#include <cmath>
#include <optional>
#include <type_traits>

#include "../dist/gradient_sync.hpp"
#include "../model/concepts.hpp"
#include "../nn/patch_dropout.hpp"
#include "../optim/clip_grad.hpp"
#include "../optim/concepts.hpp"
#include "accumulate.hpp"
#include "data.hpp"

namespace contra::train {

struct StepOptions {
    double lr = 0;                // the learning rate of this step (from the schedule)
    double grad_clip = 1.0;       // global L2 norm; 0 turns clipping off
    std::int64_t accumulate = 1;  // the batch in this many micro-batches (the same gradient, less memory)
    std::int64_t step = -1;       // the step's number (optimizer steps before it), which names its random
                                  // draws (patch dropout); −1: no step scope, nothing is dropped
};

struct StepResult {
    double loss = NAN;       // the batch's loss (under data parallelism the mean over ranks)
    double grad_norm = NAN;  // the global gradient norm before clipping; NaN when the loss was not finite
    bool updated = false;    // false: the loss or a gradient was not finite, and no parameter changed
};

// train_step(model, optimizer, batch, tape, sync, options): one step on `batch` (this rank's
// pairs). sync: null on one process; otherwise the gradient averaging over its communicator.
//   requires: batch.images.size(0) is a multiple of options.accumulate.
template <model::ContrastiveModel Model, optim::Optimizer Opt>
StepResult train_step(Model& model, Opt& optimizer, const PairBatch& batch, Tape& tape,
                      dist::GradientSync<typename Model::value_type, typename Model::backend>* sync,
                      const StepOptions& options) {
    using T = typename Model::value_type;
    using D = device_of<typename Model::backend>;
    const auto images = to_device<D>(cast<T>(batch.images));  // [N, C, S, S]
    StepResult r;
    std::optional<nn::StepScope<Model>> in_step;  // until the gradients are computed
    if (options.step >= 0) in_step.emplace(model, options.step);
    optimizer.zero_grad();
    std::remove_cvref_t<decltype(model.loss(images, batch.tokens).value())> loss_value;  // [] on the device, read once below
    if (options.accumulate > 1) {
        r.loss = accumulate_gradients(model, images, batch.tokens, options.accumulate, tape);
    } else {
        tape.reset();
        Tape::Active recording(tape);
        const auto loss = model.loss(images, batch.tokens);  // []
        if (sync) sync->arm(tape);  // gradient reductions start while backward runs
        backward(loss);  // queued whatever the loss: a non-finite one is caught below, before any update
        loss_value = loss.value();
    }
    in_step.reset();
    if (sync) sync->finish();  // the gradients: the mean over ranks, the same on every rank
    // The host waits for the device once: the loss and Σg², queued behind backward, come back together.
    const auto sum_squares = optim::grad_sum_squares(model);
    if (options.accumulate <= 1) r.loss = double(to_device<cpu>(loss_value)[0]);
    if (sync) r.loss = sync->communicator().average(r.loss);
    const double norm = std::sqrt(double(to_device<cpu>(sum_squares)[0]));
    if (std::isfinite(r.loss)) r.grad_norm = norm;
    if (!std::isfinite(r.grad_norm)) return r;
    const double clip = options.grad_clip > 0 ? optim::clip_coefficient(norm, options.grad_clip) : 1.0;
    if constexpr (requires { optimizer.step(options.lr, clip); }) {
        optimizer.step(options.lr, clip);  // clipping folded into the update (optim::AdamW)
    } else {
        if (clip < 1) optim::scale_gradients(model, clip);
        optimizer.step(options.lr);
    }
    model.clamp_parameters();
    r.updated = true;
#if !defined(NDEBUG)
    if (sync) dist::check_replicas(model, sync->communicator());
#endif
    return r;
}

}  // namespace contra::train
