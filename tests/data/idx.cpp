// IDX reader: round trips on hand-built files (raw and gzip) and every malformed case.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <contra/data/idx.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/allocation_probe.hpp"
#include "../support/temp_dir.hpp"

using namespace contra;
using namespace contra::data;
namespace fs = std::filesystem;

using contra::test::largest_allocation;
using contra::test::reset_largest_allocation;

namespace {

using test::TempDir;

using Bytes = std::vector<std::uint8_t>;

void put_be32(Bytes& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(std::uint8_t(v >> shift));
}
// image_file(n, rows, cols): magic 0x803, dims, then pixel k of image i = (7·i + k) mod 256.
Bytes image_file(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
    Bytes out;
    put_be32(out, 0x00000803);
    put_be32(out, n), put_be32(out, rows), put_be32(out, cols);
    for (std::uint32_t i = 0; i < n; ++i)
        for (std::uint32_t k = 0; k < rows * cols; ++k) out.push_back(std::uint8_t((7 * i + k) % 256));
    return out;
}
Bytes label_file(const Bytes& labels) {
    Bytes out;
    put_be32(out, 0x00000801);
    put_be32(out, std::uint32_t(labels.size()));
    out.insert(out.end(), labels.begin(), labels.end());
    return out;
}
void write_raw(const fs::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    REQUIRE(out.good());
}
void write_gzip(const fs::path& path, const Bytes& bytes) {
    gzFile f = gzopen(path.string().c_str(), "wb");
    REQUIRE(f != nullptr);
    if (!bytes.empty()) REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
    REQUIRE(gzclose(f) == Z_OK);
}
Bytes read_raw(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("idx: images and labels round trip, raw and gzip") {
    TempDir dir("idx");
    const Bytes images = image_file(3, 4, 5);
    const Bytes labels = label_file({0, 9, 3});
    write_raw(dir / "images", images);
    write_gzip(dir / "images.gz", images);
    write_raw(dir / "labels", labels);
    write_gzip(dir / "labels.gz", labels);

    for (const char* name : {"images", "images.gz"}) {
        CAPTURE(name);
        const IdxImages im = read_idx_images(dir / name);
        CHECK(im.count == 3);
        CHECK(im.rows == 4);
        CHECK(im.cols == 5);
        CHECK(im.source == (dir / name).string());
        REQUIRE(im.pixels.size() == 60);
        CHECK(std::equal(im.pixels.begin(), im.pixels.end(), images.begin() + 16));
        CHECK(im.image(2)[1] == 15);  // 7·2 + 1
    }
    for (const char* name : {"labels", "labels.gz"}) {
        CAPTURE(name);
        const IdxLabels lb = read_idx_labels(dir / name);
        CHECK(lb.values == Bytes{0, 9, 3});
        CHECK_NOTHROW(check_labels_below(lb, 10));
        CHECK_NOTHROW(check_same_count(read_idx_images(dir / "images.gz"), lb));
    }
}

TEST_CASE("idx: an empty set and a single image are valid") {
    TempDir dir("idx");
    write_gzip(dir / "none.gz", image_file(0, 28, 28));
    CHECK(read_idx_images(dir / "none.gz").count == 0);
    write_raw(dir / "one", image_file(1, 1, 1));
    CHECK(read_idx_images(dir / "one").pixels == Bytes{0});
    write_raw(dir / "nolabels", label_file({}));
    CHECK(read_idx_labels(dir / "nolabels").count() == 0);
}

TEST_CASE("idx: conversion to a normalised float batch") {
    TempDir dir("idx");
    write_raw(dir / "images", image_file(3, 4, 5));
    write_raw(dir / "labels", label_file({0, 9, 3}));
    const IdxImages im = read_idx_images(dir / "images");
    const Normalization norm{0.5f, 0.25f};

    const std::vector<std::int64_t> pick = {2, 0};
    const auto batch = images_to_tensor(im, pick, norm);
    REQUIRE(batch.shape() == Shape{2, 1, 4, 5});
    for (std::int64_t k = 0; k < 20; ++k) {
        CHECK(batch.at(0, 0, k / 5, k % 5) == doctest::Approx((float(14 + k) / 255.0f - 0.5f) / 0.25f));
        CHECK(batch.at(1, 0, k / 5, k % 5) == doctest::Approx((float(k) / 255.0f - 0.5f) / 0.25f));
    }
    const auto range = images_to_tensor(im, 1, 3, norm);
    REQUIRE(range.shape() == Shape{2, 1, 4, 5});
    CHECK(range.at(0, 0, 0, 0) == doctest::Approx((7.0f / 255.0f - 0.5f) / 0.25f));
    CHECK(images_to_tensor(im, 3, 3, norm).shape() == Shape{0, 1, 4, 5});

    const auto labels = labels_to_tensor(read_idx_labels(dir / "labels"), pick);
    CHECK(labels.to_vector() == std::vector<std::int32_t>{3, 0});

    CHECK_THROWS_WITH_AS(images_to_tensor(im, std::vector<std::int64_t>{3}, norm), doctest::Contains("out of range"), Error);
    CHECK_THROWS_AS(images_to_tensor(im, std::vector<std::int64_t>{-1}, norm), Error);
    CHECK_THROWS_AS(images_to_tensor(im, 2, 4, norm), Error);
    CHECK_THROWS_AS(images_to_tensor(im, pick, Normalization{0.5f, 0.0f}), Error);
    CHECK_THROWS_AS(labels_to_tensor(read_idx_labels(dir / "labels"), std::vector<std::int64_t>{5}), Error);
}

TEST_CASE("idx: pixel_statistics is the exact mean and standard deviation") {
    TempDir dir("idx");
    Bytes file;
    put_be32(file, 0x803), put_be32(file, 1), put_be32(file, 1), put_be32(file, 4);
    for (std::uint8_t p : {0, 255, 0, 255}) file.push_back(p);
    write_raw(dir / "bw", file);
    const auto stats = pixel_statistics(read_idx_images(dir / "bw"));
    CHECK(stats.mean == doctest::Approx(0.5));
    CHECK(stats.std == doctest::Approx(0.5));
}

TEST_CASE("idx: missing file") {
    TempDir dir("idx");
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "absent.gz"),
                         doctest::Contains("absent.gz' does not exist"), Error);
    CHECK_THROWS_AS(read_idx_labels(dir.path()), Error);  // a directory is not a file
}

