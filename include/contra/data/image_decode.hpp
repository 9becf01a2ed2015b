// contra/data/image_decode.hpp — PNG and JPEG decoding into 8-bit images, with every size checked
// from the header before a pixel is decoded.
// defines: contra::data::Image, ImageFormat, JpegDecoder, DecodeOptions, ImageInfo, kHaveTurboJpeg,
//          detect_image_format, format_name, check_image, image_info, decode_image, read_file_bytes,
//          read_image, to_rgb
//
// Decoders: libjpeg-turbo for JPEG where CONTRA_HAVE_TURBOJPEG (the same libjpeg settings as
// Pillow: accurate integer DCT, fancy upsampling, so pixels match PIL bit for bit when both use
// libjpeg-turbo), stb_image otherwise and for PNG. CMYK/YCCK JPEGs always go to stb_image.
// Only PNG and JPEG are accepted (stb's GIF/PSD/PIC readers are never reached), and a decode
// warning (a truncated JPEG, say) is an error: a half-grey picture is not a training sample.
// Before decoding, PNG chunks must be whole with matching CRCs up to IEND, and JPEG segments and
// scans whole up to EOI (stb_image checks neither).
#pragma once
#include <stb/stb_image.h>
#include <zlib.h>

#include <algorithm>
#include <utility>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../core/config.hpp"

#if defined(CONTRA_HAVE_TURBOJPEG) && CONTRA_HAVE_TURBOJPEG
#include <turbojpeg.h>
#define CONTRA_IMAGE_TURBOJPEG 1
#else
#define CONTRA_IMAGE_TURBOJPEG 0
#endif

namespace contra::data {

inline constexpr bool kHaveTurboJpeg = CONTRA_IMAGE_TURBOJPEG;

// Image: 8-bit pixels, row-major HWC: pixel (y, x) channel c is pixels[(y·width + x)·channels + c].
// channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
struct Image {
    int width = 0, height = 0, channels = 0;
    std::vector<std::uint8_t> pixels;

