// Image–caption files as a training stream (tasks::ImageTextStream): every usable row once per
// epoch in a seeded order, broken files skipped and counted, the same pairs for any number of
// worker threads, disjoint rank shares, seek() continuing a run exactly, WebDataset shards, and
// a training run whose resume from the middle is bit-identical to the run straight through.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>
#include <contra/tasks/image_text.hpp>
#include <contra/train/trainer.hpp>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include "tar_writer.hpp"
#include "../support/temp_dir.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {

constexpr int kSide = 8;
constexpr int kRows = 12;

// red(i): the red value of image i; each image is one flat colour, so the pair tells its row.
int red(int i) { return 10 + 20 * i; }

std::string png_of(int i) {
    std::vector<std::uint8_t> pixels;
    for (int p = 0; p < 10 * 12; ++p) pixels.insert(pixels.end(), {std::uint8_t(red(i)), 40, 200});
    std::string out;
    stbi_write_png_to_func([](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), std::size_t(size)); },
                           &out, 10, 12, 3, pixels.data(), 10 * 3);
    REQUIRE(!out.empty());
    return out;
}

std::string caption_of(int i) { return "photo number " + std::to_string(i); }

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

// A caption table of kRows images (and, with broken, a row whose file is not an image).
fs::path write_table(const test::TempDir& dir, bool broken) {
    std::string csv = "filepath,title\n";
    for (int i = 0; i < kRows; ++i) {
        write_file(dir / ("img" + std::to_string(i) + ".png"), png_of(i));
        csv += "img" + std::to_string(i) + ".png," + caption_of(i) + "\n";
    }
    if (broken) {
        write_file(dir / "broken.png", "not an image at all");
        csv += "broken.png,a broken file\n";
    }
    write_file(dir / "pairs.csv", csv);
    return dir / "pairs.csv";
}

tasks::ImageTextOptions small_options(std::size_t workers = 2) {
    tasks::ImageTextOptions o;
    o.image_size = kSide;
    o.augment = false;
    o.workers = workers;
    o.seed = 5;
    return o;
}

// row_of(batch, r): which image pair r of a batch shows, read back from its red channel.
int row_of(const train::PairBatch& b, std::int64_t r) {
    const double value = b.images[r * 3 * kSide * kSide] * data::kClipStd[0] + data::kClipMean[0];  // the first red pixel
    return int(std::lround((value * 255 - 10) / 20));
}

std::vector<int> rows_of(const train::PairBatch& b) {
    std::vector<int> out;
    for (std::int64_t r = 0; r < b.images.size(0); ++r) out.push_back(row_of(b, r));
    return out;
}

std::vector<int> read_rows(tasks::ImageTextStream& s, int batches, int batch) {
    std::vector<int> out;
    for (int i = 0; i < batches; ++i) {
        const auto b = s.next(batch);
        REQUIRE(b.images.shape() == Shape{batch, 3, kSide, kSide});
        for (int r : rows_of(b)) out.push_back(r);
    }
    return out;
}

}  // namespace

TEST_CASE("ImageTextStream over a caption table: each row once an epoch, captions tokenised, a broken file skipped and counted") {
    test::TempDir dir("image_text");
    const data::Tokenizer tokenizer;
    auto stream = tasks::ImageTextStream::csv(write_table(dir, true), {}, tokenizer, 16, small_options());
    CHECK(stream.size() == kRows + 1);
    CHECK(stream.captions().size() == std::size_t(kRows + 1));

    const auto b = stream.next(kRows);  // the whole first epoch's usable rows
    auto rows = rows_of(b);
    for (std::int64_t r = 0; r < kRows; ++r) {  // the caption of each pair is its image's
        const auto ids = tokenizer.tokenize(caption_of(rows[std::size_t(r)]), 16);
        for (std::int64_t t = 0; t < b.tokens.size(1); ++t) CHECK(b.tokens[r * b.tokens.size(1) + t] == ids[std::size_t(t)]);
    }
    CHECK(b.tokens.size(1) == std::int64_t(tokenizer.encode(caption_of(10)).size()) + 2);  // cut after the longest eot
    std::sort(rows.begin(), rows.end());
    std::vector<int> all(kRows);
    std::iota(all.begin(), all.end(), 0);
    CHECK(rows == all);

    const auto next_epoch = rows_of(stream.next(kRows));  // the second epoch: the same rows, in another order
    CHECK(std::set<int>(next_epoch.begin(), next_epoch.end()).size() == std::size_t(kRows));
    CHECK(next_epoch != rows_of(b));
    const auto stats = stream.stats();
    CHECK(stats.pairs == std::uint64_t(2 * kRows));
    CHECK(stats.skipped >= 1);  // once per epoch read (the second epoch's may not be reached yet)
    REQUIRE(!stats.messages.empty());
    CHECK(stats.messages.front().find("broken.png") != std::string::npos);
}

