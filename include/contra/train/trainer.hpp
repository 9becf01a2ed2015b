// contra/train/trainer.hpp — the training loop of CLIP, as the reference trains:
//   shuffle each epoch → batch of (image, caption) pairs → loss → backward → clip the global
//   gradient norm → AdamW at the scheduled learning rate → clamp logit_scale → reset the tape.
// Deterministic: the order of samples depends only on (seed, epoch), so a run resumed from a
// checkpoint at step k continues exactly as the uninterrupted run would.
// defines: train::PairBatch, train::PairSource, train::Options, train::State, train::StepRecord,
//          train::Hooks, train::fit, train::epoch_order
#pragma once
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>
#include <optional>
#include <span>
#include <vector>

#include "../dist/gradient_sync.hpp"
#include "../nn/clip.hpp"
#include "../optim/optim.hpp"
#include "accumulate.hpp"

namespace contra::train {

// One batch: images [N, C, S, S] and token ids [N, L], row i of each a matching pair.
struct PairBatch {
    Tensor<float, cpu> images;
    Tensor<ops::Index, cpu> tokens;
};

// A source of training pairs: size() samples; batch(indices, epoch) builds them (an epoch may
// draw a different caption template for the same image).
template <class S>
concept PairSource = requires(const S& s, std::span<const std::int64_t> indices, std::int64_t epoch) {
    { s.size() } -> std::convertible_to<std::int64_t>;
    { s.batch(indices, epoch) } -> std::same_as<PairBatch>;
};

// A stream of training pairs read in order (files too many to hold, decoded ahead): size()
// samples an epoch (all ranks together); seek(p) positions it at raw sample p of the endless
// sequence of epochs; next(n) gives this rank's next n pairs.
template <class S>
concept PairStream = requires(S& s, std::int64_t n) {
    { s.size() } -> std::convertible_to<std::int64_t>;
    s.seek(n);
    { s.next(n) } -> std::same_as<PairBatch>;
};

struct Options {
    std::int64_t batch_size = 128;
    double lr = 2e-3;
    std::int64_t warmup_steps = 50;
    optim::ScheduleKind schedule = optim::ScheduleKind::cosine;
    double grad_clip = 1.0;          // global L2 norm; 0 turns clipping off
    std::int64_t epochs = 1;
    std::int64_t max_steps = 0;      // > 0: stop after this many steps (overrides epochs)
    double time_budget_s = 0;        // > 0: size the schedule to fit this many seconds (measured)
    std::uint64_t seed = 0;
    const std::atomic<bool>* stop = nullptr;  // set (by a signal handler) to stop after the current step
    // Gradient accumulation: each step's batch in this many micro-batches (its gradient unchanged).
    std::int64_t accumulate = 1;
    // Data parallel: this process is comm->rank() of comm->size(); each step's batch is
    // batch_size pairs per rank, rank r taking rows r·batch_size… of the global batch, and the
    // gradients are averaged over ranks. The loss should gather its features over the same group.
    dist::Communicator* comm = nullptr;
    // A step whose loss or gradient is not finite: skipped (counted; ten in a row stop the run),
    // or the run stops at once.
    enum class NonFinite { skip, stop } on_nonfinite = NonFinite::skip;
};

// Where a run stands; what a checkpoint must restore.
struct State {
    std::int64_t step = 0;         // optimizer steps done
    std::int64_t total_steps = 0;  // the schedule's length (fixed once the run starts)
    double elapsed_s = 0;          // training time so far (across resumes)
    std::int64_t skipped_steps = 0;  // steps skipped for a non-finite loss or gradient
};

struct StepRecord {
    std::int64_t step, epoch;
    double loss, lr, logit_scale, grad_norm, pairs_per_s, elapsed_s;
    bool skipped = false;  // non-finite loss or gradient: no update was made
};

struct Hooks {
    std::function<void(const StepRecord&, const State&)> on_step;  // after every step
    std::function<void(const State&)> on_checkpoint;                // every checkpoint_every steps and at the end
    std::int64_t checkpoint_every = 0;
};

// epoch_order(n, seed, epoch): a permutation of 0..n−1 (Fisher–Yates on a counter-based stream).
inline std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t(0));
    const RandomStream stream{seed, stream_id("train.shuffle") + std::uint64_t(epoch)};
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[std::size_t(i)], order[stream.below(std::uint64_t(i), std::uint64_t(i + 1))]);
    return order;
}

