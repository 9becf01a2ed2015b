// WebDataset shards: brace expansion, grouping members into samples, counting what is skipped,
// surviving broken shards, and deterministic shuffles.
#include <doctest/doctest.h>

#include <algorithm>
#include <contra/core/random.hpp>
#include <contra/data/webdataset.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "tar_writer.hpp"
#include "../support/temp_dir.hpp"

using namespace contra;
using namespace contra::data;
using contra::test::contains;
using contra::test::error_of;
using test::TarMember;

namespace {

std::vector<std::string> names(const std::vector<std::filesystem::path>& paths) {
    std::vector<std::string> out;
    for (const auto& p : paths) out.push_back(p.string());
    return out;
}


std::vector<WebDatasetSample> read_all(WebDatasetReader& reader) {
    std::vector<WebDatasetSample> out;
    WebDatasetSample s;
    while (reader.next(s)) out.push_back(s);
    return out;
}

std::vector<std::string> keys_of(const std::vector<WebDatasetSample>& samples) {
    std::vector<std::string> out;
    for (const auto& s : samples) out.push_back(s.key);
    return out;
}

// complete_sample(key, image_size): an image and a caption member.
std::vector<TarMember> complete_sample(const std::string& key, std::size_t image_size = 16) {
    return {{key + ".jpg", test::image_bytes(key, image_size)}, {key + ".txt", "caption of " + key}};
}

// write_shards(dir, shards, per_shard): shard-<s>.tar with samples "s<s>_<i>"; returns the paths.
std::vector<std::filesystem::path> write_shards(const test::TempDir& dir, int shards, int per_shard) {
    std::vector<std::filesystem::path> paths;
    for (int s = 0; s < shards; ++s) {
        std::vector<TarMember> members;
        for (int i = 0; i < per_shard; ++i)
            for (auto& m : complete_sample("s" + std::to_string(s) + "_" + std::to_string(i))) members.push_back(m);
        paths.push_back(dir / ("shard-" + std::to_string(s) + ".tar"));
        test::write_tar(paths.back(), members);
    }
    return paths;
}

}  // namespace

TEST_CASE("webdataset: brace ranges keep zero-padding and expand left to right") {
    CHECK(names(expand_shards("data/shard-{000000..000003}.tar")) ==
          std::vector<std::string>{"data/shard-000000.tar", "data/shard-000001.tar", "data/shard-000002.tar",
                                   "data/shard-000003.tar"});
    CHECK(names(expand_shards("{8..11}.tar")) == std::vector<std::string>{"8.tar", "9.tar", "10.tar", "11.tar"});
    CHECK(names(expand_shards("{08..10}")) == std::vector<std::string>{"08", "09", "10"});
    CHECK(names(expand_shards("{3..1}")) == std::vector<std::string>{"3", "2", "1"});
    CHECK(names(expand_shards("a{1..2}b{x,y}.tar")) ==
          std::vector<std::string>{"a1bx.tar", "a1by.tar", "a2bx.tar", "a2by.tar"});
    CHECK(names(expand_shards("one.tar::two-{01..02}.tar::/abs/three.tar")) ==
          std::vector<std::string>{"one.tar", "two-01.tar", "two-02.tar", "/abs/three.tar"});
    CHECK(names(expand_shards("plain.tar")) == std::vector<std::string>{"plain.tar"});
}

TEST_CASE("webdataset: malformed shard patterns are rejected") {
    CHECK(contains(error_of([] { expand_shards("s-{000..001.tar"); }), "never closes"));
    CHECK(contains(error_of([] { expand_shards("s-000}.tar"); }), "without a '{'"));
    CHECK(contains(error_of([] { expand_shards("{a{1,2}}"); }), "nested"));
    CHECK(contains(error_of([] { expand_shards("{abc}"); }), "neither a range"));
    CHECK(contains(error_of([] { expand_shards("{1..x}"); }), "not a range"));
    CHECK(contains(error_of([] { expand_shards("a.tar::"); }), "empty entry"));
    CHECK(contains(error_of([] { expand_shards("{0..99999999}"); }), "limit"));
    CHECK(contains(error_of([] { expand_shards("{0..999}{0..999}", 10000); }), "limit"));
}

