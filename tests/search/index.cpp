// The index file: written and read back whole (fp32 and int8), every truncation and a changed
// byte rejected with a clear error, another format or a newer version named as such; the plan of
// an update (kept, new, changed, removed, still-broken files); the folder listing.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <contra/search/index.hpp>

#include "../support/temp_dir.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {

search::Index small_index(search::Encoding encoding) {
    search::Index index;
    index.model = {"/models/a.safetensors", 1234, "0badf00d", {{"config", {{"embed_dim", 3}}}}};
    index.source = "/photos";
    index.vectors = search::Vectors(encoding, 3);
    const float rows[3][3] = {{1, 0, 0}, {0, 0.6f, 0.8f}, {-0.5f, 0.5f, 0.70710678f}};
    for (int i = 0; i < 3; ++i) {
        index.files.push_back({"/photos/" + std::to_string(i) + ".jpg", std::uint64_t(100 + i), 1'700'000'000'000'000'000 + i});
        index.vectors.push_back(rows[i]);
    }
    index.broken.push_back({{"/photos/bad.png", 7, 42}, "image '/photos/bad.png': unknown format"});
    return index;
}

std::string bytes_of(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("search index file: written and read back exactly, fp32 and int8") {
    const test::TempDir dir("search_index");
    for (const auto encoding : {search::Encoding::f32, search::Encoding::int8}) {
        CAPTURE(search::encoding_name(encoding));
        const auto index = small_index(encoding);
        const auto path = dir / "sub" / "photos.index";
        search::write_index(index, path);
        const auto back = search::read_index(path);
        CHECK(back.model.same_model(index.model));
        CHECK(back.model.path == index.model.path);
        CHECK(back.source == index.source);
        CHECK(back.files == index.files);
        REQUIRE(back.broken.size() == 1);
        CHECK(back.broken[0].file == index.broken[0].file);
        CHECK(back.broken[0].reason == index.broken[0].reason);
        CHECK(back.vectors.encoding() == encoding);
        CHECK(back.vectors.values() == index.vectors.values());
        CHECK(back.vectors.codes() == index.vectors.codes());
        CHECK(back.vectors.scales() == index.vectors.scales());
        const std::string bytes = bytes_of(path);
        std::uint64_t header = 0;
        std::memcpy(&header, bytes.data() + 16, 8);
        CHECK(bytes.size() == 24 + header + 3 * (encoding == search::Encoding::f32 ? 12 : 7) + 4);
    }
    // An empty index (nothing readable yet) is a valid file too.
    search::Index empty;
    empty.vectors = search::Vectors(search::Encoding::f32, 512);
    search::write_index(empty, dir / "empty.index");
    CHECK(search::read_index(dir / "empty.index").vectors.empty());
}

TEST_CASE("search index file: truncated, damaged, foreign or newer files are clear errors") {
    const test::TempDir dir("search_index_bad");
    const auto good = dir / "good.index";
    search::write_index(small_index(search::Encoding::int8), good);
    const std::string bytes = bytes_of(good);
    const auto reject = [&](const std::string& content, const std::string& expected) {
        test::write_file(dir / "bad.index", content);
        const auto message = test::error_of([&] { search::read_index(dir / "bad.index"); });
        CAPTURE(message);
        CHECK(test::contains(message, "is not a readable contra image index"));
        CHECK(test::contains(message, expected));
    };
    for (std::size_t cut = 0; cut < bytes.size(); cut += cut < 40 ? 1 : 7) {
        CAPTURE(cut);
        test::write_file(dir / "bad.index", bytes.substr(0, cut));
        CHECK(test::contains(test::error_of([&] { search::read_index(dir / "bad.index"); }), "is not a readable contra image index"));
    }
    reject(bytes.substr(0, bytes.size() - 5), "truncated");
    reject(bytes + "x", "extra bytes at the end");
    for (const std::size_t at : {bytes.size() - 30, bytes.size() - 2}) {  // a vector byte, the checksum
        std::string damaged = bytes;
        damaged[at] = char(damaged[at] ^ 0x10);
        reject(damaged, "checksum does not match");
    }
    std::string other = bytes;
    other[0] = 'X';
    reject(other, "does not start with CONTRAIX");
    std::string newer = bytes;
    newer[8] = 2;
    reject(newer, "format version 2; this contra reads version 1");
    std::string header = bytes;
    header.replace(header.find("\"format\""), 8, "\"fxrmat\"");
    reject(header, "its header is not what version 1 writes");
    CHECK(test::contains(test::error_of([&] { search::read_index(dir / "missing.index"); }), "no such file"));
}

TEST_CASE("search::plan_update: unchanged rows kept, new and changed files embedded, removed ones dropped") {
    const auto old = small_index(search::Encoding::f32);
    auto now = old.files;
    now[1].mtime_ns += 1;                         // changed
    now.erase(now.begin() + 2);                   // removed
    now.push_back({"/photos/new.jpg", 5, 6});     // new
    now.push_back(old.broken[0].file);            // broken, unchanged
    const auto plan = search::plan_update(&old, now);
    CHECK(plan.keep == std::vector<std::int64_t>{0});
    REQUIRE(plan.embed.size() == 2);
    CHECK(plan.embed[0] == now[1]);
    CHECK(plan.embed[1].path == "/photos/new.jpg");
    REQUIRE(plan.still_broken.size() == 1);
    CHECK(plan.still_broken[0].reason == old.broken[0].reason);
    CHECK(plan.removed == 1);
    CHECK(plan.changed == 1);

    // A broken file that changed is tried again; with no index, everything is new.
    now.back().size += 1;
    CHECK(search::plan_update(&old, now).embed.size() == 3);
    CHECK(search::plan_update(nullptr, now).embed.size() == now.size());
    CHECK(search::plan_update(&old, {}).removed == 4);
}

TEST_CASE("search::list_image_files and stamp_file: images under a folder tree, sorted, with size and time") {
    const test::TempDir dir("search_list");
    fs::create_directories(dir / "a" / "b");
    for (const char* name : {"a/b/z.JPG", "a/x.png", "c.jpeg", "notes.txt", "a/b/y.gif"}) test::write_file(dir / name, "12345");
    const auto files = search::list_image_files(dir.path());
    REQUIRE(files.size() == 3);
    CHECK(files[0] == dir / "a/b/z.JPG");
    CHECK(files[1] == dir / "a/x.png");
    CHECK(files[2] == dir / "c.jpeg");
    const auto stamp = search::stamp_file(files[1]);
    CHECK(stamp.path == (dir / "a/x.png").string());
    CHECK(stamp.size == 5);
    CHECK(stamp.mtime_ns > 0);
    CHECK(test::contains(test::error_of([&] { search::list_image_files(dir / "c.jpeg"); }), "is not a folder"));
    CHECK(test::contains(test::error_of([&] { search::stamp_file(dir / "none.png"); }), "cannot examine"));
}