    std::int64_t pixel_count() const { return std::int64_t(width) * height; }
    std::size_t row_bytes() const { return std::size_t(width) * std::size_t(channels); }
    const std::uint8_t* row(int y) const { return pixels.data() + std::size_t(y) * row_bytes(); }
    std::uint8_t* row(int y) { return pixels.data() + std::size_t(y) * row_bytes(); }
    std::uint8_t at(int y, int x, int c) const { return row(y)[std::size_t(x) * std::size_t(channels) + std::size_t(c)]; }
};

enum class ImageFormat { unknown, png, jpeg };
enum class JpegDecoder { automatic, stb, turbojpeg };  // automatic: turbojpeg where linked

// DecodeOptions: what a decoder accepts before it allocates anything (open_clip's default cap
// is 25 M pixels; stb's own limit of 2^24 a side is far too generous).
struct DecodeOptions {
    int max_side = 16384;
    std::int64_t max_pixels = 25'000'000;
    std::uint64_t max_file_bytes = std::uint64_t(256) << 20;  // read_image only
    JpegDecoder jpeg = JpegDecoder::automatic;
    // > 0: a JPEG decoded by libjpeg-turbo comes out at the smallest of its scales 1/8, 1/4, 1/2
    // whose shorter side is still ≥ jpeg_min_side (faster; close to, not equal to, decoding at full
    // size and resizing). 0, or a JPEG already that small, or stb_image: full size.
    int jpeg_min_side = 0;
};

// ImageInfo: what the header says.
struct ImageInfo {
    ImageFormat format = ImageFormat::unknown;
    int width = 0, height = 0, channels = 0;
};

// detect_image_format(bytes): PNG or JPEG by their signatures, unknown otherwise.
inline ImageFormat detect_image_format(std::span<const std::uint8_t> bytes) {
    static constexpr std::uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (bytes.size() >= 8 && std::equal(png, png + 8, bytes.begin())) return ImageFormat::png;
    if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return ImageFormat::jpeg;
    return ImageFormat::unknown;
}

inline const char* format_name(ImageFormat format) {
    switch (format) {
        case ImageFormat::png: return "PNG";
        case ImageFormat::jpeg: return "JPEG";
        default: return "unknown";
    }
}

// check_image(image, what): throws Error unless the image is consistent (positive sizes,
// 1..4 channels, exactly width·height·channels bytes).
inline void check_image(const Image& image, std::string_view what) {
    CONTRA_CHECK(image.width > 0 && image.height > 0 && image.channels >= 1 && image.channels <= 4, what,
                 ": invalid image ", image.width, "x", image.height, " with ", image.channels, " channels");
    CONTRA_CHECK(image.pixels.size() == std::size_t(image.pixel_count()) * std::size_t(image.channels), what,
                 ": image ", image.width, "x", image.height, "x", image.channels, " holds ", image.pixels.size(),
                 " bytes, expected ", image.pixel_count() * image.channels);
}

namespace detail {

#if CONTRA_IMAGE_TURBOJPEG
// TurboHandle: a libjpeg-turbo decompressor, destroyed with the scope.
struct TurboHandle {
    tjhandle handle = tjInitDecompress();
    TurboHandle() = default;
    TurboHandle(const TurboHandle&) = delete;
    TurboHandle& operator=(const TurboHandle&) = delete;
    ~TurboHandle() {
        if (handle) tjDestroy(handle);
    }
    std::string message() const { return tjGetErrorStr2(handle); }
};

// turbo_flags: stop at the first warning and refuse progressive JPEGs with absurd scan counts
// (CVE-2019-13960 style memory blow-ups), where this libjpeg-turbo knows the flags.
inline int turbo_flags() {
    int flags = 0;
#ifdef TJFLAG_STOPONWARNING
    flags |= TJFLAG_STOPONWARNING;
#endif
#ifdef TJFLAG_LIMITSCANS
    flags |= TJFLAG_LIMITSCANS;
#endif
    return flags;
}

struct TurboHeader {
    int width = 0, height = 0, colorspace = -1;
};
inline TurboHeader turbo_header(std::span<const std::uint8_t> bytes, std::string_view label) {
    TurboHandle tj;
    CONTRA_CHECK(tj.handle != nullptr, "image '", label, "': cannot start libjpeg-turbo");
    TurboHeader h;
    int subsampling = 0;
    const int rc = tjDecompressHeader3(tj.handle, bytes.data(), static_cast<unsigned long>(bytes.size()), &h.width,
                                       &h.height, &subsampling, &h.colorspace);
    CONTRA_CHECK(rc == 0, "image '", label, "': corrupt or truncated JPEG header (libjpeg-turbo: ", tj.message(), ")");
    return h;
}
inline bool turbo_can_decode(int colorspace) { return colorspace != TJCS_CMYK && colorspace != TJCS_YCCK; }

// turbo_scaled_size(info, min_side): the width and height libjpeg-turbo decodes at: the smallest
// scale of 1/8, 1/4, 1/2 keeping the shorter side ≥ min_side, else the full size.
inline std::pair<int, int> turbo_scaled_size(const ImageInfo& info, int min_side) {
    if (min_side > 0)
        for (const int denominator : {8, 4, 2}) {
            const tjscalingfactor factor{1, denominator};
            const int w = TJSCALED(info.width, factor), h = TJSCALED(info.height, factor);
            if (std::min(w, h) >= min_side) return {w, h};
        }
    return {info.width, info.height};
}

// decode_turbo: requires the header already checked against the limits.
inline Image decode_turbo(std::span<const std::uint8_t> bytes, const ImageInfo& info, std::string_view label,
                          int min_side = 0) {
    TurboHandle tj;
    CONTRA_CHECK(tj.handle != nullptr, "image '", label, "': cannot start libjpeg-turbo");
    const auto [width, height] = turbo_scaled_size(info, min_side);
    Image image{width, height, info.channels, {}};
    image.pixels.resize(std::size_t(image.pixel_count()) * std::size_t(image.channels));
    const int pixel_format = info.channels == 1 ? TJPF_GRAY : TJPF_RGB;
    const int rc = tjDecompress2(tj.handle, bytes.data(), static_cast<unsigned long>(bytes.size()), image.pixels.data(),
                                 width, 0, height, pixel_format, turbo_flags());
    CONTRA_CHECK(rc == 0, "image '", label, "': corrupt or truncated JPEG data (libjpeg-turbo: ", tj.message(), ")");
    return image;
}
#endif

inline std::uint32_t be16(std::span<const std::uint8_t> b, std::size_t at) {
    return (std::uint32_t(b[at]) << 8) | b[at + 1];
}
inline std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
    return (be16(b, at) << 16) | be16(b, at + 2);
}

// png_header_size(bytes, w, h): IHDR's width and height (IHDR must be the first chunk, and whole:
// signature 8 + length 4 + type 4 + data 13 + CRC 4 = 33 bytes), read directly, because stb_image
// reports an image over its own limits only as "unknown type". stb_image accepts an IHDR cut
// short (it reads zeros past the end), so the length is checked here: png_raw_limit reads the
// bit depth and colour type bytes (24, 25) of the IHDR data.
inline bool png_header_size(std::span<const std::uint8_t> b, std::uint32_t& w, std::uint32_t& h) {
    static constexpr std::uint8_t ihdr[4] = {'I', 'H', 'D', 'R'};
    if (b.size() < 33 || be32(b, 8) != 13 || !std::equal(ihdr, ihdr + 4, b.begin() + 12)) return false;
    w = be32(b, 16), h = be32(b, 20);
    return true;
}

// ZStream: a zlib inflate stream, ended with the scope.
struct ZStream {
    z_stream z{};
    bool ok = inflateInit(&z) == Z_OK;
    ZStream() = default;
    ZStream(const ZStream&) = delete;
    ZStream& operator=(const ZStream&) = delete;
    ~ZStream() {
        if (ok) inflateEnd(&z);
    }
};

// png_raw_limit(bytes): an upper bound on the decompressed size of a PNG's pixel data, from IHDR
// (one filter byte per row; slack for Adam7's passes).  requires: png_header_size succeeded.
inline std::uint64_t png_raw_limit(std::span<const std::uint8_t> b) {
    const std::uint64_t w = be32(b, 16), h = be32(b, 20), depth = b[24];
    const std::uint64_t samples = b[25] == 0 ? 1 : b[25] == 2 ? 3 : b[25] == 3 ? 1 : b[25] == 4 ? 2 : 4;
    return h * ((w * samples * depth + 7) / 8 + 1) + 16 * (h + 8);
}

// png_problem(bytes): "" when every chunk up to IEND is whole and matches its CRC and the IDAT
// stream inflates cleanly to no more than the pixels need, else what is wrong. stb_image checks
// none of this: a cut file would decode silently and a zlib bomb would grow its buffer to gigabytes.
// requires: png_header_size succeeded.
inline std::string png_problem(std::span<const std::uint8_t> b) {
    const std::uint64_t limit = png_raw_limit(b);
    ZStream zs;
    if (!zs.ok) return "cannot start zlib";
    unsigned char scratch[1 << 14];
    bool seen_idat = false, ended = false;
    std::size_t at = 8;
    while (at + 12 <= b.size()) {
        const std::uint32_t length = be32(b, at);
        const std::string type(b.begin() + long(at) + 4, b.begin() + long(at) + 8);
        if (length > b.size() - at - 12) return "chunk '" + type + "' runs past the end of the data";
        const auto crc = crc32(crc32(0, nullptr, 0), b.data() + at + 4, uInt(4 + length));
        if (crc != be32(b, at + 8 + length)) return "bad CRC in chunk '" + type + "'";
        if (type == "IEND") {
            if (!seen_idat) return "no IDAT chunk";
            if (!ended) return "the IDAT data ends inside its zlib stream";
            return "";
        }
        if (type == "IDAT" && !ended) {
            seen_idat = true;
            zs.z.next_in = const_cast<Bytef*>(b.data() + at + 8);
            zs.z.avail_in = uInt(length);
            while (zs.z.avail_in > 0) {
                zs.z.next_out = scratch;
                zs.z.avail_out = sizeof scratch;
                const int rc = inflate(&zs.z, Z_NO_FLUSH);
                if (zs.z.total_out > limit)
                    return contra::detail::concat("the pixel data inflates to more than the ", limit,
                                                  " bytes its header allows (a zlib bomb?)");
                if (rc == Z_STREAM_END) {
                    ended = true;
                    break;
                }
                if (rc != Z_OK && rc != Z_BUF_ERROR)
                    return std::string("corrupt zlib data in IDAT (") + (zs.z.msg ? zs.z.msg : "zlib error") + ")";
                if (rc == Z_BUF_ERROR) break;
            }
        }
        at += 12 + std::size_t(length);
    }
    return "no IEND chunk";
}

// dht_problem(bytes, begin, end): "" when bytes [begin, end) (a DHT segment's payload) are
// whole Huffman tables, else what is wrong: each a class/id byte (class 0–1, id 0–3), 16 code
// counts that together hold at most 256 codes and do not over-subscribe any code length, and
// that many symbols. stb_image 2.27 (Debian 12's libstb) copies the symbols of a table with more
// than 256 codes past the end of its 256-entry array, already while reading the header.
// defined[class·4 + id] is set for each table read.
inline std::string dht_problem(std::span<const std::uint8_t> b, std::size_t begin, std::size_t end, bool (&defined)[8]) {
    for (std::size_t at = begin; at < end;) {
        if (end - at < 17) return "a Huffman table (DHT) is cut short";
        const std::uint8_t id = b[at];
        if ((id >> 4) > 1 || (id & 15) > 3)
            return contra::detail::concat("a Huffman table (DHT) has class ", id >> 4, " and id ", id & 15,
                                          " (expected class 0 or 1, id 0 to 3)");
        std::int64_t codes = 0, free_codes = 1;  // unused codes of the current length (Kraft)
        for (std::size_t j = 1; j <= 16; ++j) {
            codes += b[at + j];
            free_codes = 2 * free_codes - b[at + j];
            if (free_codes < 0) return "a Huffman table (DHT) over-subscribes its code lengths";
        }
        if (codes > 256) return contra::detail::concat("a Huffman table (DHT) declares ", codes, " codes (at most 256)");
        defined[(id >> 4) * 4 + (id & 15)] = true;
        at += 17 + std::size_t(codes);
        if (at > end) return "a Huffman table (DHT) is cut short";
    }
    return "";
}

// jpeg_problem(bytes): "" when the marker segments and entropy-coded scans run whole up to the
// end-of-image marker and the scans are long enough for the frame, else what is wrong. A cut file
// has no EOI; a header that lies about the size has too little scan data (Huffman coding spends at
// least one bit per 8×8 block of the full-resolution component). stb_image pads missing data with
// zeros, so without this it would hand back a picture. Huffman tables are checked (dht_problem).
// tables_only: check only the Huffman tables in front of the first scan (what stb_image reads for
// the header), and accept anything else. for_stb: every scan must use only Huffman tables defined
// before it (stb_image 2.27 decodes with the uninitialised memory of an undefined table, and
// asserts; libjpeg-turbo substitutes the standard tables, as Motion-JPEG frames need).
inline std::string jpeg_problem(std::span<const std::uint8_t> b, bool tables_only = false, bool for_stb = false) {
    std::size_t at = 2, scan_bytes = 0;
    bool defined[8] = {}, progressive = false, arithmetic = false;
    std::int64_t blocks = 0, width = 0, height = 0;
    auto restart = [](std::uint8_t m) { return m >= 0xD0 && m <= 0xD7; };
    while (at + 1 < b.size()) {
        if (b[at] != 0xFF && tables_only) {  // stb_image skips such bytes looking for a marker
            ++at;
            continue;
        }
        if (b[at] != 0xFF) return "stray bytes between segments";
        const std::uint8_t marker = b[at + 1];
        at += 2;
        if (marker == 0xFF) {  // fill byte
            --at;
            continue;
        }
        if (tables_only && (marker == 0xD9 || marker == 0xDA)) return "";
        if (marker == 0xD9) {  // EOI
            if (std::int64_t(scan_bytes) * 8 < blocks)
                return contra::detail::concat(scan_bytes, " bytes of scan data cannot code ", width, "x", height, " pixels");
            return "";
        }
        if (marker == 0x01 || restart(marker)) continue;  // no length field
        if (at + 2 > b.size()) break;
        const std::size_t length = be16(b, at);
        if (length < 2 || at + length > b.size()) return "a segment runs past the end of the data";
        if (marker == 0xC4)
            if (auto problem = dht_problem(b, at + 2, at + length, defined); !problem.empty()) return problem;
        const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (frame) progressive = (marker & 3) == 2, arithmetic = marker >= 0xC9;
        if (marker == 0xDA && for_stb && !arithmetic) {  // SOS: Ns, Ns × (Cs, Td·16 + Ta), Ss, Se, Ah·16 + Al
            const std::size_t ns = length >= 3 ? b[at + 2] : 0;
            if (length < 6 + 2 * ns) return "a scan header (SOS) is cut short";
            const std::uint8_t ss = b[at + 3 + 2 * ns], se = b[at + 4 + 2 * ns], ah = b[at + 5 + 2 * ns] >> 4;
            const bool uses_dc = ss == 0 && !(progressive && ah != 0), uses_ac = se > 0;  // DC refinement: raw bits
            for (std::size_t k = 0; k < ns; ++k) {
                const std::uint8_t td = b[at + 4 + 2 * k] >> 4, ta = b[at + 4 + 2 * k] & 15;
                if (uses_dc && (td > 3 || !defined[td]))
                    return contra::detail::concat("a scan uses DC Huffman table ", int(td), ", which is not defined");
                if (uses_ac && (ta > 3 || !defined[4 + ta]))
                    return contra::detail::concat("a scan uses AC Huffman table ", int(ta), ", which is not defined");
            }
        }
        if (frame && length >= 7) {
            height = be16(b, at + 3), width = be16(b, at + 5);
            // arithmetic coding (SOF9..SOF15) can spend less than a bit per block
            blocks = marker <= 0xC7 ? ((width + 7) / 8) * ((height + 7) / 8) : 0;
        }
        at += length;
        if (marker != 0xDA) continue;  // SOS: entropy-coded data up to the next non-RST marker
        const std::size_t scan = at;
        while (at + 1 < b.size() && !(b[at] == 0xFF && b[at + 1] != 0x00 && !restart(b[at + 1]))) ++at;
        scan_bytes += at - scan;
    }
    return tables_only ? "" : "no end-of-image marker";
}

inline Image decode_stb(std::span<const std::uint8_t> bytes, const ImageInfo& info, std::string_view label) {
    int width = 0, height = 0, channels = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> data(
        stbi_load_from_memory(bytes.data(), int(bytes.size()), &width, &height, &channels, 0), stbi_image_free);
    CONTRA_CHECK(data != nullptr, "image '", label, "': corrupt or truncated ", format_name(info.format),
                 " data (stb_image: ", stbi_failure_reason() ? stbi_failure_reason() : "unknown error", ")");
    CONTRA_CHECK(width == info.width && height == info.height && channels >= 1 && channels <= 4, "image '", label,
                 "': decoded ", width, "x", height, "x", channels, " but the header said ", info.width, "x",
                 info.height);
    Image image{width, height, channels, {}};
    const std::size_t n = std::size_t(image.pixel_count()) * std::size_t(channels);
    image.pixels.assign(data.get(), data.get() + n);
    return image;
}

inline void check_limits(std::int64_t width, std::int64_t height, std::string_view label, const DecodeOptions& options) {
    CONTRA_CHECK(width > 0 && height > 0, "image '", label, "': the header gives an empty image (", width, "x", height,
                 ")");
    CONTRA_CHECK(width <= options.max_side && height <= options.max_side, "image '", label, "': ", width, "x", height,
                 " is too large (at most ", options.max_side, " pixels a side)");
    CONTRA_CHECK(width * height <= options.max_pixels, "image '", label, "': ", width, "x", height,
                 " is too large (more than ", options.max_pixels, " pixels)");
}

// Header: what the header says, plus the decoder that will read the pixels.
struct Header {
    ImageInfo info;
    bool turbo = false;
};

inline Header read_header(std::span<const std::uint8_t> bytes, std::string_view label, const DecodeOptions& options) {
    CONTRA_CHECK(!bytes.empty(), "image '", label, "': no data (0 bytes)");
    CONTRA_CHECK(bytes.size() <= std::size_t(INT_MAX), "image '", label, "': ", bytes.size(),
                 " bytes is more than a decoder accepts");
    Header h;
    ImageInfo& info = h.info;
    info.format = detect_image_format(bytes);
    CONTRA_CHECK(info.format != ImageFormat::unknown, "image '", label, "': unknown format (", bytes.size(),
                 " bytes that are neither PNG nor JPEG)");
    const bool jpeg = info.format == ImageFormat::jpeg;
    CONTRA_CHECK(!(jpeg && options.jpeg == JpegDecoder::turbojpeg && !kHaveTurboJpeg), "image '", label,
                 "': JpegDecoder::turbojpeg asked for, but contra was built without libjpeg-turbo");
#if CONTRA_IMAGE_TURBOJPEG
    if (jpeg && options.jpeg != JpegDecoder::stb) {
        const auto t = turbo_header(bytes, label);
        h.turbo = turbo_can_decode(t.colorspace);
        CONTRA_CHECK(h.turbo || options.jpeg != JpegDecoder::turbojpeg, "image '", label,
                     "': libjpeg-turbo cannot decode this JPEG's colour space (CMYK/YCCK)");
        info.width = t.width, info.height = t.height;
        info.channels = t.colorspace == TJCS_GRAY ? 1 : 3;
    }
#endif
    if (info.format == ImageFormat::png) {
        std::uint32_t pw = 0, ph = 0;
        CONTRA_CHECK(png_header_size(bytes, pw, ph), "image '", label, "': corrupt or truncated PNG header (no complete IHDR chunk)");
        check_limits(pw, ph, label, options);
    }
    if (!h.turbo) {
        if (jpeg) {  // stb_image reads the Huffman tables in front of the frame header unchecked
            const std::string problem = jpeg_problem(bytes, true);
            CONTRA_CHECK(problem.empty(), "image '", label, "': corrupt JPEG header (", problem, ")");
        }
        const int ok = stbi_info_from_memory(bytes.data(), int(bytes.size()), &info.width, &info.height, &info.channels);
        CONTRA_CHECK(ok == 1, "image '", label, "': corrupt or truncated ", format_name(info.format),
                     " header (stb_image: ", stbi_failure_reason() ? stbi_failure_reason() : "unknown error", ")");
    }
    check_limits(info.width, info.height, label, options);
    CONTRA_CHECK(info.channels >= 1 && info.channels <= 4, "image '", label, "': unsupported channel count ",
                 info.channels);
    return h;
}

}  // namespace detail