TEST_CASE("webdataset: member names split at the first '.' of the file name") {
    auto check = [](std::string_view name, std::string_view key, std::string_view ext) {
        CAPTURE(name);
        const auto split = split_member_name(name);
        REQUIRE(split.has_value());
        CHECK(split->key == key);
        CHECK(split->extension == ext);
    };
    check("abc.jpg", "abc", "jpg");
    check("dir/abc.txt", "dir/abc", "txt");
    check("a.b.c.txt", "a", "b.c.txt");
    check("d.x/e.f.JPG", "d.x/e", "f.JPG");  // a '.' in a folder name does not count
    check("./k.png", "./k", "png");
    CHECK_FALSE(split_member_name("README").has_value());
    CHECK_FALSE(split_member_name("dir/.hidden").has_value());
    CHECK_FALSE(split_member_name("dir.d/noext").has_value());
}

TEST_CASE("webdataset: members group into samples; incomplete ones are skipped and counted") {
    test::TempDir dir("wds_group");
    const auto shard = dir / "s.tar";
    test::write_tar(shard, {
                               {"a.jpg", "JPEG-A"},
                               {"a.txt", "a cat"},
                               {"a.json", "{}"},
                               {"dir", "", true},  // a folder entry: not a member of any sample
                               {"dir/b.PNG", "PNG-B"},
                               {"dir/b.txt", "a dog\n"},
                               {"only_image.jpg", "X"},
                               {"only_caption.txt", "no picture"},
                               {"README", "no key"},
                               {"c.seg.jpg", "not the image"},  // extension "seg.jpg"
                               {"c.txt", "c has no plain jpg"},
                               {"d.webp", "WEBP-D"},
                               {"d.jpeg", "second image, ignored"},
                               {"d.txt", ""},  // an empty caption is still a caption
                               {"e.txt", "first e"},
                               {"e.jpg", "JPEG-E1"},
                               {"e.jpg", "JPEG-E2"},  // a repeated extension starts a new sample
                               {"e.txt", "second e"},
                           });
    WebDatasetReader reader(std::vector<std::filesystem::path>{shard});
    const auto samples = read_all(reader);
    REQUIRE(samples.size() == 5);
    CHECK(keys_of(samples) == std::vector<std::string>{"a", "dir/b", "d", "e", "e"});
    CHECK(std::string(samples[0].image.begin(), samples[0].image.end()) == "JPEG-A");
    CHECK(samples[0].caption == "a cat");
    CHECK(samples[0].image_extension == "jpg");
    CHECK(samples[0].shard == shard.string());
    CHECK(samples[1].image_extension == "png");
    CHECK(samples[1].caption == "a dog\n");
    CHECK(std::string(samples[2].image.begin(), samples[2].image.end()) == "WEBP-D");
    CHECK(samples[2].caption.empty());
    CHECK(samples[3].caption == "first e");
    CHECK(std::string(samples[3].image.begin(), samples[3].image.end()) == "JPEG-E1");
    CHECK(samples[4].caption == "second e");
    CHECK(std::string(samples[4].image.begin(), samples[4].image.end()) == "JPEG-E2");

    const auto& st = reader.stats();
    CHECK(st.samples == 5);
    CHECK(st.skipped_incomplete == 3);  // only_image, only_caption, c
    CHECK(st.ignored_members == 1);     // README
    CHECK(st.shards_completed == 1);
    CHECK(st.shard_errors == 0);
    CHECK(contains(st.summary(), "5 samples"));
}