TEST_CASE("ImageTextStream: the same pairs for any worker count; batches run across epochs") {
    test::TempDir dir("image_text");
    const auto table = write_table(dir, true);
    auto inline_stream = tasks::ImageTextStream::csv(table, {}, data::Tokenizer{}, 16, small_options(0));
    auto threaded = tasks::ImageTextStream::csv(table, {}, data::Tokenizer{}, 16, small_options(3));
    for (int i = 0; i < 7; ++i) {  // batches of 5 over epochs of 12 usable rows
        const auto a = inline_stream.next(5), c = threaded.next(5);
        CHECK(rows_of(a) == rows_of(c));
        CHECK(std::equal(a.images.data(), a.images.data() + a.images.numel(), c.images.data()));
    }
}

TEST_CASE("ImageTextStream: seek(p) continues exactly where a run from the start would be") {
    test::TempDir dir("image_text");
    const auto table = write_table(dir, false);
    auto straight = tasks::ImageTextStream::csv(table, {}, data::Tokenizer{}, 16, small_options());
    const auto all = read_rows(straight, 6, 4);  // two epochs
    for (int step : {1, 3, 4}) {
        auto resumed = tasks::ImageTextStream::csv(table, {}, data::Tokenizer{}, 16, small_options());
        resumed.seek(4 * step);
        const auto rest = read_rows(resumed, 6 - step, 4);
        CHECK(rest == std::vector<int>(all.begin() + 4 * step, all.end()));
    }
    CHECK_THROWS_AS(straight.seek(-1), Error);
}

TEST_CASE("ImageTextStream: two ranks take disjoint shares that cover the epoch") {
    test::TempDir dir("image_text");
    const auto table = write_table(dir, false);
    std::vector<int> seen;
    for (int rank = 0; rank < 2; ++rank) {
        auto o = small_options();
        o.rank = rank;
        o.world = 2;
        auto s = tasks::ImageTextStream::csv(table, {}, data::Tokenizer{}, 16, o);
        for (int r : read_rows(s, 1, kRows / 2)) seen.push_back(r);
    }
    std::sort(seen.begin(), seen.end());
    std::vector<int> all(kRows);
    std::iota(all.begin(), all.end(), 0);
    CHECK(seen == all);
    auto bad = small_options();
    bad.rank = 2;
    bad.world = 2;
    CHECK_THROWS_WITH_AS(tasks::ImageTextStream::csv(table, {}, data::Tokenizer{}, 16, bad), doctest::Contains("rank 2"), Error);
}

TEST_CASE("ImageTextStream: a table with no usable image is one clear error, not an endless loop") {
    test::TempDir dir("image_text");
    write_file(dir / "a.png", "garbage");
    write_file(dir / "t.csv", "filepath,title\na.png,one\nmissing.png,two\n");
    auto s = tasks::ImageTextStream::csv(dir / "t.csv", {}, data::Tokenizer{}, 16, small_options());
    CHECK_THROWS_WITH_AS(s.next(1), doctest::Contains("no usable sample in epoch 0 (2 skipped"), Error);
    write_file(dir / "empty.csv", "filepath,title\n");
    CHECK_THROWS_WITH_AS(tasks::ImageTextStream::csv(dir / "empty.csv", {}, data::Tokenizer{}, 16, small_options()),
                         doctest::Contains("has no rows"), Error);
}