TEST_CASE("idx: bad magic names the file, the expected and the found value") {
    TempDir dir("idx");
    write_gzip(dir / "images.gz", image_file(2, 2, 2));
    write_raw(dir / "labels", label_file({1, 2}));
    CHECK_THROWS_WITH_AS(read_idx_labels(dir / "images.gz"),
                         doctest::Contains("images.gz': bad magic number, expected 0x00000801 (unsigned-byte labels), "
                                           "found 0x00000803 (images and labels swapped?)"),
                         Error);
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "labels"),
                         doctest::Contains("expected 0x00000803 (unsigned-byte images), found 0x00000801"), Error);

    Bytes floats = image_file(1, 2, 2);
    floats[2] = 0x0D;  // IDX type code of 32-bit floats
    write_raw(dir / "floats", floats);
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "floats"), doctest::Contains("found 0x00000d03"), Error);

    Bytes text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!', '!', '!', '!'};
    write_gzip(dir / "text.gz", text);
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "text.gz"), doctest::Contains("found 0x68656c6c"), Error);
}

TEST_CASE("idx: truncated files") {
    TempDir dir("idx");
    write_raw(dir / "empty", {});
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "empty"),
                         doctest::Contains("is truncated: expected a 4-byte magic number, found 0 bytes"), Error);
    write_gzip(dir / "empty.gz", {});
    CHECK_THROWS_WITH_AS(read_idx_labels(dir / "empty.gz"), doctest::Contains("is truncated"), Error);

    Bytes header = image_file(1, 2, 2);
    header.resize(10);  // magic and one and a half extents
    write_raw(dir / "short-header", header);
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "short-header"),
                         doctest::Contains("expected a 16-byte header, found 10 bytes"), Error);

    Bytes body = image_file(3, 4, 5);
    body.pop_back();
    write_raw(dir / "short", body);
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "short"),
                         doctest::Contains("size mismatch, the header (3 x 4 x 5) needs 76 bytes, found 75 bytes"), Error);
    write_gzip(dir / "short.gz", body);
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "short.gz"),
                         doctest::Contains("is truncated: the header (3 x 4 x 5) needs 76 bytes after decompression, found 75"),
                         Error);

    Bytes labels = label_file({1, 2, 3, 4});
    labels.resize(labels.size() - 2);
    write_gzip(dir / "labels.gz", labels);
    CHECK_THROWS_WITH_AS(read_idx_labels(dir / "labels.gz"), doctest::Contains("needs 12 bytes after decompression, found 10"),
                         Error);
}

TEST_CASE("idx: a gzip stream cut short or corrupted is an error") {
    TempDir dir("idx");
    Bytes images = image_file(20, 28, 28);
    write_gzip(dir / "whole.gz", images);
    const Bytes compressed = read_raw(dir / "whole.gz");
    REQUIRE(compressed.size() > 100);

    write_raw(dir / "cut.gz", Bytes(compressed.begin(), compressed.begin() + std::ptrdiff_t(compressed.size() / 2)));
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "cut.gz"), doctest::Contains("cut.gz"), Error);

    Bytes trailer_off = compressed;
    trailer_off[trailer_off.size() - 6] ^= 0xff;  // the CRC-32 of the trailer no longer matches
    write_raw(dir / "crc.gz", trailer_off);
    CHECK_THROWS_AS(read_idx_images(dir / "crc.gz"), Error);

    Bytes flipped = compressed;
    for (std::size_t i = 20; i < 40; ++i) flipped[i] ^= 0x5a;  // scramble the deflate data
    write_raw(dir / "flipped.gz", flipped);
    CHECK_THROWS_AS(read_idx_images(dir / "flipped.gz"), Error);
}