TEST_CASE("webdataset: members larger than the limit are not read") {
    test::TempDir dir("wds_big");
    const auto shard = dir / "s.tar";
    std::vector<TarMember> members = complete_sample("small", 50);
    for (auto& m : complete_sample("large", 5000)) members.push_back(m);
    test::write_tar(shard, members);
    WebDatasetOptions options;
    options.max_member_bytes = 1000;
    WebDatasetReader reader(std::vector<std::filesystem::path>{shard}, options);
    WebDatasetSample first;
    REQUIRE(reader.next(first));
    CHECK(first.key == "small");
    CHECK(first.image.size() == 50);
    CHECK(first.image.capacity() < 1000);  // sized by what was read, not by a read buffer
    CHECK_FALSE(reader.next(first));
    CHECK(reader.stats().oversized_members == 1);
    CHECK(reader.stats().skipped_incomplete == 1);
}

TEST_CASE("webdataset: a truncated shard keeps its earlier samples and reading goes on") {
    test::TempDir dir("wds_trunc");
    std::vector<TarMember> members;
    for (int i = 0; i < 10; ++i)
        for (auto& m : complete_sample("t" + std::to_string(i), 1000)) members.push_back(m);
    const auto cut = dir / "cut.tar";
    test::write_tar(cut, members);
    // pax layout with short names: per sample 512 + 1024 (image) + 512 + 512 (caption) bytes.
    // Cutting 700 bytes into sample 5 leaves samples 0..4 whole and sample 5's image cut short.
    REQUIRE(std::filesystem::file_size(cut) >= 10 * 2560);
    std::filesystem::resize_file(cut, 5 * 2560 + 700);
    const auto good = dir / "good.tar";
    test::write_tar(good, complete_sample("g0"));

    WebDatasetReader reader(std::vector<std::filesystem::path>{cut, good});
    CHECK(keys_of(read_all(reader)) == std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "g0"});
    const auto& st = reader.stats();
    CHECK(st.shard_errors == 1);
    CHECK(st.shards_completed == 1);
    CHECK(st.skipped_incomplete == 1);  // t5, cut inside its image
    REQUIRE(st.errors.size() == 1);
    CHECK(contains(st.errors[0], cut.string()));
}

TEST_CASE("webdataset: a shard cut inside a header, a non-tar file and a missing file are shard errors") {
    test::TempDir dir("wds_bad");
    std::vector<TarMember> members;
    for (int i = 0; i < 4; ++i)
        for (auto& m : complete_sample("h" + std::to_string(i))) members.push_back(m);
    const auto cut = dir / "cut.tar";
    test::write_tar(cut, members);
    std::filesystem::resize_file(cut, 2 * 2048 + 100);  // 2 samples of 4 blocks, then 100 header bytes
    const auto garbage = dir / "garbage.tar";
    test::write_file(garbage, std::string(3000, 'x') + "this is not a tar file");
    const auto missing = dir / "missing.tar";
    const auto good = dir / "good.tar.gz";
    test::write_tar(good, complete_sample("z"), /*gzip=*/true);

    WebDatasetReader reader(std::vector<std::filesystem::path>{garbage, cut, missing, good});
    CHECK(keys_of(read_all(reader)) == std::vector<std::string>{"h0", "h1", "z"});
    const auto& st = reader.stats();
    CHECK(st.shard_errors == 3);
    CHECK(st.shards_completed == 1);
    REQUIRE(st.errors.size() == 3);
    CHECK(contains(st.errors[0], garbage.string()));
    CHECK(contains(st.errors[1], cut.string()));
    CHECK(contains(st.errors[2], missing.string()));
}