TEST_CASE("ImageTextStream over WebDataset shards: counted, shuffled per epoch, a corrupt image skipped") {
    test::TempDir dir("image_text");
    for (int shard = 0; shard < 3; ++shard) {
        std::vector<test::TarMember> members;
        for (int k = 0; k < 4; ++k) {
            const int i = 4 * shard + k;
            const std::string key = "s" + std::to_string(i);
            members.push_back({key + ".png", png_of(i)});
            members.push_back({key + ".txt", caption_of(i)});
        }
        if (shard == 1) {
            members.push_back({"bad.jpg", "\xFF\xD8 truncated"});
            members.push_back({"bad.txt", "a corrupt image"});
        }
        test::write_tar(dir / ("shard-" + std::to_string(shard) + ".tar"), members);
    }
    const std::string pattern = (dir / "shard-{0..2}.tar").string();
    auto stream = tasks::ImageTextStream::webdataset(pattern, data::Tokenizer{}, 16, small_options());
    CHECK(stream.size() == kRows + 1);  // the counting pass sees the corrupt sample as a sample
    const auto first = read_rows(stream, 1, kRows), second = read_rows(stream, 1, kRows);
    CHECK(std::set<int>(first.begin(), first.end()).size() == std::size_t(kRows));
    CHECK(std::set<int>(second.begin(), second.end()).size() == std::size_t(kRows));
    CHECK(first != second);
    CHECK(stream.stats().skipped >= 1);

    auto again = tasks::ImageTextStream::webdataset(pattern, data::Tokenizer{}, 16, small_options(0));
    CHECK(read_rows(again, 1, kRows) == first);  // the order is the seed's, not the threads'
    auto known = small_options();
    known.samples_per_epoch = 13;  // no counting pass
    auto given = tasks::ImageTextStream::webdataset(pattern, data::Tokenizer{}, 16, known);
    CHECK(given.captions().empty());
    CHECK(read_rows(given, 1, kRows) == first);
    CHECK_THROWS_AS(tasks::ImageTextStream::webdataset((dir / "none-{0..1}.tar").string(), data::Tokenizer{}, 16, small_options()),
                    Error);
}

TEST_CASE("training on a caption table: resumed in the middle, bit-identical to the run straight through") {
    test::TempDir dir("image_text");
    const auto table = write_table(dir, false);
    auto config = model::preset("tiny");
    const data::Tokenizer tokenizer;
    config.text.vocab_size = tokenizer.vocab_size();
    config.text.context_length = 16;
    train::Options o;
    o.batch_size = 4;
    o.max_steps = 8;  // almost three epochs of 3 steps
    o.warmup_steps = 2;
    o.seed = 5;

    model::OpenAiClip<double, cpu> straight(config, 1);
    optim::AdamW<double, cpu> straight_opt(straight);
    auto whole = tasks::ImageTextStream::csv(table, {}, tokenizer, 16, small_options());
    const auto end = train::fit(straight, straight_opt, whole, o, {});
    CHECK(end.step == 8);

    model::OpenAiClip<double, cpu> resumed(config, 1);
    optim::AdamW<double, cpu> resumed_opt(resumed);
    train::State state;
    {
        auto first_part = tasks::ImageTextStream::csv(table, {}, tokenizer, 16, small_options());
        auto part = o;
        std::atomic<bool> stop{false};
        part.stop = &stop;  // stopped after step 4, as an interrupted run is
        train::Hooks hooks;
        hooks.on_step = [&](const train::StepRecord& r, const train::State&) { stop = r.step == 4; };
        state = train::fit(resumed, resumed_opt, first_part, part, hooks);
        REQUIRE(state.step == 4);
    }
    auto second_part = tasks::ImageTextStream::csv(table, {}, tokenizer, 16, small_options(1));  // a new stream: seek
    train::fit(resumed, resumed_opt, second_part, o, {}, state);
    std::map<std::string, Tensor<double>> a;
    straight.visit_parameters([&](const std::string& name, Parameter<double, cpu>& p) { a[name] = p.value().clone(); });
    std::size_t compared = 0;
    resumed.visit_parameters([&](const std::string& name, Parameter<double, cpu>& p) {
        const auto& x = a.at(name);
        const auto& y = p.value();
        CHECK_MESSAGE(std::equal(x.data(), x.data() + x.numel(), y.data()), name);
        ++compared;
    });
    CHECK(compared == a.size());
}