TEST_CASE("idx: bytes beyond what the header promises") {
    TempDir dir("idx");
    Bytes long_file = image_file(2, 3, 3);
    long_file.push_back(0);
    write_raw(dir / "long", long_file);
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "long"),
                         doctest::Contains("size mismatch, the header (2 x 3 x 3) needs 34 bytes, found 35 bytes"), Error);
    write_gzip(dir / "long.gz", long_file);
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "long.gz"),
                         doctest::Contains("needs 34 bytes after decompression, found more"), Error);
}

TEST_CASE("idx: a header promising huge dimensions in front of a tiny body") {
    TempDir dir("idx");
    Bytes huge;
    put_be32(huge, 0x803);
    put_be32(huge, 0xffffffffu), put_be32(huge, 0xffffffffu), put_be32(huge, 0xffffffffu);  // product overflows 64 bits
    for (int i = 0; i < 64; ++i) huge.push_back(1);
    write_raw(dir / "huge", huge);
    write_gzip(dir / "huge.gz", huge);
    for (const char* name : {"huge", "huge.gz"}) {
        CAPTURE(name);
        reset_largest_allocation();
        CHECK_THROWS_WITH_AS(read_idx_images(dir / name),
                             doctest::Contains("header promises 4294967295 x 4294967295 x 4294967295 bytes of data, more "
                                               "than the limit of 1073741824 bytes"),
                             Error);
        CHECK(largest_allocation() < (std::size_t(1) << 20));
    }

    // Under the cap (1000³ bytes < 1 GiB) but the body has 64 bytes: the reader grows its buffer
    // with the data actually read, so it never asks for the gigabyte the header promised.
    Bytes big;
    put_be32(big, 0x803);
    put_be32(big, 1000), put_be32(big, 1000), put_be32(big, 1000);
    for (int i = 0; i < 64; ++i) big.push_back(2);
    write_raw(dir / "big", big);
    write_gzip(dir / "big.gz", big);
    reset_largest_allocation();
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "big"), doctest::Contains("needs 1000000016 bytes, found 80 bytes"), Error);
    CHECK(largest_allocation() < (std::size_t(1) << 20));
    reset_largest_allocation();
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "big.gz"), doctest::Contains("truncated"), Error);
    CHECK(largest_allocation() <= (std::size_t(2) << 20));

    // A caller's own, lower limit.
    write_raw(dir / "small", image_file(10, 28, 28));
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "small", IdxLimits{1000}), doctest::Contains("more than the limit of 1000"),
                         Error);
    CHECK_NOTHROW(read_idx_images(dir / "small", IdxLimits{7840}));

    Bytes labels;
    put_be32(labels, 0x801);
    put_be32(labels, 0xfffffff0u);
    write_gzip(dir / "labels.gz", labels);
    CHECK_THROWS_WITH_AS(read_idx_labels(dir / "labels.gz"), doctest::Contains("more than the limit"), Error);
}

TEST_CASE("idx: images without pixels are rejected") {
    TempDir dir("idx");
    write_raw(dir / "flat", image_file(5, 0, 28));
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "flat"), doctest::Contains("images of 0 x 28 pixels"), Error);
}

TEST_CASE("idx: label range and image/label count checks") {
    TempDir dir("idx");
    write_raw(dir / "images", image_file(3, 2, 2));
    write_gzip(dir / "labels.gz", label_file({4, 10, 2}));
    write_gzip(dir / "two.gz", label_file({4, 2}));
    const IdxLabels labels = read_idx_labels(dir / "labels.gz");
    CHECK_THROWS_WITH_AS(check_labels_below(labels, 10),
                         doctest::Contains("labels.gz': label 10 of sample 1 out of range, expected a class index below 10"),
                         Error);
    CHECK_NOTHROW(check_labels_below(labels, 11));

    const IdxImages images = read_idx_images(dir / "images");
    CHECK_NOTHROW(check_same_count(images, labels));
    const std::string expected = "IDX count mismatch: expected 3 labels (the images in '" + (dir / "images").string() +
                                 "'), found 2 in '" + (dir / "two.gz").string() + "'";
    CHECK_THROWS_WITH_AS(check_same_count(images, read_idx_labels(dir / "two.gz")), doctest::Contains(expected.c_str()),
                         Error);
}
