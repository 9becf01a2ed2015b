// Prefetching loaders: the same batches for any worker count and timing, skipped items counted,
// bounded look-ahead, early destruction, exceptions delivered in order.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <contra/data/loader.hpp>
#include <contra/data/webdataset.hpp>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tar_writer.hpp"
#include "../support/temp_dir.hpp"

using namespace contra;
using namespace contra::data;

namespace {

// jitter(i): a few hundred microseconds that differ per item, so workers finish out of order.
void jitter(std::size_t i) { std::this_thread::sleep_for(std::chrono::microseconds((i * 7919) % 400)); }

// load_or_skip(i): i·10, except that multiples of 7 are broken (contra::Error).
int load_or_skip(std::size_t i) {
    jitter(i);
    if (i % 7 == 0) throw Error("item " + std::to_string(i) + " is broken");
    return int(i) * 10;
}

LoaderOptions make_options(std::size_t batch, std::size_t workers, std::size_t prefetch = 2, bool drop_last = false) {
    LoaderOptions o;
    o.batch_size = batch;
    o.workers = workers;
    o.prefetch_batches = prefetch;
    o.drop_last = drop_last;
    return o;
}

// settle(counter, target): wait (up to 10 s) until counter reaches target, then a little longer
// so that a counter about to overshoot would be seen doing so.
void settle(const std::atomic<int>& counter, int target) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (counter.load() < target && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

template <class Loader>
auto all_batches(Loader& loader) {
    std::vector<std::vector<int>> out;
    std::vector<int> batch;
    while (loader.next(batch)) out.push_back(batch);
    return out;
}

}  // namespace

TEST_CASE("loader: shuffled_order is a seed-determined permutation") {
    const auto a = shuffled_order(50, 1);
    CHECK(a == shuffled_order(50, 1));
    CHECK(a != shuffled_order(50, 2));
    CHECK(a != shuffled_order(50, 1, /*epoch=*/1));
    auto sorted = a;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::size_t> identity(50);
    std::iota(identity.begin(), identity.end(), std::size_t(0));
    CHECK(sorted == identity);
    CHECK(a != identity);
}

TEST_CASE("loader: batches are identical for 0, 1 and 4 workers; broken items are skipped the same way") {
    const std::size_t n = 100;
    std::vector<std::vector<int>> reference;
    std::vector<std::size_t> reference_skips;
    for (std::size_t workers : {0, 1, 4, 4}) {
        CAPTURE(workers);
        PrefetchLoader loader(n, load_or_skip, make_options(8, workers), /*seed=*/42);
        const auto batches = all_batches(loader);
        const auto& st = loader.stats();
        CHECK(st.skipped == 15);  // 0, 7, ..., 98
        CHECK(st.loaded == 85);
        CHECK(st.batches == 11);
        CHECK(st.messages.size() == 15);
        CHECK(st.messages[0].find("is broken") != std::string::npos);
        REQUIRE(batches.size() == 11);
        for (std::size_t b = 0; b + 1 < batches.size(); ++b) CHECK(batches[b].size() == 8);
        CHECK(batches.back().size() == 5);
        if (reference.empty()) {
            reference = batches;
            reference_skips = st.skipped_items;
        } else {
            CHECK(batches == reference);
            CHECK(st.skipped_items == reference_skips);
        }
        // the batches are the shuffled order with the broken items left out
        std::vector<int> flat, expected;
        for (const auto& b : batches) flat.insert(flat.end(), b.begin(), b.end());
        for (std::size_t i : loader.order())
            if (i % 7 != 0) expected.push_back(int(i) * 10);
        CHECK(flat == expected);
        for (std::size_t i : st.skipped_items) CHECK(i % 7 == 0);
    }
    // another seed, other batches
    PrefetchLoader other(n, load_or_skip, make_options(8, 2), /*seed=*/43);
    CHECK(all_batches(other) != reference);
}

TEST_CASE("loader: a caller's order is followed; drop_last drops the short batch") {
    std::vector<std::size_t> order{9, 8, 3, 2, 1, 13, 12, 11};
    PrefetchLoader loader(order, [](std::size_t i) { return load_or_skip(i); }, make_options(3, 3, 1, /*drop_last=*/true));
    CHECK(all_batches(loader) == std::vector<std::vector<int>>{{90, 80, 30}, {20, 10, 130}});  // 120, 110 dropped
    CHECK(loader.stats().skipped == 0);
    CHECK(loader.stats().loaded == 8);

    PrefetchLoader empty(std::vector<std::size_t>{}, load_or_skip, make_options(4, 2));
    std::vector<int> batch{1, 2};
    CHECK_FALSE(empty.next(batch));
    CHECK(batch.empty());
    CHECK_FALSE(empty.next(batch));

    PrefetchLoader broken(std::vector<std::size_t>{0, 7, 14}, load_or_skip, make_options(2, 2));
    CHECK_FALSE(broken.next(batch));
    CHECK(broken.stats().skipped_items == std::vector<std::size_t>{0, 7, 14});
}

TEST_CASE("loader: workers stay within the prefetch window and stop early without deadlock") {
    std::atomic<int> started{0};
    auto slow = [&](std::size_t i) {
        ++started;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return int(i);
    };
    const auto t0 = std::chrono::steady_clock::now();
    {
        PrefetchLoader loader(10000, slow, make_options(4, 4, 2), /*seed=*/1);  // window: 8 items
        settle(started, 8);
        CHECK(started.load() == 8);  // look-ahead filled the window, and no more
        std::vector<int> batch;
        REQUIRE(loader.next(batch));
        CHECK(batch.size() == 4);
        settle(started, 12);
        CHECK(started.load() == 12);  // one batch consumed: four more slots
    }  // destroyed with 9988 items never loaded
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(seconds < 3.0);  // loading all 10000 items would take at least 10000 · 2 ms / 4 = 5 s
    CHECK(started.load() == 12);

    // destroyed at once, before the workers got anywhere, and with no consumer at all
    for (int k = 0; k < 20; ++k) PrefetchLoader quick(1000, slow, make_options(2, 4, 1), std::uint64_t(k));
}

TEST_CASE("loader: other exceptions reach the consumer at the item's place, and it may go on") {
    for (std::size_t workers : {0, 3}) {
        CAPTURE(workers);
        std::vector<std::size_t> order(20);
        std::iota(order.begin(), order.end(), std::size_t(0));
        PrefetchLoader loader(order,
                              [](std::size_t i) {
                                  jitter(i);
                                  if (i == 13) throw std::runtime_error("disk on fire");
                                  return int(i);
                              },
                              make_options(4, workers));
        std::vector<int> batch;
        for (int b = 0; b < 3; ++b) {
            REQUIRE(loader.next(batch));
            CHECK(batch.front() == 4 * b);
        }
        CHECK_THROWS_WITH_AS(loader.next(batch), "disk on fire", std::runtime_error);
        REQUIRE(loader.next(batch));
        CHECK(batch == std::vector<int>{12, 14, 15, 16});  // 12 was gathered before the throw
        REQUIRE(loader.next(batch));
        CHECK(batch == std::vector<int>{17, 18, 19});
        CHECK_FALSE(loader.next(batch));
        CHECK(loader.stats().skipped == 0);  // not a contra::Error: not a skip
    }
}

TEST_CASE("loader: options are checked") {
    CHECK_THROWS_AS(PrefetchLoader(10, load_or_skip, make_options(0, 1), 0), Error);
    CHECK_THROWS_AS(PrefetchLoader(10, load_or_skip, make_options(4, 1, 0), 0), Error);
}

namespace {

// CountingSource: a stream of 0, 1, ..., n−1 that throws when it reaches fail_at.
struct CountingSource {
    int n = 0, fail_at = -1, next_value = 0;
    bool next(int& out) {
        if (next_value == fail_at) throw std::logic_error("source broke");
        if (next_value == n) return false;
        out = next_value++;
        return true;
    }
};

}  // namespace

TEST_CASE("stream loader: a source's samples mapped in parallel, delivered in stream order") {
    for (std::size_t workers : {0, 1, 4}) {
        CAPTURE(workers);
        CountingSource source{50};
        auto loader = stream_loader(
            source,
            [](int&& v) {
                jitter(std::size_t(v));
                if (v % 10 == 3) throw Error("bad sample");
                return v * 2;
            },
            make_options(6, workers));
        std::vector<int> flat;
        std::vector<int> batch;
        while (loader.next(batch)) {
            CHECK((batch.size() == 6 || flat.size() + batch.size() == 45));
            flat.insert(flat.end(), batch.begin(), batch.end());
        }
        std::vector<int> expected;
        for (int v = 0; v < 50; ++v)
            if (v % 10 != 3) expected.push_back(v * 2);
        CHECK(flat == expected);
        CHECK(loader.stats().skipped_items == std::vector<std::size_t>{3, 13, 23, 33, 43});
        CHECK(source.next_value == 50);  // readable once next() returned false
    }
}

TEST_CASE("stream loader: a failing source delivers what came before, then its exception") {
    for (std::size_t workers : {0, 2}) {
        CAPTURE(workers);
        CountingSource source{100, 7};
        auto loader = stream_loader(source, [](int&& v) { return v; }, make_options(4, workers));
        std::vector<int> batch;
        REQUIRE(loader.next(batch));
        CHECK(batch == std::vector<int>{0, 1, 2, 3});
        CHECK_THROWS_WITH_AS(loader.next(batch), "source broke", std::logic_error);
        REQUIRE(loader.next(batch));
        CHECK(batch == std::vector<int>{4, 5, 6});  // gathered before the failure
        CHECK_FALSE(loader.next(batch));
    }
}

TEST_CASE("stream loader over WebDataset shards: same batches for any worker count") {
    test::TempDir dir("loader_wds");
    std::vector<std::filesystem::path> shards;
    for (int s = 0; s < 3; ++s) {
        std::vector<test::TarMember> members;
        for (int i = 0; i < 20; ++i) {
            const std::string key = "k" + std::to_string(s) + "_" + std::to_string(i);
            members.push_back({key + ".jpg", test::image_bytes(key, 64)});
            members.push_back({key + ".txt", key == "k1_4" ? "" : "caption " + key});
        }
        shards.push_back(dir / ("s" + std::to_string(s) + ".tar"));
        test::write_tar(shards.back(), members);
    }
    WebDatasetOptions wds;
    wds.shuffle_shards = true;
    wds.shuffle_buffer = 16;
    wds.seed = 9;

    std::vector<std::vector<std::string>> reference;
    for (std::size_t workers : {0, 3}) {
        CAPTURE(workers);
        WebDatasetReader reader(shards, wds);
        auto loader = stream_loader(
            reader,
            [](WebDatasetSample&& s) {
                // a "decoder" that rejects empty captions
                if (s.caption.empty()) throw Error("empty caption in " + s.key);
                return s.key + ":" + std::to_string(s.image.size());
            },
            make_options(8, workers));
        std::vector<std::vector<std::string>> batches;
        std::vector<std::string> batch;
        while (loader.next(batch)) batches.push_back(batch);
        CHECK(loader.stats().loaded == 59);
        CHECK(loader.stats().skipped == 1);
        CHECK(reader.stats().samples == 60);
        if (reference.empty())
            reference = batches;
        else
            CHECK(batches == reference);
    }
    REQUIRE(reference.size() == 8);
    CHECK(reference[0][0].find(":64") != std::string::npos);

    // a reader that can open nothing: its Error reaches the consumer, it is not a skipped item
    WebDatasetReader nothing(std::vector<std::filesystem::path>{dir / "missing.tar"});
    auto loader = stream_loader(nothing, [](WebDatasetSample&& s) { return s.key; }, make_options(2, 2));
    std::vector<std::string> batch;
    CHECK_THROWS_AS(loader.next(batch), Error);
}
