// tests/image/image_test_util.hpp — helpers for the image tests: temp folders, synthetic images,
// PNG/JPEG encoding with stb_image_write, the golden files.
#pragma once
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <contra/core/random.hpp>
#include <contra/data/image.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../support/skip.hpp"

namespace contra::test {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using data::Image;

// TempDir: a fresh directory, removed with everything in it at the end of the test.
struct TempDir {
    fs::path path;
    TempDir() {
        static int serial = 0;
        path = fs::temp_directory_path() /
               ("contra-test-image-" + std::to_string(::getpid()) + "-" + std::to_string(serial++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path operator/(const std::string& name) const { return path / name; }
};

// pattern_image(w, h, c, seed): pixel bytes from Philox, so every run and machine agrees.
inline Image pattern_image(int w, int h, int c, std::uint64_t seed = 1) {
    Image img{w, h, c, {}};
    img.pixels.resize(std::size_t(w) * std::size_t(h) * std::size_t(c));
    const RandomStream rs{seed, 0x1a6e};
    for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = std::uint8_t(rs.below(i, 256));
    return img;
}

// smooth_image(w, h): an RGB image of gentle gradients (JPEG-friendly).
inline Image smooth_image(int w, int h) {
    Image img{w, h, 3, {}};
    img.pixels.resize(std::size_t(w) * std::size_t(h) * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            std::uint8_t* p = img.row(y) + std::size_t(x) * 3;
            p[0] = std::uint8_t(40 + 170 * x / w);
            p[1] = std::uint8_t(30 + 180 * y / h);
            p[2] = std::uint8_t(200 - 120 * (x + y) / (w + h));
        }
    return img;
}

inline void append_bytes(void* context, void* data, int size) {
    auto* out = static_cast<Bytes*>(context);
    const auto* p = static_cast<const std::uint8_t*>(data);
    out->insert(out->end(), p, p + size);
}

inline Bytes encode_png(const Image& img) {
    Bytes out;
    REQUIRE(stbi_write_png_to_func(append_bytes, &out, img.width, img.height, img.channels, img.pixels.data(),
                                   int(img.row_bytes())) != 0);
    return out;
}
inline Bytes encode_jpeg(const Image& img, int quality = 95) {
    Bytes out;
    REQUIRE(stbi_write_jpg_to_func(append_bytes, &out, img.width, img.height, img.channels, img.pixels.data(),
                                   quality) != 0);
    return out;
}

inline void write_file(const fs::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    REQUIRE(out.good());
}

inline Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline fs::path golden_path(const std::string& name) { return fs::path(CONTRA_SOURCE_DIR) / "tests" / "golden" / name; }

// max_abs_diff(a, b): the largest per-byte difference of two equally shaped images.
inline int max_abs_diff(const Image& a, const Image& b) {
    REQUIRE(a.width == b.width);
    REQUIRE(a.height == b.height);
    REQUIRE(a.channels == b.channels);
    REQUIRE(a.pixels.size() == b.pixels.size());
    int worst = 0;
    for (std::size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
    return worst;
}

}  // namespace contra::test
