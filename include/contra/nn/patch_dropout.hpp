// contra/nn/patch_dropout.hpp — patch dropout for ViT image towers (FLIP, Li et al. 2023; open_clip's
// PatchDropout): during a training step each image keeps its class token and a random subset of
// K = max(1, ⌊P·(1 − rate)⌋) of its P patch tokens, drawn uniformly without replacement after the
// positional embedding is added and before ln_pre. The blocks then see 1 + K tokens instead of 1 + P.
//
// When patches are dropped: only while the rate is > 0 AND a training step is in progress, i.e.
// between begin_step(step) and end_step(). train::train_step opens that scope (nn::StepScope) for
// the step it takes; nothing else does, so evaluation, probes run from training hooks, embedding and
// inference always see every patch, whatever the rate.
// Which patches: a pure function of (seed, step, the image's row in the batch encode is given), so a
// run resumed at step k draws exactly the patches of the uninterrupted run, and recomputing a step's
// features (gradient accumulation) draws the same ones again. Micro-batches, and ranks sharing a
// seed, keep the same positions row for row. The rate and seed are a training setting, not part of
// the architecture: they are not saved with the weights.
// defines: nn::PatchDropout, nn::StepScope
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <vector>

#include "../backend/ops.hpp"
#include "../core/random.hpp"
#include "concepts.hpp"

namespace contra::nn {

struct PatchDropout {
    double rate = 0;                   // the fraction of patches dropped, in [0, 1); 0: off
    std::uint64_t seed = 0;            // with the step, names the draws
    std::optional<std::int64_t> step;  // the training step in progress; none outside a step

    // enable(rate, seed): drop this fraction of the patches in every training step from now on.
    //   requires: 0 ≤ rate < 1.
    void enable(double r, std::uint64_t s) {
        CONTRA_CHECK(r >= 0 && r < 1, "patch dropout: the rate must be in [0, 1), got ", r);
        rate = r;
        seed = s;
    }
    void begin_step(std::int64_t s) {
        CONTRA_CHECK(s >= 0, "patch dropout: a step number is ≥ 0, got ", s);
        step = s;
    }
    void end_step() { step.reset(); }

    // Whether encode drops patches now: a rate > 0 and a training step in progress.
    bool active() const { return rate > 0 && step.has_value(); }

    // keep_count(P): the patches kept of P, max(1, ⌊P·(1 − rate)⌋) (open_clip's int()).
    std::int64_t keep_count(std::int64_t patches) const {
        return std::max<std::int64_t>(1, std::int64_t(double(patches) * (1.0 - rate)));
    }

    // kept_rows(n, tokens, step): the rows of the flattened sequence [n·tokens, W] (row 0 of each
    // image its class token) that the step keeps, image by image: i·tokens, then i·tokens + 1 + p
    // for the image's K kept patches p in increasing order.
    //   requires: tokens ≥ 2 (a class token and at least one patch); step ≥ 0.
    //   ensures: [n·(1 + K)]; image i's draws depend only on (seed, step, i).
    Tensor<ops::Index, cpu> kept_rows(std::int64_t n, std::int64_t tokens, std::int64_t at_step) const {
        const std::int64_t patches = tokens - 1, k = keep_count(patches);
        CONTRA_CHECK(n >= 0 && patches >= 1 && at_step >= 0, "patch dropout: cannot keep patches of ", n, " images of ",
                     tokens, " tokens at step ", at_step);
        const RandomStream draws{seed, stream_id("patch_dropout") + std::uint64_t(at_step)};
        auto rows = Tensor<ops::Index, cpu>::empty(Shape{n * (1 + k)});  // [N·(1+K)]
        std::vector<std::int64_t> order(std::size_t(patches), 0);
        for (std::int64_t i = 0; i < n; ++i) {
            std::iota(order.begin(), order.end(), std::int64_t(0));
            for (std::int64_t j = 0; j < k; ++j)  // partial Fisher–Yates: order[0, k) is a uniform k-subset
                std::swap(order[std::size_t(j)],
                          order[std::size_t(j) + draws.below(std::uint64_t(i * patches + j), std::uint64_t(patches - j))]);
            std::sort(order.begin(), order.begin() + k);
            const std::int64_t first = i * (1 + k);
            rows[first] = ops::Index(i * tokens);
            for (std::int64_t j = 0; j < k; ++j) rows[first + 1 + j] = ops::Index(i * tokens + 1 + order[std::size_t(j)]);
        }
        return rows;
    }
    // The rows of the step in progress.  requires: active().
    Tensor<ops::Index, cpu> kept_rows(std::int64_t n, std::int64_t tokens) const {
        CONTRA_CHECK(active(), "patch dropout: no training step in progress");
        return kept_rows(n, tokens, *step);
    }
};

// StepScope(model, step): one training step's scope for a model with step-dependent randomness
// (StepAware: patch dropout): model.begin_step(step) on entry, model.end_step() on leaving, however
// the step ends. For any other model it does nothing.
template <class M>
class StepScope {
public:
    StepScope(M& model, std::int64_t step) : model_(model) {
        if constexpr (StepAware<M>) model_.begin_step(step);
    }
    ~StepScope() {
        if constexpr (StepAware<M>) model_.end_step();
    }
    StepScope(const StepScope&) = delete;
    StepScope& operator=(const StepScope&) = delete;

private:
    M& model_;
};

}  // namespace contra::nn
