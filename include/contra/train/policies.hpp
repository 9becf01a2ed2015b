// contra/train/policies.hpp — the small rules around the training loop: how long the schedule
// is when a time budget is given, and what a step with a non-finite loss or gradient does.
// defines: train::NonFinite, train::TimeBudget, train::NonFiniteSteps
#pragma once
#include <algorithm>
#include <cstdint>

#include "../core/error.hpp"
#include "../dist/communicator.hpp"
#include "step.hpp"

namespace contra::train {

// A step whose loss or gradient is not finite: skipped (counted; ten in a row stop the run), or
// the run stops at once.
enum class NonFinite { skip, stop };

// TimeBudget(seconds, fresh, grow): with seconds > 0, sizes the schedule from the measured speed
// so that it fills the budget: measured first over steps 6..25, then again every 250 steps in the
// first half of the schedule from the mean speed since step 6, and resized when it is more than
// 2% off. The schedule aims at 98% of the budget, so that a step slower than the measured ones
// does not cut the cosine's last steps. grow = false only ever shortens it (the schedule given is a
// ceiling); grow = true also lengthens it (more epochs when there is time). A machine that slows
// down ends the cosine schedule in time instead of being cut off at a high learning rate. A
// resumed run (fresh = false) keeps the length it started with. Under data parallelism rank 0
// decides.
class TimeBudget {
public:
    TimeBudget(double seconds, bool fresh, bool grow = false)
        : seconds_(seconds), measuring_(seconds > 0 && fresh), grow_(grow) {}

    // after(step, elapsed_s, total_steps, comm): the schedule's length from now on.
    std::int64_t after(std::int64_t step, double elapsed_s, std::int64_t total_steps, dist::Communicator* comm) {
        if (!measuring_) return total_steps;
        if (step == kWarmSteps) warm_elapsed_s_ = elapsed_s;
        const bool first_sizing = step == kMeasureSteps;
        const bool resizing = step > kMeasureSteps && step % kResizeEvery == 0 && 2 * step < total_steps;
        if (!first_sizing && !resizing) return total_steps;
        const double per_step = (elapsed_s - warm_elapsed_s_) / double(step - kWarmSteps);
        const auto affordable = step + std::int64_t(std::max(0.0, kAim * seconds_ - elapsed_s) / per_step);
        const std::int64_t margin = total_steps / 50;  // 2%
        const bool shorten = affordable < (first_sizing ? total_steps : total_steps - margin);
        const bool lengthen = grow_ && affordable > (first_sizing ? total_steps : total_steps + margin);
        std::int64_t total = shorten ? std::max(step + 1, affordable) : lengthen ? affordable : total_steps;
        if (comm) total = comm->broadcast(total, 0);
        return total;
    }
    // decides_at(step): whether after(step, …) may change the schedule's length.
    bool decides_at(std::int64_t step) const {
        return measuring_ && (step == kMeasureSteps || (step > kMeasureSteps && step % kResizeEvery == 0));
    }
    // spent(elapsed_s): the budget (if any) is used up.
    bool spent(double elapsed_s) const { return seconds_ > 0 && elapsed_s >= seconds_; }

private:
    static constexpr std::int64_t kWarmSteps = 5, kMeasureSteps = 25, kResizeEvery = 250;  // speed from step 6 on
    static constexpr double kAim = 0.98;
    double seconds_;
    bool measuring_, grow_;
    double warm_elapsed_s_ = 0;
};

// NonFiniteSteps(policy): after(result, step) throws when the policy says the run must stop: at
// once (stop), or after ten failed steps in a row (skip). Returns whether the step was skipped.
class NonFiniteSteps {
public:
    explicit NonFiniteSteps(NonFinite policy) : policy_(policy) {}

    bool after(const StepResult& r, std::int64_t step) {
        if (r.updated) {
            in_a_row_ = 0;
            return false;
        }
        CONTRA_CHECK(policy_ == NonFinite::skip, "train: step ", step + 1, " had a non-finite loss or gradient (loss ",
                     r.loss, ", gradient norm ", r.grad_norm,
                     "); stopping as asked (skip such steps instead with on_nonfinite = skip)");
        CONTRA_CHECK(++in_a_row_ < 10, "train: 10 consecutive steps had a non-finite loss or gradient (loss ", r.loss,
                     " at step ", step, "); lower the learning rate");
        return true;
    }

private:
    NonFinite policy_;
    int in_a_row_ = 0;
};

}  // namespace contra::train
