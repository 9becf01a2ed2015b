// Training augmentation: torchvision-style RandomResizedCrop, deterministic in (stream, sample).
#include <cmath>
#include <set>
#include <tuple>

#include "image_test_util.hpp"

using namespace contra;
using namespace contra::test;
using data::CropBox;

namespace {
auto key(const CropBox& b) { return std::tuple{b.top, b.left, b.height, b.width}; }
}  // namespace

TEST_CASE("random_resized_crop_box is a pure function of (stream, sample) and varies across samples") {
    const RandomStream stream{42, stream_id("augment")};
    std::set<std::tuple<int, int, int, int>> distinct;
    for (std::uint64_t s = 0; s < 200; ++s) {
        const CropBox a = data::random_resized_crop_box(320, 256, stream, s);
        const CropBox b = data::random_resized_crop_box(320, 256, stream, s);
        CHECK(key(a) == key(b));
        distinct.insert(key(a));
    }
    CHECK(distinct.size() > 150);
    // another seed or stream gives other boxes
    int same = 0;
    for (std::uint64_t s = 0; s < 50; ++s)
        same += key(data::random_resized_crop_box(320, 256, stream, s)) ==
                key(data::random_resized_crop_box(320, 256, RandomStream{43, stream.stream}, s));
    CHECK(same < 10);
}

TEST_CASE("random_resized_crop_box stays inside the image with area and ratio in range") {
    // Aspect ratios inside [3/4, 4/3], where a box with 90 % of the area fits (outside it, every
    // attempt fails and the fallback below applies).
    const RandomStream stream{7, 1};
    for (auto [w, h] : {std::pair{320, 256}, std::pair{256, 320}, std::pair{224, 224}, std::pair{40, 33}, std::pair{500, 400}}) {
        CAPTURE(w);
        CAPTURE(h);
        double lowest = 2, highest = 0;
        for (std::uint64_t s = 0; s < 300; ++s) {
            const CropBox b = data::random_resized_crop_box(w, h, stream, s);
            REQUIRE(b.width > 0);
            REQUIRE(b.height > 0);
            CHECK(b.top >= 0);
            CHECK(b.left >= 0);
            CHECK(b.top + b.height <= h);
            CHECK(b.left + b.width <= w);
            const double fraction = double(b.width) * b.height / (double(w) * h);
            lowest = std::min(lowest, fraction), highest = std::max(highest, fraction);
            // rounding w and h to integers moves the area by at most about one row and one column
            const double slack = (double(b.width) + b.height + 1) / (double(w) * h);
            CHECK(fraction >= 0.9 - slack);
            CHECK(fraction <= 1.0 + slack);
            // w = round(w'), h = round(h') with 3/4 <= w'/h' <= 4/3
            const double bw = b.width, bh = b.height;
            CHECK(bw + 0.5 >= 0.75 * (bh - 0.5));
            CHECK(bw - 0.5 <= 4.0 / 3.0 * (bh + 0.5));
        }
        CHECK(lowest < 0.95);  // the range is actually explored
    }
}

TEST_CASE("random_resized_crop_box falls back to torchvision's central crop") {
    const RandomStream stream{1, 2};
    // 3:2 with scale >= 0.9 needs a ratio >= 1.35 > 4/3: torchvision (and contra) always fall back.
    for (std::uint64_t s = 0; s < 20; ++s)
        CHECK(key(data::random_resized_crop_box(300, 200, stream, s)) == std::tuple{0, 16, 200, 267});
    // 10:1 can never hold a box with ratio <= 4/3 and 90 % of the area: always the fallback.
    for (std::uint64_t s = 0; s < 20; ++s) {
        const CropBox b = data::random_resized_crop_box(100, 10, stream, s);
        CHECK(key(b) == std::tuple{0, 43, 10, 13});  // h = 10, w = round(10 · 4/3) = 13, left = (100 - 13) // 2
    }
    const CropBox tall = data::random_resized_crop_box(10, 100, stream, 0);  // w = 10, h = round(10 / 0.75) = 13
    CHECK(key(tall) == std::tuple{43, 0, 13, 10});
    data::RandomResizedCropOptions none;
    none.attempts = 0;
    CHECK(key(data::random_resized_crop_box(60, 50, stream, 0, none)) == std::tuple{0, 0, 50, 60});  // whole image
    none.scale_min = 0;
    CHECK_THROWS_WITH_AS(data::random_resized_crop_box(60, 50, stream, 0, none), doctest::Contains("invalid options"),
                         Error);
}

TEST_CASE("random_resized_crop is crop then Pillow bicubic to size x size, deterministic") {
    const Image img = data::crop(data::to_rgb(data::read_image(golden_path("image_b.png"))), {0, 40, 200, 230});
    const RandomStream stream{2024, stream_id("train/crop")};
    for (std::uint64_t s : {0ull, 1ull, 99ull, 123456789ull}) {
        const Image out = data::random_resized_crop(img, 24, stream, s);
        CHECK(out.width == 24);
        CHECK(out.height == 24);
        CHECK(out.channels == 3);
        const CropBox box = data::random_resized_crop_box(img.width, img.height, stream, s);
        CHECK(out.pixels == data::resize_bicubic(data::crop(img, box), 24, 24).pixels);
        CHECK(out.pixels == data::random_resized_crop(img, 24, stream, s).pixels);
    }
    CHECK(data::random_resized_crop(img, 24, stream, 0).pixels != data::random_resized_crop(img, 24, stream, 1).pixels);

    const auto t = data::preprocess_train<float>(data::read_image(golden_path("image_e.png")), 16, stream, 5);
    CHECK(t.shape() == Shape{3, 16, 16});
    auto into = Tensor<double, cpu>::empty(Shape{3, 16, 16});
    data::preprocess_train_into(data::read_image(golden_path("image_e.png")), 16, stream, 5, into.data());
    for (std::int64_t i = 0; i < t.numel(); ++i) CHECK(double(t[i]) == doctest::Approx(into[i]).epsilon(1e-6));
}
