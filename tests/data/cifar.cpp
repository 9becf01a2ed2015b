// CIFAR-10/100 binary reader: synthetic files read back pixel for pixel; truncated files, empty
// files and labels out of range are errors naming the file.
#include <doctest/doctest.h>

#include <contra/data/cifar.hpp>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"

using namespace contra;
using namespace contra::data;

namespace {
using Bytes = std::vector<std::uint8_t>;

// The pixel byte of (image, channel, position) in the synthetic files.
std::uint8_t pixel(int image, int channel, int position) { return std::uint8_t((image * 31 + channel * 97 + position * 7) % 256); }

// A file of records with the given labels (CIFAR-100: coarse = fine / 5).
Bytes records(CifarKind kind, const std::vector<int>& labels) {
    Bytes out;
    for (int i = 0; i < int(labels.size()); ++i) {
        if (kind == CifarKind::cifar100) out.push_back(std::uint8_t(labels[std::size_t(i)] / 5));
        out.push_back(std::uint8_t(labels[std::size_t(i)]));
        for (int c = 0; c < 3; ++c)
            for (int p = 0; p < 1024; ++p) out.push_back(pixel(i, c, p));
    }
    return out;
}

std::string as_string(const Bytes& b) { return std::string(b.begin(), b.end()); }
}  // namespace

TEST_CASE("cifar: CIFAR-10 records read back, labels and planes, and as interleaved RGB images") {
    const test::TempDir dir("cifar10");
    test::write_file(dir / "test_batch.bin", as_string(records(CifarKind::cifar10, {3, 0, 9})));
    CHECK(cifar_test_file(dir.path(), CifarKind::cifar10) == dir / "test_batch.bin");
    const auto c = read_cifar(cifar_test_file(dir.path(), CifarKind::cifar10), CifarKind::cifar10);
    REQUIRE(c.size() == 3);
    CHECK(c.labels == std::vector<std::int32_t>{3, 0, 9});
    CHECK(c.coarse_labels.empty());
    CHECK(c.planes.size() == 3 * 3072);
    for (int i = 0; i < 3; ++i) {
        const auto image = c.image(i);
        REQUIRE((image.width == 32 && image.height == 32 && image.channels == 3));
        for (int y : {0, 5, 31})
            for (int x : {0, 17, 31})
                for (int ch = 0; ch < 3; ++ch) {
                    CHECK(image.at(y, x, ch) == pixel(i, ch, y * 32 + x));
                    CHECK(c.planes[std::size_t(i * 3072 + ch * 1024 + y * 32 + x)] == pixel(i, ch, y * 32 + x));
                }
    }
    CHECK_THROWS_AS(c.image(3), Error);
}

TEST_CASE("cifar: CIFAR-100 uses the fine label and keeps the coarse one") {
    const test::TempDir dir("cifar100");
    const auto nested = dir / "cifar-100-binary";
    std::filesystem::create_directories(nested);
    test::write_file(nested / "test.bin", as_string(records(CifarKind::cifar100, {99, 42, 0, 7})));
    const auto file = cifar_test_file(dir.path(), CifarKind::cifar100);  // found one level down
    CHECK(file == nested / "test.bin");
    const auto c = read_cifar(file, CifarKind::cifar100);
    REQUIRE(c.size() == 4);
    CHECK(c.labels == std::vector<std::int32_t>{99, 42, 0, 7});
    CHECK(c.coarse_labels == std::vector<std::int32_t>{19, 8, 0, 1});
    CHECK(c.image(2).at(31, 31, 2) == pixel(2, 2, 1023));
}

TEST_CASE("cifar: a truncated or empty file and labels out of range are errors naming the file") {
    const test::TempDir dir("cifar_bad");
    auto bytes = records(CifarKind::cifar10, {1, 2});
    bytes.pop_back();  // truncated
    test::write_file(dir / "truncated.bin", as_string(bytes));
    const auto truncated = test::error_of([&] { read_cifar(dir / "truncated.bin", CifarKind::cifar10); });
    CHECK(test::contains(truncated, "truncated.bin"));
    CHECK(test::contains(truncated, "not a whole number"));
    // A CIFAR-10 file read as CIFAR-100: 2 · 3073 bytes is not a multiple of 3074.
    test::write_file(dir / "ten.bin", as_string(records(CifarKind::cifar10, {1, 2})));
    CHECK(test::contains(test::error_of([&] { read_cifar(dir / "ten.bin", CifarKind::cifar100); }), "ten.bin"));
    test::write_file(dir / "empty.bin", "");
    CHECK(test::contains(test::error_of([&] { read_cifar(dir / "empty.bin", CifarKind::cifar10); }), "empty"));
    test::write_file(dir / "label.bin", as_string(records(CifarKind::cifar10, {1, 10})));
    const auto label = test::error_of([&] { read_cifar(dir / "label.bin", CifarKind::cifar10); });
    CHECK(test::contains(label, "label.bin"));
    CHECK(test::contains(label, "record 1 has label 10"));
    auto coarse = records(CifarKind::cifar100, {3});
    coarse[0] = 20;
    test::write_file(dir / "coarse.bin", as_string(coarse));
    CHECK(test::contains(test::error_of([&] { read_cifar(dir / "coarse.bin", CifarKind::cifar100); }), "coarse label 20"));
    CHECK(test::contains(test::error_of([&] { read_cifar(dir / "absent.bin", CifarKind::cifar10); }), "absent.bin"));
    CHECK(test::contains(test::error_of([&] { cifar_test_file(dir.path(), CifarKind::cifar10); }), "test_batch.bin"));
}
