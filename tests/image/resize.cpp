// Pillow-exact bicubic resize, torchvision's Resize/CenterCrop arithmetic, and normalisation:
// golden results from tests/golden/make_image_golden.py (PIL 9.4), and a plain double-precision
// reference for the fixed-point arithmetic.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

#include "image_test_util.hpp"

using namespace contra;
using namespace contra::test;

namespace {

struct Golden {
    nlohmann::json manifest;
    Bytes blob;
    Golden()
        : manifest(nlohmann::json::parse(read_file(golden_path("image_golden.json")))),
          blob(read_file(golden_path("image_golden.bin"))) {}

    Image expected(const nlohmann::json& c) const {
        const std::size_t offset = c.at("offset"), bytes = c.at("bytes");
        REQUIRE(offset + bytes <= blob.size());
        Image img{c.at("width").get<int>(), c.at("height").get<int>(), c.at("channels").get<int>(),
                  Bytes(blob.begin() + long(offset), blob.begin() + long(offset + bytes))};
        data::check_image(img, "golden");
        return img;
    }
    std::vector<double> normalized() const {
        const auto& n = manifest.at("normalized");
        const std::size_t offset = n.at("offset"), count = n.at("count");
        REQUIRE(offset + 8 * count <= blob.size());
        std::vector<double> v(count);
        for (std::size_t i = 0; i < count; ++i) {  // float64, little-endian
            std::uint64_t bits = 0;
            for (int b = 7; b >= 0; --b) bits = (bits << 8) | blob[offset + 8 * i + std::size_t(b)];
            std::memcpy(&v[i], &bits, 8);
        }
        return v;
    }
};

Image load_rgb(const std::string& file) { return data::to_rgb(data::read_image(golden_path(file))); }

// Reference: the same antialiased Keys-cubic filter written the obvious way in double precision,
// with no fixed point. Between the passes it clamps to 0..255 as Pillow's 8-bit intermediate does,
// and rounds there only when round_between is set.
std::vector<std::vector<std::pair<int, double>>> reference_weights(int in, int out) {
    const double scale = double(in) / out, stretch = std::max(scale, 1.0), support = 2.0 * stretch;
    auto cubic = [](double x) {
        x = std::abs(x);
        if (x < 1) return 1.5 * x * x * x - 2.5 * x * x + 1;
        if (x < 2) return -0.5 * x * x * x + 2.5 * x * x - 4 * x + 2;
        return 0.0;
    };
    std::vector<std::vector<std::pair<int, double>>> weights{std::size_t(out)};
    for (int o = 0; o < out; ++o) {
        const double center = (o + 0.5) * scale;  // in input pixel units, pixel j covers [j, j+1)
        double total = 0;
        for (int j = std::max(0, int(std::floor(center - support)) - 1); j < std::min(in, int(std::ceil(center + support)) + 1); ++j) {
            const double w = cubic((j + 0.5 - center) / stretch);
            if (w != 0) weights[std::size_t(o)].push_back({j, w}), total += w;
        }
        for (auto& [j, w] : weights[std::size_t(o)]) w /= total;
    }
    return weights;
}

Image reference_resize(const Image& img, int width, int height, bool round_between) {
    const int c = img.channels;
    // horizontal (skipped when the width is kept, as Pillow does)
    std::vector<double> mid(std::size_t(img.height) * std::size_t(width) * std::size_t(c));
    const auto wx = reference_weights(img.width, width);
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < width; ++x)
            for (int ch = 0; ch < c; ++ch) {
                double s = 0;
                if (width == img.width)
                    s = img.at(y, x, ch);
                else
                    for (auto [j, w] : wx[std::size_t(x)]) s += w * img.at(y, j, ch);
                s = std::clamp(s, 0.0, 255.0);
                mid[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * std::size_t(c) + std::size_t(ch)] =
                    round_between ? std::round(s) : s;
            }
    const auto wy = reference_weights(img.height, height);
    Image out{width, height, c, Bytes(std::size_t(width) * std::size_t(height) * std::size_t(c))};
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int ch = 0; ch < c; ++ch) {
                double s = 0;
                if (height == img.height)
                    s = mid[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * std::size_t(c) + std::size_t(ch)];
                else
                    for (auto [j, w] : wy[std::size_t(y)])
                        s += w * mid[(std::size_t(j) * std::size_t(width) + std::size_t(x)) * std::size_t(c) + std::size_t(ch)];
                out.pixels[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * std::size_t(c) + std::size_t(ch)] =
                    std::uint8_t(std::lround(std::clamp(s, 0.0, 255.0)));
            }
    return out;
}

}  // namespace