// image_info(bytes, label, options): format and dimensions from the header, checked against the
// options' limits; decodes no pixels. label names the data in error messages (a path, a key).
//   throws: Error for empty, unknown, corrupt or over-limit data.
inline ImageInfo image_info(std::span<const std::uint8_t> bytes, std::string_view label = "image",
                            const DecodeOptions& options = {}) {
    return detail::read_header(bytes, label, options).info;
}

// decode_image(bytes, label, options): the pixels of a PNG or JPEG, as stored (1–4 channels;
// 16-bit PNGs reduced to 8 bits, palettes expanded). Sizes are checked before decoding.
//   throws: Error naming label and the reason for empty, unknown, over-limit, corrupt or
//           truncated data.
inline Image decode_image(std::span<const std::uint8_t> bytes, std::string_view label = "image",
                          const DecodeOptions& options = {}) {
    const detail::Header h = detail::read_header(bytes, label, options);
    const std::string problem =
        h.info.format == ImageFormat::png ? detail::png_problem(bytes) : detail::jpeg_problem(bytes, false, !h.turbo);
    CONTRA_CHECK(problem.empty(), "image '", label, "': corrupt or truncated ", format_name(h.info.format), " data (",
                 problem, ")");
#if CONTRA_IMAGE_TURBOJPEG
    if (h.turbo) return detail::decode_turbo(bytes, h.info, label, options.jpeg_min_side);
#endif
    return detail::decode_stb(bytes, h.info, label);
}

