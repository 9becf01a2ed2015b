// contra/train/data.hpp — where a training step's pairs come from: a random-access PairSource
// (a fresh permutation each epoch) or a PairStream read in order (files too many to hold), and
// the reader that gives each optimizer step its rank's share of the global batch.
// defines: train::PairBatch, train::PairSource, train::PairStream, train::epoch_order, train::BatchReader
#pragma once
#include <concepts>
#include <cstdint>
#include <numeric>
#include <span>
#include <type_traits>
#include <vector>

#include "../backend/ops.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"

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

// epoch_order(n, seed, epoch): a permutation of 0..n−1 (Fisher–Yates on a counter-based stream).
inline std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t(0));
    const RandomStream stream{seed, stream_id("train.shuffle") + std::uint64_t(epoch)};
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[std::size_t(i)], order[stream.below(std::uint64_t(i), std::uint64_t(i + 1))]);
    return order;
}

// BatchReader(source, batch, rank, world, seed): the pairs of each optimizer step for this rank.
//   PairSource: step s of epoch e takes positions [(s·world + rank)·batch, +batch) of
//               epoch_order(n, seed, e), the last partial global batch of an epoch dropped.
//   PairStream: positioned once at s·batch·world (the first step read, which is the resumed step
//               after a restart), then read in order: epochs follow each other without a gap.
//   requires: steps are read in increasing order.
template <class Source>
    requires PairSource<std::remove_cvref_t<Source>> || PairStream<std::remove_cvref_t<Source>>
class BatchReader {
public:
    static constexpr bool streamed = PairStream<std::remove_cvref_t<Source>>;

    BatchReader(Source& source, std::int64_t batch, int rank, int world, std::uint64_t seed)
        : source_(&source), batch_(batch), rank_(rank), world_(world), seed_(seed),
          steps_per_epoch_(std::int64_t(source.size()) / (batch * world)) {}

    // Optimizer steps in one epoch (all ranks together read batch·world pairs a step).
    std::int64_t steps_per_epoch() const { return steps_per_epoch_; }
    std::int64_t epoch_of(std::int64_t step) const { return step / steps_per_epoch_; }

    PairBatch at(std::int64_t step) {
        const std::int64_t epoch = epoch_of(step);
        if constexpr (streamed) {
            if (!positioned_) source_->seek(step * batch_ * world_);
            positioned_ = true;
            return source_->next(batch_);
        } else {
            if (epoch != cached_epoch_) {
                order_ = epoch_order(std::int64_t(source_->size()), seed_, epoch);
                cached_epoch_ = epoch;
            }
            const std::int64_t in_epoch = step % steps_per_epoch_;
            const auto first = std::size_t((in_epoch * world_ + rank_) * batch_);  // this rank's slice of the global batch
            return source_->batch(std::span<const std::int64_t>(order_).subspan(first, std::size_t(batch_)), epoch);
        }
    }

private:
    Source* source_;
    std::int64_t batch_;
    int rank_, world_;
    std::uint64_t seed_;
    std::int64_t steps_per_epoch_;
    std::int64_t cached_epoch_ = -1;
    std::vector<std::int64_t> order_;
    bool positioned_ = false;
};

}  // namespace contra::train
