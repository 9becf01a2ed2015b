// Decoding PNG and JPEG from memory and from files; RGB conversion; libjpeg-turbo against stb_image
// and against Pillow's decode.
#include <nlohmann/json.hpp>

#include "image_test_util.hpp"

using namespace contra;
using namespace contra::test;
using data::DecodeOptions;
using data::JpegDecoder;

TEST_CASE("PNG with 1 to 4 channels decodes exactly, from memory and from a file") {
    TempDir dir;
    for (int c = 1; c <= 4; ++c) {
        CAPTURE(c);
        const Image original = pattern_image(7, 5, c, 10 + std::uint64_t(c));
        const Bytes png = encode_png(original);
        CHECK(data::detect_image_format(png) == data::ImageFormat::png);

        const auto info = data::image_info(png, "memory png");
        CHECK(info.format == data::ImageFormat::png);
        CHECK(info.width == 7);
        CHECK(info.height == 5);
        CHECK(info.channels == c);

        const Image from_memory = data::decode_image(png, "memory png");
        CHECK(from_memory.width == 7);
        CHECK(from_memory.height == 5);
        CHECK(from_memory.channels == c);
        CHECK(from_memory.pixels == original.pixels);

        const auto path = dir / ("img" + std::to_string(c) + ".png");
        write_file(path, png);
        const Image from_file = data::read_image(path);
        CHECK(from_file.channels == c);
        CHECK(from_file.pixels == original.pixels);
    }
}

TEST_CASE("to_rgb replicates grey and drops alpha like PIL convert(\"RGB\")") {
    Image grey{2, 1, 1, {10, 200}};
    CHECK(data::to_rgb(grey).pixels == Bytes{10, 10, 10, 200, 200, 200});
    Image grey_alpha{2, 1, 2, {10, 0, 200, 77}};
    CHECK(data::to_rgb(grey_alpha).pixels == Bytes{10, 10, 10, 200, 200, 200});
    Image rgba{2, 1, 4, {1, 2, 3, 0, 4, 5, 6, 255}};
    const Image rgb = data::to_rgb(rgba);
    CHECK(rgb.channels == 3);
    CHECK(rgb.width == 2);
    CHECK(rgb.pixels == Bytes{1, 2, 3, 4, 5, 6});
    Image already{1, 1, 3, {9, 8, 7}};
    CHECK(data::to_rgb(already).pixels == already.pixels);
    Image broken{2, 2, 3, {1, 2, 3}};
    CHECK_THROWS_WITH_AS(data::to_rgb(broken), doctest::Contains("holds 3 bytes, expected 12"), Error);
}

TEST_CASE("JPEG decodes to the right size, close to what was encoded") {
    TempDir dir;
    const Image original = smooth_image(40, 24);
    const Bytes jpeg = encode_jpeg(original, 95);
    CHECK(data::detect_image_format(jpeg) == data::ImageFormat::jpeg);
    write_file(dir / "smooth.jpg", jpeg);

    const Image decoded = data::read_image(dir / "smooth.jpg");
    CHECK(decoded.width == 40);
    CHECK(decoded.height == 24);
    CHECK(decoded.channels == 3);
    CHECK(max_abs_diff(decoded, original) <= 12);  // lossy, but a smooth picture survives quality 95

    const Image with_stb = data::decode_image(jpeg, "smooth.jpg", DecodeOptions{.jpeg = JpegDecoder::stb});
    CHECK(max_abs_diff(with_stb, original) <= 12);
}

TEST_CASE("libjpeg-turbo and stb_image agree within a few levels") {
    if (!data::kHaveTurboJpeg) {
        skip("libjpeg-turbo is not linked; nothing to compare stb_image with");
        return;
    }
    for (const auto& img : {smooth_image(64, 48), pattern_image(33, 17, 3, 5)}) {
        const Bytes jpeg = encode_jpeg(img, 90);
        const Image turbo = data::decode_image(jpeg, "t", DecodeOptions{.jpeg = JpegDecoder::turbojpeg});
        const Image stb = data::decode_image(jpeg, "s", DecodeOptions{.jpeg = JpegDecoder::stb});
        CHECK(turbo.channels == 3);
        // Both use exact integer IDCTs and triangular chroma upsampling; they differ in rounding only.
        CHECK(max_abs_diff(turbo, stb) <= 4);
    }
}