TEST_CASE("resize, Resize + CenterCrop and resized_crop match Pillow exactly") {
    const Golden golden;
    int cases = 0;
    for (const auto& c : golden.manifest.at("cases")) {
        const std::string name = c.at("name"), op = c.at("op");
        CAPTURE(name);
        const Image input = load_rgb(c.at("file"));
        const Image expected = golden.expected(c);
        Image got;
        if (op == "resize") {
            got = data::resize_bicubic(input, c.at("target")[0].get<int>(), c.at("target")[1].get<int>());
        } else if (op == "resize_center_crop") {
            const int size = c.at("size");
            got = data::resize_center_crop(input, size);
            // the two-step version materialises the whole resize and must agree
            CHECK(max_abs_diff(data::center_crop(data::resize_shorter_side(input, size), size), got) == 0);
        } else if (op == "resized_crop") {
            const auto& b = c.at("box");
            const data::CropBox box{b[0].get<int>(), b[1].get<int>(), b[2].get<int>(), b[3].get<int>()};
            const int size = c.at("size");
            got = data::resize_bicubic(data::crop(input, box), size, size);
        } else {
            FAIL("unknown op ", op);
        }
        CHECK(max_abs_diff(got, expected) == 0);
        ++cases;
    }
    CHECK(cases >= 10);
}

TEST_CASE("the normalised tensor matches torchvision's ToTensor + Normalize in float64 and float32") {
    const Golden golden;
    const auto expected = golden.normalized();
    const int size = golden.manifest.at("normalized").at("size");
    REQUIRE(expected.size() == std::size_t(3 * size * size));

    const auto t64 = data::preprocess<double>(data::read_image(golden_path("image_a.png")), size);
    CHECK(t64.shape() == Shape{3, size, size});
    const auto t32 = data::preprocess_file<float>(golden_path("image_a.png"), size);
    CHECK(t32.shape() == Shape{3, size, size});
    double worst64 = 0, worst32 = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        worst64 = std::max(worst64, std::abs(t64[std::int64_t(i)] - expected[i]));
        worst32 = std::max(worst32, std::abs(double(t32[std::int64_t(i)]) - expected[i]));
    }
    CHECK(worst64 < 1e-12);
    CHECK(worst32 < 1e-6);

    // Spot values: pixel 0 maps to -mean/std, 255 to (1-mean)/std.
    const Image extremes{2, 1, 3, {0, 0, 0, 255, 255, 255}};
    const auto e = data::image_to_tensor<double>(extremes);
    CHECK(e.shape() == Shape{3, 1, 2});
    for (int c = 0; c < 3; ++c) {
        CHECK(e.at(c, 0, 0) == doctest::Approx(-data::kClipMean[std::size_t(c)] / data::kClipStd[std::size_t(c)]).epsilon(1e-14));
        CHECK(e.at(c, 0, 1) ==
              doctest::Approx((1 - data::kClipMean[std::size_t(c)]) / data::kClipStd[std::size_t(c)]).epsilon(1e-14));
    }
}

TEST_CASE("preprocess_into fills a batch in place, channel-major") {
    const int size = 12;
    const Image a = load_rgb("image_a.png"), d = data::read_image(golden_path("image_d.png"));  // RGB and grey
    auto batch = Tensor<float, cpu>::empty(Shape{2, 3, size, size});
    data::preprocess_into(a, size, batch.data());
    data::preprocess_into(d, size, batch.data() + 3 * size * size);
    const auto ta = data::preprocess(a, size), td = data::preprocess(d, size);
    CHECK(batch.row(0).to_vector() == ta.to_vector());
    CHECK(batch.row(1).to_vector() == td.to_vector());
    // grey: the three planes differ only by the per-channel mean/std
    const auto crop = data::resize_center_crop(d, size);
    CHECK(crop.channels == 1);
    for (int c = 0; c < 3; ++c)
        CHECK(td.at(c, 5, 7) == float((float(crop.at(5, 7, 0)) / 255.0f - float(data::kClipMean[std::size_t(c)])) /
                                      float(data::kClipStd[std::size_t(c)])));
}

