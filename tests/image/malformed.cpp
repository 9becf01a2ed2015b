// Malformed image data: every case is a contra::Error naming the source and the reason, never a
// crash, and a header that promises gigabytes costs no allocation.
#include <zlib.h>

#include "../support/allocation_probe.hpp"
#include "image_test_util.hpp"

using namespace contra;
using namespace contra::test;
using data::DecodeOptions;
using data::JpegDecoder;

namespace {

void put_be32(Bytes& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + std::size_t(i)] = std::uint8_t(v >> (24 - 8 * i));
}

// with_png_size(png, w, h, fix_crc): the PNG with IHDR's width and height replaced (IHDR data
// starts at byte 16: 8 signature + 4 length + 4 type), its CRC recomputed or left stale.
Bytes with_png_size(Bytes png, std::uint32_t w, std::uint32_t h, bool fix_crc) {
    REQUIRE(png.size() > 33);
    REQUIRE(std::string(png.begin() + 12, png.begin() + 16) == "IHDR");
    put_be32(png, 16, w);
    put_be32(png, 20, h);
    if (fix_crc) put_be32(png, 29, std::uint32_t(crc32(0, png.data() + 12, 17)));
    return png;
}

// with_jpeg_size(jpeg, w, h): the baseline SOF0 frame header's dimensions replaced.
Bytes with_jpeg_size(Bytes jpeg, std::uint16_t w, std::uint16_t h) {
    for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
        if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {  // FFC0, length(2), precision(1), height(2), width(2)
            jpeg[i + 5] = std::uint8_t(h >> 8), jpeg[i + 6] = std::uint8_t(h);
            jpeg[i + 7] = std::uint8_t(w >> 8), jpeg[i + 8] = std::uint8_t(w);
            return jpeg;
        }
    }
    FAIL("no SOF0 marker");
    return jpeg;
}

Bytes random_bytes(std::size_t n, std::uint64_t seed) {
    Bytes out(n);
    const RandomStream rs{seed, 99};
    for (std::size_t i = 0; i < n; ++i) out[i] = std::uint8_t(rs.below(i, 256));
    return out;
}

}  // namespace

TEST_CASE("empty, unknown and random data are rejected with the label and the reason") {
    CHECK_THROWS_WITH_AS(data::decode_image(Bytes{}, "shard-3/000017.jpg"),
                         doctest::Contains("image 'shard-3/000017.jpg': no data (0 bytes)"), Error);
    CHECK_THROWS_WITH_AS(data::decode_image(random_bytes(1000, 1), "noise"),
                         doctest::Contains("image 'noise': unknown format"), Error);
    const Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
    CHECK_THROWS_WITH_AS(data::decode_image(gif, "anim.gif"), doctest::Contains("neither PNG nor JPEG"), Error);

    // A valid signature in front of noise: the header is corrupt.
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
        Bytes png = random_bytes(300, seed);
        const Bytes signature = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
        std::copy(signature.begin(), signature.end(), png.begin());
        CHECK_THROWS_WITH_AS(data::decode_image(png, "fake.png"), doctest::Contains("image 'fake.png': corrupt"), Error);

        Bytes jpeg = random_bytes(300, seed + 1000);
        jpeg[0] = 0xFF, jpeg[1] = 0xD8, jpeg[2] = 0xFF;
        CHECK_THROWS_AS(data::decode_image(jpeg, "fake.jpg"), Error);
        CHECK_THROWS_AS(data::decode_image(jpeg, "fake.jpg", DecodeOptions{.jpeg = JpegDecoder::stb}), Error);
    }
}

TEST_CASE("a PNG with a damaged chunk is an error") {
    Bytes png = encode_png(pattern_image(24, 16, 3, 7));
    png[png.size() / 2] ^= 0x40;  // inside IDAT
    CHECK_THROWS_WITH_AS(data::decode_image(png, "flip.png"),
                         doctest::Contains("image 'flip.png': corrupt or truncated PNG data (bad CRC in chunk 'IDAT')"),
                         Error);
}

