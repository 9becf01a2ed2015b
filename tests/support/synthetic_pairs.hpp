// tests/support/synthetic_pairs.hpp — a PairSource for the tiny preset: image i is noise around
// the pattern of its class (i mod 4), its caption the class's token; and one with a NaN image in
// one step's batch.
#pragma once
#include <contra/train/trainer.hpp>

namespace contra::test {

struct SyntheticPairs {
    std::int64_t n = 48;
    std::int64_t size() const { return n; }
    train::PairBatch batch(std::span<const std::int64_t> indices, std::int64_t epoch) const {
        const std::int64_t b = std::int64_t(indices.size());
        train::PairBatch out{Tensor<float, cpu>::empty(Shape{b, 3, 8, 8}), Tensor<ops::Index, cpu>::zeros(Shape{b, 6})};
        const RandomStream noise{11, std::uint64_t(epoch)};
        for (std::int64_t r = 0; r < b; ++r) {
            const auto i = indices[std::size_t(r)];
            const int label = int(i % 4);
            for (std::int64_t p = 0; p < 192; ++p)
                out.images[r * 192 + p] = float((p % 4 == label ? 1.0 : 0.0) + 0.3 * noise.normal(std::uint64_t(i * 192 + p)));
            out.tokens[r * 6 + 0] = 21;
            out.tokens[r * 6 + 1] = ops::Index(1 + label);
            out.tokens[r * 6 + 2] = 23;
        }
        return out;
    }
};

// Images that become NaN in the batch of the given call (a step's batch, as the trainer asks for it).
struct PoisonedPairs {
    SyntheticPairs clean;
    mutable std::int64_t calls = 0;
    std::int64_t poison_call;
    std::int64_t size() const { return clean.size(); }
    train::PairBatch batch(std::span<const std::int64_t> indices, std::int64_t epoch) const {
        auto b = clean.batch(indices, epoch);
        if (calls++ == poison_call) b.images[0] = NAN;
        return b;
    }
};

// resume_options(steps): the training options the worker's `train` mode (support/worker.cpp)
// and the resume test (train/robustness.cpp) share, so the two runs they compare are the same run.
inline train::Options resume_options(std::int64_t steps) {
    train::Options o;
    o.batch_size = 8;
    o.max_steps = steps;
    o.lr = 3e-3;
    o.warmup_steps = 2;
    o.seed = 4;
    return o;
}

}  // namespace contra::test