TEST_CASE("webdataset: only when no shard can be read at all is it fatal") {
    test::TempDir dir("wds_none");
    const auto garbage = dir / "garbage.tar";
    test::write_file(garbage, std::string(2048, '\x7f'));
    WebDatasetReader reader(std::vector<std::filesystem::path>{garbage, dir / "missing.tar"});
    WebDatasetSample s;
    const auto e = error_of([&] { reader.next(s); });
    CHECK(contains(e, "none of the 2 shards"));
    CHECK(contains(e, garbage.string()));
    CHECK(contains(e, (dir / "missing.tar").string()));
    CHECK(contains(error_of([] { WebDatasetReader r(std::vector<std::filesystem::path>{}); }), "no shards"));

    // an empty but valid shard is readable: no samples, no error
    const auto empty = dir / "empty.tar";
    test::write_tar(empty, {});
    WebDatasetReader ok(std::vector<std::filesystem::path>{empty, garbage});
    CHECK_FALSE(ok.next(s));
    CHECK(ok.stats().shard_errors == 1);
}

TEST_CASE("webdataset: a brace pattern reads its shards in order") {
    test::TempDir dir("wds_pattern");
    for (int s = 0; s < 3; ++s) {
        char name[32];
        std::snprintf(name, sizeof name, "part-%03d.tar", s);
        test::write_tar(dir / name, complete_sample("p" + std::to_string(s)));
    }
    WebDatasetReader reader((dir / "part-{000..002}.tar").string());
    CHECK(keys_of(read_all(reader)) == std::vector<std::string>{"p0", "p1", "p2"});
}

TEST_CASE("webdataset: shuffles are deterministic in the seed and deliver every sample once") {
    test::TempDir dir("wds_shuffle");
    const auto shards = write_shards(dir, 4, 25);
    std::vector<std::string> all;
    for (int s = 0; s < 4; ++s)
        for (int i = 0; i < 25; ++i) all.push_back("s" + std::to_string(s) + "_" + std::to_string(i));

    auto order = [&](bool shuffle_shards, std::size_t buffer, std::uint64_t seed, std::uint64_t epoch = 0) {
        WebDatasetOptions options;
        options.shuffle_shards = shuffle_shards;
        options.shuffle_buffer = buffer;
        options.seed = seed;
        options.epoch = epoch;
        WebDatasetReader reader(shards, options);
        auto keys = keys_of(read_all(reader));
        CHECK(reader.stats().samples == 100);
        return keys;
    };
    const auto plain = order(false, 0, 1);
    CHECK(plain == all);

    const auto a = order(true, 10, 1);
    CHECK(a == order(true, 10, 1));  // same seed, same order
    CHECK(a != order(true, 10, 2));  // another seed, another order
    CHECK(a != order(true, 10, 1, /*epoch=*/1));
    CHECK(a != plain);
    auto sorted = a;
    std::sort(sorted.begin(), sorted.end());
    auto expected = all;
    std::sort(expected.begin(), expected.end());
    CHECK(sorted == expected);  // every sample exactly once

    // the buffer alone mixes samples within reach of the buffer, in a seed-determined way
    const auto buffered = order(false, 1000, 3);
    CHECK(buffered != plain);
    CHECK(buffered == order(false, 1000, 3));
    CHECK(std::set<std::string>(buffered.begin(), buffered.end()).size() == 100);

    // shard shuffling alone permutes whole shards
    WebDatasetOptions options;
    options.shuffle_shards = true;
    options.seed = 5;
    WebDatasetReader r1(shards, options), r2(shards, options);
    CHECK(r1.shards() == r2.shards());
    auto shard_set = r1.shards();
    std::sort(shard_set.begin(), shard_set.end());
    auto expected_set = shards;
    std::sort(expected_set.begin(), expected_set.end());
    CHECK(shard_set == expected_set);
    bool some_seed_reorders = false;
    for (std::uint64_t seed = 0; seed < 8 && !some_seed_reorders; ++seed) {
        options.seed = seed;
        some_seed_reorders = WebDatasetReader(shards, options).shards() != shards;
    }
    CHECK(some_seed_reorders);
}

