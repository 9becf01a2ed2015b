// contra/train/trainer.hpp — the training loop of CLIP, as the reference trains: a batch of
// (image, caption) pairs for every step (train/data.hpp) → train_step (train/step.hpp: loss,
// backward, clipping, the optimizer's update) → hooks → the next step, until the schedule ends,
// the time budget is spent (train/policies.hpp) or a stop is requested.
// Deterministic: the order of samples depends only on (seed, epoch), so a run resumed from a
// checkpoint at step k continues exactly as the uninterrupted run would.
// defines: train::Options, train::State, train::StepRecord, train::Hooks, train::fit
#pragma once
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>

#include "../optim/schedule.hpp"
#include "data.hpp"
#include "policies.hpp"
#include "step.hpp"

namespace contra::train {

struct Options {
    std::int64_t batch_size = 128;
    double lr = 2e-3;
    std::int64_t warmup_steps = 50;
    optim::ScheduleKind schedule = optim::ScheduleKind::cosine;
    double grad_clip = 1.0;          // global L2 norm; 0 turns clipping off
    std::int64_t epochs = 1;
    std::int64_t max_steps = -1;     // ≥ 0: exactly this many steps (overrides epochs; 0 trains nothing)
    double time_budget_s = 0;        // > 0: size the schedule to fit this many seconds (measured)
    bool budget_grows = false;       // with a time budget: lengthen the schedule too, beyond epochs, to fill it
    std::uint64_t seed = 0;
    const std::atomic<bool>* stop = nullptr;  // set (by a signal handler) to stop after the current step
    // Gradient accumulation: each step's batch in this many micro-batches (its gradient unchanged).
    std::int64_t accumulate = 1;
    // Data parallel: this process is comm->rank() of comm->size(); each step's batch is
    // batch_size pairs per rank, rank r taking rows r·batch_size… of the global batch, and the
    // gradients are averaged over ranks. The loss should gather its features over the same group
    // (dist::gather_features).
    dist::Communicator* comm = nullptr;
    NonFinite on_nonfinite = NonFinite::skip;
    // Queue step k + 1 before reading step k's results, where nothing in between reads the model
    // (Hooks::reads_model, checkpoints) — a GPU then never idles while the host waits. The
    // numbers are the same either way.
    bool overlap_steps = true;
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
    double loss, lr, logit_scale, grad_norm, pairs_per_s, elapsed_s;  // logit_scale: exp(logit_scale), model.scale()
    bool skipped = false;  // non-finite loss or gradient: no update was made
};

struct Hooks {
    std::function<void(const StepRecord&, const State&)> on_step;  // after every step
    std::function<void(const State&)> on_checkpoint;                // every checkpoint_every steps and at the end
    std::int64_t checkpoint_every = 0;
    // reads_model(step, state): whether on_step for this step (its StepRecord's step) reads the
    // model (an evaluation). Null: any on_step may. When on_step for step k does not read the
    // model, it may run after step k + 1 has been queued, so the host never waits for the device
    // with nothing queued behind.
    std::function<bool(std::int64_t, const State&)> reads_model;
};

// fit(model, optimizer, source, options, hooks, state): trains from `state` (a fresh State or one
// restored from a checkpoint) until the schedule ends, the time budget is spent or stop is set.
// source: a PairSource (batches of a fresh permutation each epoch) or a PairStream (read in
// order, positioned once with seek(state.step · batch · ranks)). Returns the final state.
// Time spent in hooks (evaluation, checkpoints) is not training time.
// Overlap (Options::overlap_steps; one process, NonFinite::skip): step k's hooks may run after
// step k + 1 was queued, never when they read the model. A stop seen in step k's results (the flag,
// the time budget) then comes after step k + 1, which completes too; a run that fails for ten
// non-finite steps in a row may have made the update of the step queued after the tenth.
template <model::ContrastiveModel Model, optim::Optimizer Opt, class Source>
    requires PairSource<std::remove_cvref_t<Source>> || PairStream<std::remove_cvref_t<Source>>
State fit(Model& model, Opt& optimizer, Source&& source, const Options& options, const Hooks& hooks, State state = {}) {
    using clock = std::chrono::steady_clock;
    using T = typename Model::value_type;
    using B = typename Model::backend;
    const std::int64_t n = source.size(), batch = options.batch_size;
    const int world = options.comm ? options.comm->size() : 1, rank = options.comm ? options.comm->rank() : 0;
    CONTRA_CHECK(batch > 0 && n >= batch * world, "train: ", n, " training pairs cannot fill a batch of ", batch,
                 world > 1 ? " on each of " + std::to_string(world) + " ranks" : std::string());
    CONTRA_CHECK(options.accumulate >= 1 && batch % options.accumulate == 0, "train: a batch of ", batch,
                 " does not split into ", options.accumulate, " micro-batches");
    BatchReader<std::remove_reference_t<Source>> batches(source, batch, rank, world, options.seed);
    std::optional<dist::GradientSync<T, B>> sync;
    if (options.comm) sync.emplace(model, *options.comm);
    if (state.step == 0 && state.total_steps == 0)
        state.total_steps = options.max_steps >= 0 ? options.max_steps : options.epochs * batches.steps_per_epoch();
    optim::Schedule schedule{options.schedule, options.lr, options.warmup_steps, state.total_steps};
    TimeBudget budget(options.time_budget_s, state.step == 0, options.budget_grows);
    NonFiniteSteps nonfinite(options.on_nonfinite);

    Tape tape;
    const auto run_start = clock::now();
    const double elapsed_before = state.elapsed_s;
    double in_hooks_s = 0;
    bool out_of_time = false;
    dist::GradientSync<T, B>* const gradient_sync = sync ? &*sync : nullptr;
    using Queued = decltype(queue_step(model, optimizer, batches.at(0), tape, gradient_sync, StepOptions{}));
    struct InFlight {
        Queued queued;
        std::int64_t step, epoch;
        double lr;
        clock::time_point start;  // when the host began to queue it
        double hooks_before;      // in_hooks_s then
    };
    // complete(f, end): step f.step's results (the host waits for them), then the hooks. The step
    // took from its start to `end` (the next step's start, or now), less the hooks run in between:
    // on a CPU its work; on a GPU, where the host keeps one step ahead, the device's pace.
    auto complete = [&](const InFlight& f, clock::time_point end) {
        const StepResult r = f.queued.read();
        state.skipped_steps += nonfinite.after(r, f.step) ? 1 : 0;
        state.step = f.step + 1;
        const auto now = clock::now();
        state.elapsed_s = elapsed_before + std::chrono::duration<double>(now - run_start).count() - in_hooks_s;
        const double step_s = std::chrono::duration<double>(end - f.start).count() - (in_hooks_s - f.hooks_before);
        state.total_steps = schedule.total_steps = budget.after(state.step, state.elapsed_s, state.total_steps, options.comm);
        const auto hooks_start = clock::now();
        if (hooks.on_step)
            hooks.on_step(StepRecord{state.step, f.epoch, r.loss, f.lr, r.logit_scale, r.grad_norm,
                                     double(batch * world) / step_s, state.elapsed_s, !r.updated},
                          state);
        if (hooks.on_checkpoint && hooks.checkpoint_every > 0 && state.step % hooks.checkpoint_every == 0 &&
            state.step < state.total_steps)
            hooks.on_checkpoint(state);
        in_hooks_s += std::chrono::duration<double>(clock::now() - hooks_start).count();
        out_of_time = budget.spent(state.elapsed_s);
    };
    // Whether step k's results may wait until step k + 1 is queued: nothing after step k reads the
    // model (a checkpoint, a hook that says so) or changes what step k + 1 is (the time budget
    // resizing the schedule), a step follows, and the run is on one process.
    auto may_overlap = [&](std::int64_t k) {
        const std::int64_t done = k + 1;
        if (!options.overlap_steps || options.comm || options.on_nonfinite == NonFinite::stop) return false;
        if (done >= state.total_steps || budget.decides_at(done)) return false;
        if (hooks.on_checkpoint && hooks.checkpoint_every > 0 && done % hooks.checkpoint_every == 0) return false;
        return !hooks.on_step || (hooks.reads_model && !hooks.reads_model(done, state));
    };

    std::optional<InFlight> in_flight;  // a step queued whose results are not read yet
    std::int64_t next = state.step;     // the next step to queue
    while (next < state.total_steps) {
        bool stop = (options.stop && options.stop->load()) || out_of_time;
        if (options.comm) {  // every rank stops at the same step, and none goes on alone
            options.comm->heartbeat(next);
            stop = options.comm->average(stop ? 1.0 : 0.0) > 0;
        }
        if (stop) break;
        const double lr = schedule.lr(next);
        const auto start = clock::now();
        InFlight f{queue_step(model, optimizer, batches.at(next), tape, gradient_sync,
                              StepOptions{lr, options.grad_clip, options.accumulate, next}),
                   next, batches.epoch_of(next), lr, start, in_hooks_s};
        ++next;
        if (in_flight) {  // the step before, read while this one runs on the device
            const InFlight before = std::move(*in_flight);
            in_flight.reset();
            complete(before, f.start);
        }
        if (may_overlap(f.step)) in_flight.emplace(std::move(f));
        else complete(f, clock::now());
        if (out_of_time && !options.comm) break;
    }
    if (in_flight) complete(*in_flight, clock::now());
    tape.reset();
    if (hooks.on_checkpoint) hooks.on_checkpoint(state);
    return state;
}

}  // namespace contra::train