// fit(model, optimizer, source, options, hooks, state): trains from `state` (a fresh State or one
// restored from a checkpoint) until the schedule ends, the time budget is spent or stop is set.
// source: a PairSource (batches of a fresh permutation each epoch) or a PairStream (read in
// order, positioned once with seek(state.step · batch · ranks)). Returns the final state.
template <class Model, class Source, class T, class B>
    requires PairSource<std::remove_cvref_t<Source>> || PairStream<std::remove_reference_t<Source>>
State fit(Model& model, optim::AdamW<T, B>& optimizer, Source&& source, const Options& options, const Hooks& hooks,
          State state = {}) {
    constexpr bool streamed = PairStream<std::remove_reference_t<Source>>;
    using clock = std::chrono::steady_clock;
    const std::int64_t n = source.size(), batch = options.batch_size;
    const int world = options.comm ? options.comm->size() : 1, rank = options.comm ? options.comm->rank() : 0;
    CONTRA_CHECK(batch > 0 && n >= batch * world, "train: ", n, " training pairs cannot fill a batch of ", batch,
                 world > 1 ? " on each of " + std::to_string(world) + " ranks" : std::string());
    CONTRA_CHECK(options.accumulate >= 1 && batch % options.accumulate == 0, "train: a batch of ", batch,
                 " does not split into ", options.accumulate, " micro-batches");
    const std::int64_t steps_per_epoch = n / (batch * world);  // the last partial batch is dropped
    std::optional<dist::GradientSync<T, B>> sync;
    if (options.comm) sync.emplace(model, *options.comm);
    if (state.total_steps == 0)
        state.total_steps = options.max_steps > 0 ? options.max_steps : options.epochs * steps_per_epoch;
    optim::Schedule schedule{options.schedule, options.lr, options.warmup_steps, state.total_steps};
    const bool measure_budget = options.time_budget_s > 0 && state.step == 0;
    constexpr std::int64_t kWarmSteps = 5, kMeasureSteps = 25, kResizeEvery = 250;  // speed from step 6 on
    double warm_elapsed_s = 0;

    Tape tape;
    std::int64_t cached_epoch = -1, consecutive_bad = 0;
    std::vector<std::int64_t> order;
    const auto run_start = clock::now();
    const double elapsed_before = state.elapsed_s;
    double in_hooks_s = 0;  // time spent in hooks (evaluation, checkpoints) is not training time
    bool out_of_time = false;
    while (state.step < state.total_steps) {
        bool stop = (options.stop && options.stop->load()) || out_of_time;
        if (options.comm) {  // every rank stops at the same step, and none goes on alone
            options.comm->heartbeat(state.step);
            stop = options.comm->average(stop ? 1.0 : 0.0) > 0;
        }
        if (stop) break;
        const std::int64_t epoch = state.step / steps_per_epoch, in_epoch = state.step % steps_per_epoch;
        const auto step_start = clock::now();
        PairBatch pairs;
        if constexpr (streamed) {  // a stream's epochs run on; its position follows the step on resume
            if (cached_epoch < 0) source.seek(state.step * batch * world);
            cached_epoch = epoch;
            pairs = source.next(batch);
        } else {
            if (epoch != cached_epoch) {
                order = epoch_order(n, options.seed, epoch);
                cached_epoch = epoch;
            }
            const std::size_t first = std::size_t((in_epoch * world + rank) * batch);  // this rank's slice of the global batch
            pairs = source.batch(std::span<const std::int64_t>(order).subspan(first, std::size_t(batch)), epoch);
        }
        const auto images = to_device<device_of<B>>(cast<T>(pairs.images));

        optimizer.zero_grad();
        double loss_value = NAN;
        if (options.accumulate > 1) {
            loss_value = accumulate_gradients(model, images, pairs.tokens, options.accumulate, tape);
        } else {
            tape.reset();
            Tape::Active recording(tape);
            const auto loss = model.loss(images, pairs.tokens);  // []
            loss_value = double(to_device<cpu>(loss.value())[0]);
            if (sync) sync->arm(tape);  // gradient reductions start while backward runs
            if (sync || std::isfinite(loss_value)) backward(loss);  // every rank takes part in the reductions
        }
        if (sync) {
            sync->finish();  // the gradients: the mean over ranks, the same on every rank
            loss_value = options.comm->average(loss_value);
        }
        double grad_norm = NAN;
        if (std::isfinite(loss_value))
            grad_norm = options.grad_clip > 0 ? optim::clip_grad_norm(optimizer, options.grad_clip)
                                              : optim::global_grad_norm(optimizer);
        const double lr = schedule.lr(state.step);
        if (std::isfinite(grad_norm)) {
            optimizer.step(lr);
            model.clamp_parameters();
            consecutive_bad = 0;
#if !defined(NDEBUG)
            if (options.comm) dist::check_replicas(model, *options.comm);
#endif
        } else {  // nothing is updated; a run that keeps diverging stops with an error
            ++state.skipped_steps;
            CONTRA_CHECK(options.on_nonfinite == Options::NonFinite::skip, "train: step ", state.step + 1,
                         " had a non-finite loss or gradient (loss ", loss_value, ", gradient norm ", grad_norm,
                         "); stopping as asked (skip such steps instead with on_nonfinite = skip)");
            CONTRA_CHECK(++consecutive_bad < 10, "train: 10 consecutive steps had a non-finite loss or gradient (loss ",
                         loss_value, " at step ", state.step, "); lower the learning rate");
        }
        ++state.step;
        const auto now = clock::now();
        state.elapsed_s = elapsed_before + std::chrono::duration<double>(now - run_start).count() - in_hooks_s;
        const double step_s = std::chrono::duration<double>(now - step_start).count();

        // With a time budget, size the schedule from the measured speed after a few steps.
        if (measure_budget && state.step == kWarmSteps) warm_elapsed_s = state.elapsed_s;
        // Measured first over steps 6..25, then again every 250 steps in the first half of the
        // schedule from the mean speed since step 6, only ever shortening it: a machine that slows
        // down ends the cosine schedule in time instead of being cut off at a high learning rate.
        const bool first_sizing = state.step == kMeasureSteps;
        const bool resizing = state.step > kMeasureSteps && state.step % kResizeEvery == 0 && 2 * state.step < state.total_steps;
        if (measure_budget && (first_sizing || resizing)) {
            const double per_step = (state.elapsed_s - warm_elapsed_s) / double(state.step - kWarmSteps);
            const auto affordable = state.step + std::int64_t((options.time_budget_s - state.elapsed_s) / per_step);
            const bool shorten = first_sizing || affordable < state.total_steps - state.total_steps / 50;  // > 2% short
            std::int64_t total = shorten ? std::max(state.step + 1, std::min(state.total_steps, affordable)) : state.total_steps;
            if (options.comm) total = options.comm->broadcast(total, 0);  // rank 0 decides
            state.total_steps = schedule.total_steps = total;
        }
        const auto hooks_start = clock::now();
        if (hooks.on_step) {
            const double scale = std::exp(double(to_device<cpu>(model.loss_fn.logit_scale.value())[0]));
            hooks.on_step(StepRecord{state.step, epoch, loss_value, lr, scale, grad_norm, double(batch * world) / step_s,
                                     state.elapsed_s, !std::isfinite(grad_norm)},
                          state);
        }
        if (hooks.on_checkpoint && hooks.checkpoint_every > 0 && state.step % hooks.checkpoint_every == 0 &&
            state.step < state.total_steps)
            hooks.on_checkpoint(state);
        in_hooks_s += std::chrono::duration<double>(clock::now() - hooks_start).count();
        out_of_time = options.time_budget_s > 0 && state.elapsed_s >= options.time_budget_s;
        if (out_of_time && !options.comm) break;
    }
    tape.reset();
    if (hooks.on_checkpoint) hooks.on_checkpoint(state);
    return state;
}

}  // namespace contra::train
