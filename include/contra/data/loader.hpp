// contra/data/loader.hpp — threaded prefetching loaders: worker threads load items ahead of the
// consumer and hand them over in a fixed order, so batches never depend on thread timing.
// defines: contra::data::LoaderOptions, LoaderStats, shuffled_order, PrefetchLoader,
//          StreamLoader, stream_loader
//
// Both loaders number their inputs 0, 1, 2, ... in the order they are taken (positions in an
// index order, or samples pulled from a stream) and deliver results strictly by that number:
//   - an item whose load throws contra::Error is skipped and counted (the same items, every run);
//   - batches are filled from the surviving items in order: full batches, then a last partial
//     one (dropped with drop_last), identical for any worker count;
//   - at most window = prefetch_batches · batch_size items are loaded or held at a time;
//   - any other exception is rethrown by next() at the item's place in the order; the items
//     already gathered for that batch are kept, so a consumer that catches it may go on;
//   - the destructor stops the workers after the item each is loading and joins them, at any point.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/random.hpp"

namespace contra::data {

// LoaderOptions: batching and threading.
struct LoaderOptions {
    std::size_t batch_size = 1;        // requires >= 1
    std::size_t workers = 1;           // threads loading items; 0: load inside next(), no threads
    std::size_t prefetch_batches = 2;  // batches' worth of items loaded ahead; requires >= 1
    bool drop_last = false;            // drop a final batch smaller than batch_size
};

// LoaderStats: what the consumer has been handed so far.
struct LoaderStats {
    static constexpr std::size_t kMaxMessages = 32;
    std::uint64_t loaded = 0;               // items delivered in batches (or held for the next)
    std::uint64_t skipped = 0;              // items whose load threw contra::Error
    std::uint64_t batches = 0;              // batches returned by next()
    std::vector<std::size_t> skipped_items;  // PrefetchLoader: their indices; StreamLoader: positions
    std::vector<std::string> messages;       // the first kMaxMessages skip reasons
};

// shuffled_order(count, seed, epoch): a permutation of 0..count−1, a pure function of its arguments.
inline std::vector<std::size_t> shuffled_order(std::size_t count, std::uint64_t seed, std::uint64_t epoch = 0) {
    std::vector<std::size_t> order(count);
    std::iota(order.begin(), order.end(), std::size_t(0));
    Rng(seed, stream_id("contra.loader.order") + epoch).shuffle(order);
    return order;
}

namespace detail {

// OrderedMap: pull() inputs one at a time (serialised, in position order), map() them on worker
// threads, and take() the results back by position.
template <class Input, class Item>
class OrderedMap {
public:
    using Pull = std::function<bool(Input&)>;  // false: no more inputs
    using Map = std::function<Item(Input&&)>;

    enum class Kind { item, skipped, end };
    struct Taken {
        Kind kind = Kind::end;
        std::uint64_t position = 0;
        std::string error;  // skipped: the contra::Error's message
    };

