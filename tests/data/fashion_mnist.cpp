// Fashion-MNIST: the real files when installed (skipped, saying so, when not), and the loader's
// checks on small stand-ins built in a temporary directory.
#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <contra/data/fashion_mnist.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/skip.hpp"
#include "../support/temp_dir.hpp"

using namespace contra;
using namespace contra::data;
namespace fs = std::filesystem;

namespace {

using test::TempDir;

void write_be32(std::ofstream& out, std::uint32_t v) {
    const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    out.write(bytes, 4);
}
// A stand-in split: uncompressed files, n images of rows × cols, the given labels.
void write_split(const fs::path& dir, const std::string& prefix, std::uint32_t n, std::uint32_t rows, std::uint32_t cols,
                 const std::vector<std::uint8_t>& labels) {
    std::ofstream images(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
    write_be32(images, 0x803), write_be32(images, n), write_be32(images, rows), write_be32(images, cols);
    const std::vector<char> pixels(std::size_t(n) * rows * cols, char(100));
    images.write(pixels.data(), std::streamsize(pixels.size()));
    std::ofstream out(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
    write_be32(out, 0x801), write_be32(out, std::uint32_t(labels.size()));
    out.write(reinterpret_cast<const char*>(labels.data()), std::streamsize(labels.size()));
}

}  // namespace

TEST_CASE("fashion-mnist: the installed dataset") {
    if (!fashion_mnist_available()) {
        contra::test::skip("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist "
                           "(Debian package dataset-fashion-mnist); real-data checks not run");
        return;
    }
    const FashionMnist train = load_fashion_mnist(Split::train);
    const FashionMnist test = load_fashion_mnist(Split::test);
    CHECK(train.size() == 60000);
    CHECK(test.size() == 10000);
    CHECK(train.images.rows == 28);
    CHECK(train.images.cols == 28);
    CHECK(train.label(0) == 9);
    CHECK(train.class_name(0) == "ankle boot");
    CHECK(test.label(0) == 9);

    // Both splits are balanced: 6000 and 1000 images per class.
    std::array<int, 10> train_count{}, test_count{};
    for (auto v : train.labels.values) ++train_count[v];
    for (auto v : test.labels.values) ++test_count[v];
    for (int c = 0; c < 10; ++c) {
        CHECK(train_count[std::size_t(c)] == 6000);
        CHECK(test_count[std::size_t(c)] == 1000);
    }

    // The normalisation constants are the training set's own statistics.
    const Normalization stats = pixel_statistics(train.images);
    CHECK(stats.mean == doctest::Approx(kFashionMnistNormalization.mean).epsilon(0.0005));
    CHECK(stats.std == doctest::Approx(kFashionMnistNormalization.std).epsilon(0.0005));

    const std::vector<std::int64_t> pick = {0, 59999, 7};
    const auto batch = train.images_batch(pick);
    REQUIRE(batch.shape() == Shape{3, 1, 28, 28});
    const std::uint8_t* last = train.images.image(59999);
    for (int k = 0; k < 784; ++k)
        REQUIRE(batch.at(1, 0, k / 28, k % 28) == doctest::Approx((last[k] / 255.0f - 0.2860f) / 0.3530f));
    CHECK(train.labels_batch(pick).to_vector() ==
          std::vector<std::int32_t>{9, train.label(59999), train.label(7)});
}

TEST_CASE("fashion-mnist: a missing directory or file says which package installs it") {
    TempDir dir("fmnist");
    const fs::path absent = dir.path() / "nowhere";
    CHECK_FALSE(fashion_mnist_available(absent));
    CHECK_THROWS_WITH_AS(load_fashion_mnist(Split::train, absent),
                         doctest::Contains("nowhere' not found; install the Debian package dataset-fashion-mnist"), Error);

    write_split(dir.path(), "train", 2, 28, 28, {1, 2});
    fs::remove(dir.path() / "train-labels-idx1-ubyte");
    CHECK_FALSE(find_fashion_mnist(Split::train, dir.path()).has_value());
    CHECK_THROWS_WITH_AS(load_fashion_mnist(Split::train, dir.path()),
                         doctest::Contains("file train-labels-idx1-ubyte.gz (or train-labels-idx1-ubyte) not found"), Error);
    CHECK_THROWS_WITH_AS(load_fashion_mnist(Split::test, dir.path()),
                         doctest::Contains("t10k-images-idx3-ubyte.gz (or t10k-images-idx3-ubyte) not found"), Error);
    CHECK_THROWS_WITH_AS(load_fashion_mnist(Split::test, dir.path()), doctest::Contains("dataset-fashion-mnist"), Error);
}

TEST_CASE("fashion-mnist: uncompressed stand-in files load; bad ones are rejected") {
    TempDir dir("fmnist");
    write_split(dir.path(), "train", 3, 28, 28, {0, 9, 4});
    write_split(dir.path(), "t10k", 2, 28, 28, {5, 5});
    CHECK(fashion_mnist_available(dir.path()));
    const FashionMnist train = load_fashion_mnist(Split::train, dir.path());
    CHECK(train.size() == 3);
    CHECK(train.class_name(1) == "ankle boot");
    CHECK(train.class_name(2) == "coat");
    CHECK_THROWS_AS(train.label(3), Error);
    CHECK(load_fashion_mnist(Split::test, dir.path()).size() == 2);

    write_split(dir.path(), "train", 3, 28, 28, {0, 10, 4});
    CHECK_THROWS_WITH_AS(load_fashion_mnist(Split::train, dir.path()), doctest::Contains("label 10 of sample 1 out of range"),
                         Error);
    write_split(dir.path(), "train", 3, 28, 28, {0, 1});
    CHECK_THROWS_WITH_AS(load_fashion_mnist(Split::train, dir.path()), doctest::Contains("expected 3 labels"), Error);
    write_split(dir.path(), "train", 3, 32, 28, {0, 1, 2});
    CHECK_THROWS_WITH_AS(load_fashion_mnist(Split::train, dir.path()),
                         doctest::Contains("expected 28 x 28 images, found 32 x 28"), Error);
}

TEST_CASE("fashion-mnist: class names") {
    CHECK(kFashionMnistClasses.size() == 10);
    CHECK(kFashionMnistClasses[0] == "t-shirt");
    CHECK(kFashionMnistClasses[9] == "ankle boot");
}