// read_file_bytes(path, max_bytes): a whole file.  throws: Error when it is missing, unreadable
// or larger than max_bytes.
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path, std::uint64_t max_bytes) {
    const std::string name = path.string();
    std::error_code ec;
    CONTRA_CHECK(std::filesystem::is_regular_file(path, ec), "image file '", name, "' does not exist or is not a file");
    const std::uint64_t size = std::filesystem::file_size(path, ec);
    CONTRA_CHECK(!ec, "image file '", name, "': cannot read its size (", ec.message(), ")");
    CONTRA_CHECK(size <= max_bytes, "image file '", name, "' has ", size, " bytes, more than the limit of ", max_bytes);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    std::ifstream in(path, std::ios::binary);
    CONTRA_CHECK(in.good(), "image file '", name, "' cannot be opened");
    in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size));
    CONTRA_CHECK(std::uint64_t(in.gcount()) == size, "image file '", name, "': read ", in.gcount(), " of ", size,
                 " bytes");
    return bytes;
}

// read_image(path, options): decode_image of the file's bytes, with the path as label.
inline Image read_image(const std::filesystem::path& path, const DecodeOptions& options = {}) {
    const auto bytes = read_file_bytes(path, options.max_file_bytes);
    return decode_image(bytes, path.string(), options);
}

// to_rgb(image): three channels, as PIL's convert("RGB"): grey is replicated, alpha dropped
// (not composited).
inline Image to_rgb(const Image& image) {
    check_image(image, "to_rgb");
    if (image.channels == 3) return image;
    Image out{image.width, image.height, 3, {}};
    out.pixels.resize(std::size_t(image.pixel_count()) * 3);
    const std::size_t n = std::size_t(image.pixel_count()), c = std::size_t(image.channels);
    const std::uint8_t* src = image.pixels.data();
    std::uint8_t* dst = out.pixels.data();
    for (std::size_t i = 0; i < n; ++i, src += c, dst += 3) {
        if (c <= 2)
            dst[0] = dst[1] = dst[2] = src[0];
        else
            dst[0] = src[0], dst[1] = src[1], dst[2] = src[2];
    }
    return out;
}

}  // namespace contra::data
