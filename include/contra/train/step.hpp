// contra/train/step.hpp — one optimizer step of contrastive training, as the reference takes it:
//   loss of the batch → backward (under data parallelism the gradients are averaged over the
//   ranks while backward runs) → clip the global gradient norm → the optimizer's update at the
//   step's learning rate → the loss's scalars back in range (logit_scale ≤ ln 100).
// A step whose loss or gradient is not finite changes nothing. A numbered step runs inside the
// model's step scope (nn::StepScope): a ViT with patch dropout drops patches then, and only then.
// queue_step leaves the step's work queued: with an optimizer that takes its gate on the device
// (optim::AdamW::step_gated), whether to update and the clipping factor are decided there
// (ops::gate_step), and the host reads nothing. QueuedStep::read() is the one wait: one copy of
// the loss, the norm, the gate and logit_scale, gathered on the device; train_step is
// queue_step then read().
// Data parallelism and gradient accumulation read the loss during the step (the ranks average it;
// the micro-batches sum it).
// defines: train::StepOptions, train::StepResult, train::QueuedStep, train::queue_step, train::train_step
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
    double loss = NAN;         // the batch's loss (under data parallelism the mean over ranks)
    double grad_norm = NAN;    // the global gradient norm before clipping; NaN when the loss was not finite
    bool updated = false;      // false: the loss or a gradient was not finite, and no parameter changed
    double logit_scale = NAN;  // the model's scale() after the step
};

// QueuedStep<B, L>: a step whose work is queued on backend B; L is the loss's element type.
// read() waits for the device once and returns the step's StepResult. It may be called after
// later steps have been queued (their tapes reset): it reads only its own copy.
template <class B, class L>
struct QueuedStep {
    StepResult known;                 // what the host had at once: the loss when it was read during the step
    bool loss_known = false;          // known.loss holds the loss (data parallelism, accumulation)
    bool host_decided = false;        // known.updated says whether the step updated (an optimizer without a gate)
    TensorOn<L, B> loss;              // [] the loss, on the device
    TensorOn<double, B> sum_squares;  // [1] Σg² before clipping
    TensorOn<double, B> gate;         // [2] ops::gate_step's gate, when the device decided
    // [5] what read() reads, gathered on the device: the loss, Σg², the gate (2), and logit_scale after
    // the step (NaN for a model that cannot give it there: known.logit_scale then holds its scale).
    TensorOn<double, B> summary;

    StepResult read() const {
        const auto values = to_device<cpu>(summary);  // the wait
        StepResult r = known;
        if (!loss_known) r.loss = values[0];
        if (std::isfinite(r.loss)) r.grad_norm = std::sqrt(values[1]);
        if (!host_decided) r.updated = values[2] == 1.0;
        if (!std::isnan(values[4])) r.logit_scale = std::exp(values[4]);
        return r;
    }

    // Gathers the values read() reads into `summary` (queued).
    template <class LogScale>
    void gather(const LogScale* log_scale) {
        summary = TensorOn<double, B>::empty(Shape{5});
        ops::fill(B{}, double(NAN), summary);
        auto part = [&](std::int64_t first, std::int64_t count) { return summary.rows(first, first + count); };
        auto loss_part = part(0, 1), sum_part = part(1, 1), gate_part = part(2, 2), scale_part = part(4, 1);
        ops::convert(B{}, loss.reshape(Shape{1}), loss_part);
        copy(sum_squares, sum_part);
        if (gate.defined()) copy(gate, gate_part);
        if (log_scale) ops::convert(B{}, log_scale->reshape(Shape{1}), scale_part);
    }
};

// queue_step(model, optimizer, batch, tape, sync, options): one step on `batch` (this rank's
// pairs), queued. sync: null on one process; otherwise the gradient averaging over its communicator.
//   requires: batch.images.size(0) is a multiple of options.accumulate.
template <model::ContrastiveModel Model, optim::Optimizer Opt>
auto queue_step(Model& model, Opt& optimizer, const PairBatch& batch, Tape& tape,
                dist::GradientSync<typename Model::value_type, typename Model::backend>* sync, const StepOptions& options) {
    using T = typename Model::value_type;
    using B = typename Model::backend;
    using D = device_of<B>;
    using L = typename std::remove_cvref_t<decltype(model.loss(std::declval<const TensorOn<T, B>&>(), batch.tokens))>::value_type;
    QueuedStep<B, L> q;
    const auto images = to_device<D>(cast<T>(batch.images));  // [N, C, S, S]
    std::optional<nn::StepScope<Model>> in_step;  // until the gradients are computed
    if (options.step >= 0) in_step.emplace(model, options.step);
    optimizer.zero_grad();
    if (options.accumulate > 1) {
        q.known.loss = accumulate_gradients(model, images, batch.tokens, options.accumulate, tape);
        q.loss_known = true;
    } else {
        tape.reset();
        Tape::Active recording(tape);
        const auto loss = model.loss(images, batch.tokens);  // []
        if (sync) sync->arm(tape);  // gradient reductions start while backward runs
        backward(loss);  // queued whatever the loss: a non-finite one is caught by the gate, before any update
        q.loss = loss.value().clone();  // off the tape's arena: it outlives the next step's reset
    }
    in_step.reset();
    if (sync) {
        sync->finish();  // the gradients: the mean over ranks, the same on every rank
        q.known.loss = sync->communicator().average(q.loss_known ? q.known.loss : double(to_device<cpu>(q.loss)[0]));
        q.loss_known = true;
    }
    if (q.loss_known) q.loss = to_device<D>(Tensor<L, cpu>::full(Shape{}, L(q.known.loss)));  // for the gate
    q.sum_squares = optim::grad_sum_squares(model);
    if constexpr (requires { optimizer.step_gated(options.lr, q.gate); }) {
        q.gate = TensorOn<double, B>::empty(Shape{2});
        ops::gate_step(B{}, q.loss, q.sum_squares, options.grad_clip, q.gate);
        optimizer.step_gated(options.lr, q.gate);  // skipped, and clipped, on the device
    } else {  // the host decides: it reads the loss and the norm now
        q.gather(static_cast<const TensorOn<L, B>*>(nullptr));
        const double norm = q.read().grad_norm;
        q.host_decided = true;
        q.known.updated = std::isfinite(norm);
        if (q.known.updated) {
            const double clip = options.grad_clip > 0 ? optim::clip_coefficient(norm, options.grad_clip) : 1.0;
            if (clip < 1) optim::scale_gradients(model, clip);
            optimizer.step(options.lr);
        }
    }
    model.clamp_parameters();
    if constexpr (requires { model.log_scale_on_device(); }) {
        const auto log_scale = model.log_scale_on_device();
        q.gather(&log_scale);
    } else {
        q.gather(static_cast<const TensorOn<L, B>*>(nullptr));
        q.known.logit_scale = model.scale();  // a model without it on the device: read now
    }
#if !defined(NDEBUG)
    if (sync) dist::check_replicas(model, sync->communicator());
#endif
    return q;
}

// train_step(...): queue_step(...) and its result (the host waits for the step).
template <model::ContrastiveModel Model, optim::Optimizer Opt>
StepResult train_step(Model& model, Opt& optimizer, const PairBatch& batch, Tape& tape,
                      dist::GradientSync<typename Model::value_type, typename Model::backend>* sync,
                      const StepOptions& options) {
    return queue_step(model, optimizer, batch, tape, sync, options).read();
}

}  // namespace contra::train