    // requires: window >= 1.  Workers start at once and fill the window.
    OrderedMap(Pull pull, Map map, std::size_t workers, std::size_t window)
        : pull_(std::move(pull)), map_(std::move(map)), slots_(window) {
        CONTRA_CHECK(window >= 1, "loader: the prefetch window must hold at least one item");
        try {
            for (std::size_t w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
        } catch (...) {
            stop();
            throw;
        }
    }
    ~OrderedMap() { stop(); }
    OrderedMap(const OrderedMap&) = delete;
    OrderedMap& operator=(const OrderedMap&) = delete;

    // take(out): the result at the next position; out holds the item when kind is item.
    //   throws: whatever pull() or map() threw other than contra::Error, at its position.
    Taken take(std::optional<Item>& out) {
        if (threads_.empty()) return take_inline(out);
        std::unique_lock lock(mutex_);
        Slot& slot = slots_[consumed_ % slots_.size()];
        ready_.wait(lock, [&] { return slot.state != State::empty || (ended_ && consumed_ == end_); });
        if (slot.state == State::empty) {  // the end of the inputs
            if (pull_error_) std::rethrow_exception(std::exchange(pull_error_, nullptr));
            return {Kind::end, consumed_, {}};
        }
        Slot result = std::move(slot);
        slot = Slot{};
        const std::uint64_t position = consumed_++;
        lock.unlock();
        space_.notify_all();
        return finish(std::move(result), position, out);
    }

private:
    enum class State { empty, item, skipped, failed };
    struct Slot {
        State state = State::empty;
        std::optional<Item> item;
        std::string error;
        std::exception_ptr exception;
    };

    // run(input): map(input) as a slot; only contra::Error counts as a skip.
    Slot run(Input&& input) {
        Slot slot;
        try {
            slot.item.emplace(map_(std::move(input)));
            slot.state = State::item;
        } catch (const Error& e) {
            slot.state = State::skipped;
            slot.error = e.what();
        } catch (...) {
            slot.state = State::failed;
            slot.exception = std::current_exception();
        }
        return slot;
    }

    Taken finish(Slot&& slot, std::uint64_t position, std::optional<Item>& out) {
        if (slot.state == State::failed) std::rethrow_exception(slot.exception);
        if (slot.state == State::skipped) return {Kind::skipped, position, std::move(slot.error)};
        out = std::move(slot.item);
        return {Kind::item, position, {}};
    }

    Taken take_inline(std::optional<Item>& out) {
        Input input{};
        if (ended_) return {Kind::end, consumed_, {}};
        bool more = false;
        try {
            more = pull_(input);
        } catch (...) {
            ended_ = true;  // as with workers: the stream ends where pull() failed
            throw;
        }
        if (!more) {
            ended_ = true;
            return {Kind::end, consumed_, {}};
        }
        const std::uint64_t position = consumed_++;
        return finish(run(std::move(input)), position, out);
    }

    // work(): claim a position inside the window, pull its input, map it, store the result.
    void work() {
        for (;;) {
            Input input{};
            std::uint64_t position = 0;
            {
                std::lock_guard pulling(pull_mutex_);  // positions are handed out in pull order
                {
                    std::unique_lock lock(mutex_);
                    space_.wait(lock, [&] { return stop_ || ended_ || claimed_ < consumed_ + slots_.size(); });
                    if (stop_ || ended_) return;
                    position = claimed_;
                }
                bool more = false;
                std::exception_ptr error;
                try {
                    more = pull_(input);
                } catch (...) {
                    error = std::current_exception();
                }
                std::lock_guard lock(mutex_);
                if (!more) {
                    ended_ = true;
                    end_ = position;
                    pull_error_ = std::move(error);  // the worker keeps no reference to it
                    ready_.notify_all();
                    space_.notify_all();
                    return;
                }
                ++claimed_;
            }
            Slot result = run(std::move(input));
            {
                std::lock_guard lock(mutex_);
                slots_[position % slots_.size()] = std::move(result);
            }
            ready_.notify_all();
        }
    }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        space_.notify_all();
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }

    Pull pull_;
    Map map_;
    std::mutex pull_mutex_;  // held while claiming a position and pulling its input
    std::mutex mutex_;       // guards everything below
    std::condition_variable ready_, space_;
    std::vector<Slot> slots_;      // position p lives in slots_[p % window]
    std::uint64_t claimed_ = 0;    // positions handed to workers
    std::uint64_t consumed_ = 0;   // positions taken by the consumer
    std::uint64_t end_ = 0;        // the first position without an input, once ended_
    bool ended_ = false, stop_ = false;
    std::exception_ptr pull_error_;  // what pull() threw, delivered at end_
    std::vector<std::thread> threads_;
};

// next_batch(map, pending, batch, options, stats, index_of): fill pending from map, then swap it
// into batch; index_of maps a position to what stats.skipped_items records.
//   ensures: returns true with a batch in `batch` when one is ready; false at the end.
template <class Input, class Item, class IndexOf>
bool next_batch(OrderedMap<Input, Item>& map, std::vector<Item>& pending, std::vector<Item>& batch,
                const LoaderOptions& options, LoaderStats& stats, IndexOf index_of) {
    batch.clear();
    while (pending.size() < options.batch_size) {
        std::optional<Item> item;
        auto taken = map.take(item);
        if (taken.kind == OrderedMap<Input, Item>::Kind::end) break;
        if (taken.kind == OrderedMap<Input, Item>::Kind::skipped) {
            ++stats.skipped;
            stats.skipped_items.push_back(index_of(taken.position));
            if (stats.messages.size() < LoaderStats::kMaxMessages) stats.messages.push_back(std::move(taken.error));
            continue;
        }
        ++stats.loaded;
        pending.push_back(std::move(*item));
    }
    if (pending.empty() || (options.drop_last && pending.size() < options.batch_size)) {
        pending.clear();
        return false;
    }
    batch.swap(pending);
    pending.clear();
    ++stats.batches;
    return true;
}

inline void check_options(const LoaderOptions& options) {
    CONTRA_CHECK(options.batch_size >= 1, "loader: batch_size must be at least 1");
    CONTRA_CHECK(options.prefetch_batches >= 1, "loader: prefetch_batches must be at least 1");
}

}  // namespace detail

// PrefetchLoader<Item>: batches of load(index) over an order of indices.
// The loader holds `this` in its threads: it is neither copyable nor movable.
template <class Item>
class PrefetchLoader {
public:
    using Load = std::function<Item(std::size_t)>;