TEST_CASE("fixed-point result is within one level of a double-precision reference") {
    struct Case {
        Image img;
        int w, h;
    };
    const Image a = load_rgb("image_a.png"), b = load_rgb("image_b.png"), c = load_rgb("image_c.png");
    const std::vector<Case> cases = {
        {a, 25, 16}, {a, 16, 16}, {a, 80, 50}, {a, 37, 9},  {b, 48, 32}, {b, 7, 5},  {b, 301, 199},
        {b, 150, 300}, {c, 28, 20}, {c, 5, 4}, {pattern_image(50, 40, 3, 3), 17, 23}, {pattern_image(9, 31, 1, 4), 40, 6},
    };
    for (const auto& k : cases) {
        CAPTURE(k.img.width);
        CAPTURE(k.img.height);
        CAPTURE(k.w);
        CAPTURE(k.h);
        const Image fixed = data::resize_bicubic(k.img, k.w, k.h);
        // Unrounded intermediate: Pillow's extra rounding costs at most one level.
        CHECK(max_abs_diff(fixed, reference_resize(k.img, k.w, k.h, false)) <= 1);
        // Rounded intermediate: only the 22-bit weights differ, so nearly every byte is identical.
        const Image reference = reference_resize(k.img, k.w, k.h, true);
        CHECK(max_abs_diff(fixed, reference) <= 1);
        std::size_t off = 0;
        for (std::size_t i = 0; i < fixed.pixels.size(); ++i) off += fixed.pixels[i] != reference.pixels[i];
        CHECK(double(off) <= 0.01 * double(fixed.pixels.size()));
    }
}

TEST_CASE("resize keeps constants constant and an unchanged size is a copy") {
    for (std::uint8_t v : {std::uint8_t(0), std::uint8_t(1), std::uint8_t(128), std::uint8_t(254), std::uint8_t(255)}) {
        const Image flat{31, 17, 3, Bytes(31 * 17 * 3, v)};
        for (auto [w, h] : {std::pair{5, 3}, std::pair{64, 40}, std::pair{31, 4}, std::pair{2, 17}}) {
            const Image r = data::resize_bicubic(flat, w, h);
            CHECK(r.width == w);
            CHECK(r.height == h);
            CHECK(std::all_of(r.pixels.begin(), r.pixels.end(), [v](std::uint8_t p) { return p == v; }));
        }
    }
    const Image img = pattern_image(13, 7, 3);
    CHECK(data::resize_bicubic(img, 13, 7).pixels == img.pixels);
}

TEST_CASE("any region of a resize equals the same region of the full resize") {
    const Image b = load_rgb("image_b.png");
    const Image full = data::resize_bicubic(b, 97, 61);
    for (const data::CropBox box : {data::CropBox{0, 0, 61, 97}, data::CropBox{3, 5, 10, 20}, data::CropBox{60, 96, 1, 1},
                                     data::CropBox{20, 0, 7, 97}, data::CropBox{0, 40, 61, 3}})
        CHECK(max_abs_diff(data::resize_bicubic_region(b, 97, 61, box), data::crop(full, box)) == 0);
    // a very long strip: only the centre crop is ever computed
    const Image strip = pattern_image(4000, 2, 3, 9);
    const Image cropped = data::resize_center_crop(strip, 8);
    CHECK(cropped.width == 8);
    CHECK(cropped.height == 8);
    CHECK(max_abs_diff(cropped, data::center_crop(data::resize_shorter_side(strip, 8), 8)) == 0);
}

TEST_CASE("torchvision's Resize and CenterCrop arithmetic") {
    using P = std::pair<int, int>;
    CHECK(data::shorter_side_size(37, 23, 16) == P{25, 16});  // int(16·37/23) = int(25.74)
    CHECK(data::shorter_side_size(23, 37, 16) == P{16, 25});
    CHECK(data::shorter_side_size(300, 200, 224) == P{336, 224});
    CHECK(data::shorter_side_size(640, 480, 224) == P{298, 224});  // 298.67 truncated
    CHECK(data::shorter_side_size(50, 50, 224) == P{224, 224});
    CHECK(data::shorter_side_size(1, 16384, 224) == P{224, 224 * 16384});

    // top/left = round((extent - size) / 2) with halves to even
    auto box = data::center_crop_box(25, 16, 16);  // 4.5 -> 4
    CHECK(box.left == 4);
    CHECK(box.top == 0);
    CHECK(data::center_crop_box(23, 16, 16).left == 4);  // 3.5 -> 4
    CHECK(data::center_crop_box(27, 16, 16).left == 6);  // 5.5 -> 6
    CHECK(data::center_crop_box(16, 29, 16).top == 6);   // 6.5 -> 6
    CHECK(data::center_crop_box(16, 26, 16).top == 5);
    box = data::center_crop_box(298, 224, 224);
    CHECK(box.left == 37);
    CHECK(box.width == 224);
    CHECK(box.height == 224);
}