namespace {

// forge_size(path, header_offset, size): rewrite the size field of the ustar header at
// header_offset to claim size (< 8 GiB) bytes, with a matching checksum (so only the body is wrong).
void forge_size(const std::filesystem::path& path, std::size_t header_offset, std::uint64_t size) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    char header[512];
    f.seekg(std::streamoff(header_offset));
    f.read(header, 512);
    char field[24];
    std::snprintf(field, sizeof field, "%011llo", static_cast<unsigned long long>(size));
    REQUIRE(std::strlen(field) == 11);  // ustar: 11 octal digits and a NUL
    std::memcpy(header + 124, field, 12);
    std::memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (char c : header) sum += static_cast<unsigned char>(c);
    std::snprintf(header + 148, 8, "%06o", sum);
    header[155] = ' ';
    f.seekp(std::streamoff(header_offset));
    f.write(header, 512);
}

}  // namespace

TEST_CASE("webdataset: a header promising more data than the shard holds is a shard error, not an allocation") {
    test::TempDir dir("wds_forged");
    const auto shard = dir / "forged.tar";
    std::vector<TarMember> members = complete_sample("f0");
    for (auto& m : complete_sample("f1", 100)) members.push_back(m);
    test::write_tar(shard, members);
    forge_size(shard, 2048, std::uint64_t(4) << 30);  // f1.jpg claims 4 GiB: over the limit, then cut short
    forge_size(shard, 0, 40u << 20);                   // f0.jpg claims 40 MiB (under the limit), holds 16 bytes

    WebDatasetReader reader(std::vector<std::filesystem::path>{shard});
    CHECK(read_all(reader).empty());
    CHECK(reader.stats().shard_errors == 1);
    CHECK(reader.stats().skipped_incomplete == 1);
    REQUIRE(reader.stats().errors.size() == 1);
    CHECK(contains(reader.stats().errors[0], shard.string()));
    CHECK(contains(reader.stats().errors[0], "runcated"));  // the body, not a damaged header

    // the 4 GiB claim alone: the member is skipped without reading, then the archive ends early
    test::write_tar(shard, members);
    forge_size(shard, 2048, std::uint64_t(4) << 30);
    WebDatasetReader second(std::vector<std::filesystem::path>{shard});
    CHECK(keys_of(read_all(second)) == std::vector<std::string>{"f0"});
    CHECK(second.stats().shard_errors == 1);
    REQUIRE(second.stats().errors.size() == 1);
    CHECK(contains(second.stats().errors[0], "runcated"));
}

TEST_CASE("webdataset: shards with damaged bytes only ever cost samples") {
    test::TempDir dir("wds_fuzz");
    std::vector<TarMember> members;
    for (int i = 0; i < 6; ++i)
        for (auto& m : complete_sample("m" + std::to_string(i), 700)) members.push_back(m);
    const auto clean = dir / "clean.tar";
    test::write_tar(clean, members);
    std::string bytes;
    {
        std::ifstream in(clean, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    Rng rng(11);
    std::uint64_t total_samples = 0, total_errors = 0;
    for (int trial = 0; trial < 200; ++trial) {
        std::string damaged = bytes;
        const auto flips = 1 + rng.below(8);
        for (std::uint64_t k = 0; k < flips; ++k) damaged[rng.below(damaged.size())] = char(rng.below(256));
        if (trial % 3 == 0) damaged.resize(rng.below(damaged.size()));
        const auto shard = dir / "damaged.tar";
        test::write_file(shard, damaged);
        WebDatasetReader reader(std::vector<std::filesystem::path>{shard, clean});  // the clean one keeps it non-fatal
        const auto samples = read_all(reader);
        CHECK(samples.size() >= 6);
        CHECK(samples.size() <= 12);  // damage loses samples, never invents them
        total_samples += samples.size();
        total_errors += reader.stats().shard_errors;
    }
    CHECK(total_errors > 0);
    CHECK(total_samples > 200 * 6);  // some damaged shards still give samples
}