TEST_CASE("jpeg_min_side: libjpeg-turbo decodes at the smallest scale still covering the side") {
    if (!data::kHaveTurboJpeg) {
        skip("libjpeg-turbo is not linked; JPEGs decode at full size");
        return;
    }
    const Image original = smooth_image(800, 600);
    const Bytes jpeg = encode_jpeg(original, 95);
    const auto decode = [&](int min_side) {
        return data::decode_image(jpeg, "large.jpg", DecodeOptions{.jpeg_min_side = min_side});
    };
    for (const auto& [min_side, width, height] : {std::tuple{0, 800, 600}, std::tuple{224, 400, 300}, std::tuple{150, 200, 150},
                                                  std::tuple{75, 100, 75}, std::tuple{50, 100, 75}, std::tuple{601, 800, 600}}) {
        CAPTURE(min_side);
        const Image image = decode(min_side);
        CHECK(image.width == width);
        CHECK(image.height == height);
    }
    // After CLIP's preprocessing to 224 the scaled decode stays close to the exact one.
    std::vector<float> exact(3 * 224 * 224), fast(exact.size());
    data::preprocess_into<float>(decode(0), 224, exact.data());
    data::preprocess_into<float>(decode(224), 224, fast.data());
    double worst = 0;
    for (std::size_t i = 0; i < exact.size(); ++i) worst = std::max(worst, double(std::abs(exact[i] - fast[i])));
    MESSAGE("largest difference after preprocessing, exact against 1/2-scale decoding: ", worst);
    CHECK(worst < 0.1);  // in normalised units (a level of 8-bit colour is about 0.015)
    // PNGs are not scaled.
    const Bytes png = encode_png(original);
    CHECK(data::decode_image(png, "large.png", DecodeOptions{.jpeg_min_side = 224}).width == 800);
}

TEST_CASE("JPEG pixels match Pillow's decode (bit for bit with libjpeg-turbo)") {
    const auto manifest = nlohmann::json::parse(read_file(golden_path("image_golden.json")));
    const Bytes blob = read_file(golden_path("image_golden.bin"));
    REQUIRE(manifest.at("jpeg").size() == 2);
    for (const auto& j : manifest.at("jpeg")) {
        const auto path = golden_path(j.at("file").get<std::string>());
        CAPTURE(path);
        const Image decoded = data::read_image(path);
        REQUIRE(decoded.width == j.at("width").get<int>());
        REQUIRE(decoded.height == j.at("height").get<int>());
        REQUIRE(decoded.channels == j.at("channels").get<int>());
        const std::size_t offset = j.at("offset"), bytes = j.at("bytes");
        REQUIRE(offset + bytes <= blob.size());
        const Image pillow{decoded.width, decoded.height, decoded.channels,
                           Bytes(blob.begin() + long(offset), blob.begin() + long(offset + bytes))};
        if (data::kHaveTurboJpeg) CHECK(max_abs_diff(decoded, pillow) == 0);
        const Image stb = data::read_image(path, DecodeOptions{.jpeg = JpegDecoder::stb});
        CHECK(max_abs_diff(stb, pillow) <= 4);
    }
}

TEST_CASE("asking for libjpeg-turbo where it is missing is an error, not a silent fallback") {
    const Bytes jpeg = encode_jpeg(smooth_image(8, 8));
    if (data::kHaveTurboJpeg) {
        CHECK(data::decode_image(jpeg, "x", DecodeOptions{.jpeg = JpegDecoder::turbojpeg}).width == 8);
    } else {
        CHECK_THROWS_WITH_AS(data::decode_image(jpeg, "x", DecodeOptions{.jpeg = JpegDecoder::turbojpeg}),
                             doctest::Contains("built without libjpeg-turbo"), Error);
    }
}