    // PrefetchLoader(order, load, options): load(order[0]), load(order[1]), ... in batches.
    //   requires: load may be called concurrently from several threads (on distinct indices).
    PrefetchLoader(std::vector<std::size_t> order, Load load, const LoaderOptions& options)
        : options_((detail::check_options(options), options)), order_(std::move(order)),
          map_([this](std::size_t& index) { return pull(index); },
               [load = std::move(load)](std::size_t&& index) { return load(index); }, options.workers,
               options.batch_size * options.prefetch_batches) {}
    // PrefetchLoader(count, load, options, seed, epoch): over shuffled_order(count, seed, epoch).
    PrefetchLoader(std::size_t count, Load load, const LoaderOptions& options, std::uint64_t seed, std::uint64_t epoch = 0)
        : PrefetchLoader(shuffled_order(count, seed, epoch), std::move(load), options) {}

    PrefetchLoader(const PrefetchLoader&) = delete;
    PrefetchLoader& operator=(const PrefetchLoader&) = delete;

    // next(batch): the next batch (batch_size items, the last one maybe fewer); false at the end.
    //   throws: a non-contra::Error exception of load, at the item's place (see the file header).
    bool next(std::vector<Item>& batch) {
        return detail::next_batch(map_, pending_, batch, options_, stats_,
                                  [this](std::uint64_t position) { return order_[std::size_t(position)]; });
    }

    const LoaderStats& stats() const { return stats_; }
    const std::vector<std::size_t>& order() const { return order_; }

private:
    bool pull(std::size_t& index) {  // serialised by OrderedMap
        if (pulled_ == order_.size()) return false;
        index = order_[pulled_++];
        return true;
    }

    LoaderOptions options_;
    std::vector<std::size_t> order_;
    std::size_t pulled_ = 0;
    std::vector<Item> pending_;
    LoaderStats stats_;
    detail::OrderedMap<std::size_t, Item> map_;  // last: its threads stop before the rest goes
};

template <class Load>
PrefetchLoader(std::vector<std::size_t>, Load, const LoaderOptions&)
    -> PrefetchLoader<std::invoke_result_t<Load&, std::size_t>>;
template <class Load>
PrefetchLoader(std::size_t, Load, const LoaderOptions&, std::uint64_t, std::uint64_t = 0)
    -> PrefetchLoader<std::invoke_result_t<Load&, std::size_t>>;

// StreamLoader<Sample, Item>: batches of map(sample) over samples pulled from a stream such as a
// WebDatasetReader. The stream is read by one thread at a time, in order; the maps run in parallel.
// stats().skipped_items holds stream positions (0 = the first sample pulled).
template <class Sample, class Item>
class StreamLoader {
public:
    using Pull = std::function<bool(Sample&)>;
    using Map = std::function<Item(Sample&&)>;

    // requires: pull is safe to call from any one thread at a time; map concurrently.
    //           The stream's state may be inspected once next() returned false, or after destruction.
    StreamLoader(Pull pull, Map map, const LoaderOptions& options)
        : options_((detail::check_options(options), options)),
          map_(std::move(pull), std::move(map), options.workers, options.batch_size * options.prefetch_batches) {}

    StreamLoader(const StreamLoader&) = delete;
    StreamLoader& operator=(const StreamLoader&) = delete;

    // next(batch): as PrefetchLoader::next; also rethrows what pull threw, after the items before it.
    bool next(std::vector<Item>& batch) {
        return detail::next_batch(map_, pending_, batch, options_, stats_,
                                  [](std::uint64_t position) { return std::size_t(position); });
    }
    const LoaderStats& stats() const { return stats_; }

private:
    LoaderOptions options_;
    std::vector<Item> pending_;
    LoaderStats stats_;
    detail::OrderedMap<Sample, Item> map_;
};

namespace detail {
template <class T>
struct next_argument;
template <class Source, class Sample>
struct next_argument<bool (Source::*)(Sample&)> {
    using type = Sample;
};
}  // namespace detail

// stream_loader(source, map, options): a StreamLoader over source.next(Sample&), e.g.
//   WebDatasetReader reader("shards/{000..099}.tar", {.shuffle_buffer = 1000, .seed = 7});
//   auto loader = stream_loader(reader, [](WebDatasetSample&& s) { return decode(s); }, options);
// requires: source outlives the loader; Source::next is not overloaded.
template <class Source, class Fn>
auto stream_loader(Source& source, Fn map, const LoaderOptions& options) {
    using Sample = typename detail::next_argument<decltype(&Source::next)>::type;
    using Item = std::invoke_result_t<Fn&, Sample&&>;
    return StreamLoader<Sample, Item>([&source](Sample& s) { return source.next(s); }, std::move(map), options);
}

}  // namespace contra::data