TEST_CASE("a PNG zlib bomb is refused before stb_image sees it") {
    // IHDR says 100 x 100 RGB (30 100 bytes inflated); IDAT inflates to 50 MB of zeros.
    auto chunk = [](Bytes& out, const char* type, const Bytes& body) {
        Bytes c(4 + body.size());
        std::copy(type, type + 4, c.begin());
        std::copy(body.begin(), body.end(), c.begin() + 4);
        out.resize(out.size() + 4);
        put_be32(out, out.size() - 4, std::uint32_t(body.size()));
        out.insert(out.end(), c.begin(), c.end());
        out.resize(out.size() + 4);
        put_be32(out, out.size() - 4, std::uint32_t(crc32(0, c.data(), uInt(c.size()))));
    };
    Bytes ihdr(13, 0);
    put_be32(ihdr, 0, 100), put_be32(ihdr, 4, 100);
    ihdr[8] = 8, ihdr[9] = 2;  // 8-bit RGB
    const Bytes zeros(50u << 20, 0);
    Bytes idat(compressBound(uLong(zeros.size())));
    uLongf idat_size = uLongf(idat.size());
    REQUIRE(compress2(idat.data(), &idat_size, zeros.data(), uLong(zeros.size()), 9) == Z_OK);
    idat.resize(idat_size);
    Bytes png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    chunk(png, "IHDR", ihdr), chunk(png, "IDAT", idat), chunk(png, "IEND", {});
    CHECK(png.size() < 100000);

    reset_largest_allocation();
    CHECK_THROWS_WITH_AS(data::decode_image(png, "bomb.png"),
                         doctest::Contains("image 'bomb.png': corrupt or truncated PNG data (the pixel data inflates to "
                                           "more than the 31828 bytes its header allows"),
                         Error);
    CHECK(largest_allocation() < (std::size_t(1) << 20));
}

TEST_CASE("a truncated PNG is an error at every cut") {
    const Bytes png = encode_png(pattern_image(24, 16, 3, 7));  // noise: IDAT is most of the file
    CHECK_THROWS_WITH_AS(data::decode_image(Bytes(png.begin(), png.begin() + long(png.size() / 2)), "half.png"),
                         doctest::Contains("image 'half.png': corrupt or truncated PNG"), Error);
    int accepted = 0;
    for (std::size_t cut = 1; cut < png.size(); ++cut) {
        try {
            (void)data::decode_image(Bytes(png.begin(), png.begin() + long(cut)), "cut.png");
            ++accepted;
            MESSAGE("accepted a PNG cut at ", cut, " of ", png.size(), " bytes");
        } catch (const Error&) {
        }
    }
    CHECK(accepted == 0);
}

TEST_CASE("a truncated JPEG is an error at every cut, with either decoder") {
    const Bytes jpeg = encode_jpeg(smooth_image(32, 24), 90);
    const Bytes noisy = encode_jpeg(pattern_image(64, 48, 3, 8), 90);  // mostly scan data: the cut is in it
    for (auto decoder : {JpegDecoder::automatic, JpegDecoder::stb}) {
        const DecodeOptions options{.jpeg = decoder};
        CHECK_THROWS_WITH_AS(
            data::decode_image(Bytes(noisy.begin(), noisy.begin() + long(noisy.size() / 2)), "half.jpg", options),
            doctest::Contains("image 'half.jpg': corrupt or truncated JPEG data (no end-of-image marker)"), Error);
        int accepted = 0;
        for (std::size_t cut = 1; cut < jpeg.size(); ++cut) {
            try {
                (void)data::decode_image(Bytes(jpeg.begin(), jpeg.begin() + long(cut)), "cut.jpg", options);
                ++accepted;
            } catch (const Error&) {
            }
        }
        CHECK(accepted == 0);
    }
}

TEST_CASE("a PNG header claiming 20000 x 20000 is rejected before decoding, without allocating") {
    const Bytes png = encode_png(pattern_image(6, 4, 3));
    for (bool fix_crc : {true, false}) {
        CAPTURE(fix_crc);
        const Bytes huge = with_png_size(png, 20000, 20000, fix_crc);
        reset_largest_allocation();
        CHECK_THROWS_WITH_AS(data::decode_image(huge, "huge.png"),
                             doctest::Contains("image 'huge.png': 20000x20000 is too large (at most 16384 pixels a side)"),
                             Error);
        CHECK(largest_allocation() < (std::size_t(1) << 20));
    }
    // Within the side limit, over the pixel limit; and a 1 x 2^24 strip.
    CHECK_THROWS_WITH_AS(data::decode_image(with_png_size(png, 10000, 10000, true), "big.png"),
                         doctest::Contains("10000x10000 is too large (more than 25000000 pixels)"), Error);
    CHECK_THROWS_WITH_AS(data::decode_image(with_png_size(png, 1, 1u << 24, true), "strip.png"),
                         doctest::Contains("too large"), Error);
    // Within both limits but with a body far too short: a decode error, not a crash.
    CHECK_THROWS_WITH_AS(data::decode_image(with_png_size(png, 4000, 4000, true), "short.png"),
                         doctest::Contains("image 'short.png': corrupt or truncated PNG"), Error);
    // Limits are options.
    CHECK_THROWS_WITH_AS(data::decode_image(png, "small.png", DecodeOptions{.max_side = 5}),
                         doctest::Contains("6x4 is too large (at most 5 pixels a side)"), Error);
    CHECK_THROWS_WITH_AS(data::decode_image(png, "small.png", DecodeOptions{.max_pixels = 23}),
                         doctest::Contains("more than 23 pixels"), Error);
}

TEST_CASE("a JPEG header claiming 20000 x 20000 is rejected before decoding") {
    const Bytes jpeg = encode_jpeg(smooth_image(16, 8));
    for (auto decoder : {JpegDecoder::automatic, JpegDecoder::stb}) {
        reset_largest_allocation();
        CHECK_THROWS_WITH_AS(data::decode_image(with_jpeg_size(jpeg, 20000, 20000), "huge.jpg", DecodeOptions{.jpeg = decoder}),
                             doctest::Contains("image 'huge.jpg': 20000x20000 is too large"), Error);
        CHECK(largest_allocation() < (std::size_t(1) << 20));
        // Plausible size, body for 16 x 8: the decoder fails (or warns), and that is an error.
        CHECK_THROWS_WITH_AS(
            data::decode_image(with_jpeg_size(jpeg, 2000, 1000), "lying.jpg", DecodeOptions{.jpeg = decoder}),
            doctest::Contains("image 'lying.jpg': corrupt or truncated JPEG data"), Error);
    }
}

TEST_CASE("missing, unreadable and oversized files") {
    TempDir dir;
    const std::string missing = "image file '" + (dir / "nope.png").string() + "' does not exist";
    CHECK_THROWS_WITH_AS(data::read_image(dir / "nope.png"), doctest::Contains(missing.c_str()), Error);
    CHECK_THROWS_WITH_AS(data::read_image(dir.path), doctest::Contains("does not exist or is not a file"), Error);
    CHECK_THROWS_WITH_AS(data::preprocess_file(dir / "nope.jpg", 224), doctest::Contains("nope.jpg' does not exist"),
                         Error);

    const Bytes png = encode_png(pattern_image(6, 4, 3));
    write_file(dir / "ok.png", png);
    CHECK_THROWS_WITH_AS(data::read_image(dir / "ok.png", DecodeOptions{.max_file_bytes = 10}),
                         doctest::Contains("more than the limit of 10"), Error);
    write_file(dir / "empty.png", {});
    const std::string no_data = "image '" + (dir / "empty.png").string() + "': no data";
    CHECK_THROWS_WITH_AS(data::read_image(dir / "empty.png"), doctest::Contains(no_data.c_str()), Error);
    // The path names a truncated file's errors too.
    write_file(dir / "cut.png", Bytes(png.begin(), png.begin() + 40));
    const std::string cut = (dir / "cut.png").string();
    CHECK_THROWS_WITH_AS(data::read_image(dir / "cut.png"), doctest::Contains(cut.c_str()), Error);
}

TEST_CASE("functions taking an Image reject inconsistent ones") {
    const Image empty{};
    CHECK_THROWS_AS(data::resize_bicubic(empty, 4, 4), Error);
    CHECK_THROWS_AS(data::preprocess(empty, 4), Error);
    const Image five_channels{1, 1, 5, {1, 2, 3, 4, 5}};
    CHECK_THROWS_WITH_AS(data::to_rgb(five_channels), doctest::Contains("with 5 channels"), Error);
    const Image ok = pattern_image(4, 4, 3);
    CHECK_THROWS_WITH_AS(data::resize_bicubic(ok, 0, 4), doctest::Contains("empty or absurdly large"), Error);
    CHECK_THROWS_WITH_AS(data::crop(ok, {2, 2, 3, 1}), doctest::Contains("is not inside the 4x4 image"), Error);
    CHECK_THROWS_WITH_AS(data::center_crop(ok, 5), doctest::Contains("does not fit a 4x4 image"), Error);
    CHECK_THROWS_WITH_AS(data::image_to_tensor<float>(pattern_image(4, 4, 1)), doctest::Contains("needs an RGB image"),
                         Error);
}
