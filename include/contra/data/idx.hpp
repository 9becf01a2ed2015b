// contra/data/idx.hpp — IDX files (the MNIST family's format): unsigned-byte images and labels,
// raw or gzip-compressed.
// defines: contra::data::IdxImages, IdxLabels, IdxLimits, Normalization, read_idx_images,
//          read_idx_labels, check_labels_below, check_same_count, pixel_statistics,
//          images_to_tensor, labels_to_tensor
//
// Layout (all integers big-endian):
//   bytes 0..3   magic: 0x00 0x00 <type> <rank>; type 0x08 = unsigned byte
//                images: 0x00000803 (rank 3: count, rows, cols); labels: 0x00000801 (rank 1: count)
//   then         one u32 extent per dimension
//   then         the payload, row-major, exactly the product of the extents in bytes.
// The reader trusts nothing: the magic, every extent, the exact file length and the payload
// size against a cap are checked, and memory grows with the bytes actually read, so a header
// promising gigabytes in front of a tiny body costs nothing but an Error.
#pragma once
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../core/tensor.hpp"

namespace contra::data {

inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;

// IdxLimits: what a reader accepts before it allocates anything.
struct IdxLimits {
    // Largest payload (bytes after decompression). 1 GiB holds 1.3 M images of 28×28.
    std::uint64_t max_payload_bytes = std::uint64_t(1) << 30;
};

// IdxImages: count images of rows × cols unsigned bytes (0 = black, 255 = white), row-major.
struct IdxImages {
    std::int64_t count = 0, rows = 0, cols = 0;
    std::vector<std::uint8_t> pixels;  // [count, rows, cols]
    std::string source;                // the file they came from (for error messages)

    std::int64_t pixels_per_image() const { return rows * cols; }
    // image(i): pointer to the rows·cols bytes of image i.  requires: 0 <= i < count
    const std::uint8_t* image(std::int64_t i) const {
        CONTRA_CHECK(0 <= i && i < count, "image index ", i, " out of range [0, ", count, ") of ", source);
        return pixels.data() + i * pixels_per_image();
    }
};

// IdxLabels: one unsigned byte per sample.
struct IdxLabels {
    std::vector<std::uint8_t> values;
    std::string source;

    std::int64_t count() const { return std::int64_t(values.size()); }
};

// Normalization: pixel p in 0..255 becomes (p / 255 − mean) / std.
struct Normalization {
    float mean = 0.0f;
    float std = 1.0f;
};

namespace detail {

// IdxStream: the bytes of a file, inflated on the fly when it starts with the gzip magic 1f 8b
// (zlib's gz* functions read uncompressed files unchanged, so one code path serves both).
class IdxStream {
public:
    explicit IdxStream(const std::filesystem::path& path) : name_(path.string()) {
        std::error_code ec;
        CONTRA_CHECK(std::filesystem::is_regular_file(path, ec), "IDX file '", name_, "' does not exist or is not a file");
        file_size_ = std::filesystem::file_size(path, ec);
        CONTRA_CHECK(!ec, "IDX file '", name_, "': cannot read its size (", ec.message(), ")");
        unsigned char magic[2] = {0, 0};
        {
            std::ifstream in(path, std::ios::binary);
            CONTRA_CHECK(in.good(), "IDX file '", name_, "' cannot be opened");
            in.read(reinterpret_cast<char*>(magic), 2);
        }
        compressed_ = magic[0] == 0x1f && magic[1] == 0x8b;
        file_ = gzopen(name_.c_str(), "rb");
        CONTRA_CHECK(file_ != nullptr, "IDX file '", name_, "' cannot be opened");
        gzbuffer(file_, 1u << 17);
    }
    ~IdxStream() {
        if (file_) gzclose(file_);
    }
    IdxStream(const IdxStream&) = delete;
    IdxStream& operator=(const IdxStream&) = delete;

    const std::string& name() const { return name_; }
    bool compressed() const { return compressed_; }
    std::uint64_t file_size() const { return file_size_; }  // on disk, before decompression

    // read(dst, n): up to n bytes; fewer only where the data ends (or the gzip stream is cut).
    //   throws: Error when zlib reports corrupt data.
    std::size_t read(void* dst, std::size_t n) {
        std::size_t total = 0;
        while (total < n) {
            const unsigned chunk = unsigned(std::min<std::size_t>(n - total, std::size_t(1) << 30));
            const int got = gzread(file_, static_cast<char*>(dst) + total, chunk);
            CONTRA_CHECK(got >= 0, "IDX file '", name_, "': corrupt gzip data (", zlib_message(), ")");
            if (got == 0) break;
            total += std::size_t(got);
        }
        return total;
    }
    // zlib_message(): zlib's description of the last problem, or "" when there was none.
    std::string zlib_message() {
        int code = Z_OK;
        const char* text = gzerror(file_, &code);
        return code == Z_OK || text == nullptr ? std::string() : std::string(text);
    }

private:
    std::string name_;
    gzFile file_ = nullptr;
    bool compressed_ = false;
    std::uint64_t file_size_ = 0;
};

inline std::uint32_t read_be32(const unsigned char* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

inline std::string hex32(std::uint32_t v) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", v);
    return text;
}

// RawIdx: the extents from the header and the payload bytes.
struct RawIdx {
    std::vector<std::uint32_t> dims;
    std::vector<std::uint8_t> payload;
};

// read_idx(path, magic, what, limits): header, size checks, payload.
//   requires: magic is kIdxImagesMagic or kIdxLabelsMagic (its low byte is the rank).
//   ensures:  payload.size() == product(dims); the file held exactly header + payload bytes.
inline RawIdx read_idx(const std::filesystem::path& path, std::uint32_t magic, const char* what,
                       const IdxLimits& limits) {
    IdxStream in(path);
    const std::string& name = in.name();
    const int rank = int(magic & 0xff);
    const std::uint64_t header_bytes = 4 + 4 * std::uint64_t(rank);

    unsigned char header[16] = {};
    const std::size_t got_magic = in.read(header, 4);
    CONTRA_CHECK(got_magic == 4, "IDX file '", name, "' is truncated: expected a 4-byte magic number, found ",
                 got_magic, " bytes");
    const std::uint32_t found_magic = read_be32(header);
    CONTRA_CHECK(found_magic == magic, "IDX file '", name, "': bad magic number, expected ", hex32(magic), " (", what,
                 "), found ", hex32(found_magic),
                 found_magic == kIdxImagesMagic || found_magic == kIdxLabelsMagic
                     ? " (images and labels swapped?)"
                     : "");
    const std::size_t dim_bytes = std::size_t(4 * rank);
    const std::size_t got_dims = in.read(header + 4, dim_bytes);
    CONTRA_CHECK(got_dims == dim_bytes, "IDX file '", name, "' is truncated: expected a ", header_bytes,
                 "-byte header, found ", 4 + got_dims, " bytes");

    RawIdx out;
    std::uint64_t payload = 1;  // product of the extents, checked against the cap before it can overflow
    for (int d = 0; d < rank; ++d) {
        const std::uint32_t extent = read_be32(header + 4 + 4 * d);
        out.dims.push_back(extent);
        if (extent != 0 && payload > limits.max_payload_bytes / extent) {
            payload = limits.max_payload_bytes + 1;  // too big; the exact product does not matter
            continue;
        }
        payload *= extent;
    }
    std::string dims_text;
    for (int d = 0; d < rank; ++d) dims_text += (d ? " x " : "") + std::to_string(out.dims[std::size_t(d)]);
    CONTRA_CHECK(payload <= limits.max_payload_bytes, "IDX file '", name, "': header promises ", dims_text,
                 " bytes of data, more than the limit of ", limits.max_payload_bytes, " bytes");
    const std::uint64_t expected_size = header_bytes + payload;
    if (!in.compressed())
        CONTRA_CHECK(in.file_size() == expected_size, "IDX file '", name, "': size mismatch, the header (", dims_text,
                     ") needs ", expected_size, " bytes, found ", in.file_size(), " bytes");

    // Grow the buffer with the data actually present, never past what the header promised.
    std::size_t have = 0;
    while (have < payload) {
        const std::size_t step = std::size_t(std::min<std::uint64_t>(payload - have, std::max<std::size_t>(have, 1u << 20)));
        out.payload.resize(have + step);
        const std::size_t got = in.read(out.payload.data() + have, step);
        have += got;
        if (got < step) {
            const std::string why = in.zlib_message();
            CONTRA_CHECK(got == step, "IDX file '", name, "' is truncated: the header (", dims_text, ") needs ", expected_size,
                         " bytes", in.compressed() ? " after decompression" : "", ", found ", header_bytes + have,
                         why.empty() ? "" : " (", why, why.empty() ? "" : ")");
        }
    }
    unsigned char extra = 0;
    const std::size_t trailing = in.read(&extra, 1);
    CONTRA_CHECK(trailing == 0, "IDX file '", name, "': size mismatch, the header (", dims_text, ") needs ",
                 expected_size, " bytes", in.compressed() ? " after decompression" : "", ", found more");
    return out;
}

}  // namespace detail

// read_idx_images(path): an IDX3 unsigned-byte image file, raw or gzip.
//   throws: Error naming the file and what was expected vs found (missing file, bad magic,
//           truncated, wrong size, zero rows/cols, payload or one image over limits.max_payload_bytes).
inline IdxImages read_idx_images(const std::filesystem::path& path, const IdxLimits& limits = {}) {
    auto raw = detail::read_idx(path, kIdxImagesMagic, "unsigned-byte images", limits);
    IdxImages images;
    images.count = raw.dims[0];
    images.rows = raw.dims[1];
    images.cols = raw.dims[2];
    images.source = path.string();
    CONTRA_CHECK(images.rows > 0 && images.cols > 0, "IDX file '", images.source, "': images of ", images.rows, " x ",
                 images.cols, " pixels (expected both at least 1)");
    // With count 0 the payload check above passes whatever rows and cols say; rows·cols must still
    // fit the limit, so pixels_per_image() and every offset computed from it stay in range.
    CONTRA_CHECK(std::uint64_t(images.rows) * std::uint64_t(images.cols) <= limits.max_payload_bytes, "IDX file '",
                 images.source, "': images of ", images.rows, " x ", images.cols,
                 " pixels are larger than the limit of ", limits.max_payload_bytes, " bytes");
    images.pixels = std::move(raw.payload);
    return images;
}

// read_idx_labels(path): an IDX1 unsigned-byte label file, raw or gzip.
//   throws: as read_idx_images.
inline IdxLabels read_idx_labels(const std::filesystem::path& path, const IdxLimits& limits = {}) {
    auto raw = detail::read_idx(path, kIdxLabelsMagic, "unsigned-byte labels", limits);
    return IdxLabels{std::move(raw.payload), path.string()};
}

// check_labels_below(labels, classes): every label is a class index in [0, classes).
//   throws: Error naming the file, the first bad sample and its value.
inline void check_labels_below(const IdxLabels& labels, int classes) {
    for (std::size_t i = 0; i < labels.values.size(); ++i)
        CONTRA_CHECK(labels.values[i] < classes, "IDX file '", labels.source, "': label ", int(labels.values[i]),
                     " of sample ", i, " out of range, expected a class index below ", classes);
}

// check_same_count(images, labels): one label per image.
inline void check_same_count(const IdxImages& images, const IdxLabels& labels) {
    CONTRA_CHECK(labels.count() == images.count, "IDX count mismatch: expected ", images.count, " labels (the images in '",
                 images.source, "'), found ", labels.count(), " in '", labels.source, "'");
}

// pixel_statistics(images): mean and standard deviation of all pixels scaled to [0, 1]
// (how kFashionMnistNormalization was measured). Exact: integer histogram, then double.
inline Normalization pixel_statistics(const IdxImages& images) {
    std::uint64_t histogram[256] = {};
    for (std::uint8_t p : images.pixels) ++histogram[p];
    const double n = double(images.pixels.size());
    if (n == 0) return {};
    double sum = 0, squares = 0;
    for (int v = 0; v < 256; ++v) {
        const double x = v / 255.0;
        sum += double(histogram[v]) * x;
        squares += double(histogram[v]) * x * x;
    }
    const double mean = sum / n;
    const double variance = std::max(0.0, squares / n - mean * mean);  // exact enough: 256 bins, x in [0, 1]
    return {float(mean), float(std::sqrt(variance))};
}

// images_to_tensor(images, indices, norm): the chosen images as a float batch.
//   requires: every index in [0, images.count); norm.std > 0.
//   ensures:  shape [indices.size(), 1, rows, cols]; element = (pixel / 255 − mean) / std.
inline Tensor<float, cpu> images_to_tensor(const IdxImages& images, std::span<const std::int64_t> indices,
                                           Normalization norm) {
    CONTRA_CHECK(norm.std > 0, "images_to_tensor: normalisation std must be positive, got ", norm.std);
    const std::int64_t batch = std::int64_t(indices.size());
    auto out = Tensor<float, cpu>::empty(Shape{batch, 1, images.rows, images.cols});
    float lut[256];  // 256 possible pixel values: convert once
    for (int v = 0; v < 256; ++v) lut[v] = (float(v) / 255.0f - norm.mean) / norm.std;
    const std::int64_t n = images.pixels_per_image();
    for (std::int64_t b = 0; b < batch; ++b) {
        const std::uint8_t* src = images.image(indices[std::size_t(b)]);
        float* dst = out.data() + b * n;
        for (std::int64_t k = 0; k < n; ++k) dst[k] = lut[src[k]];
    }
    return out;
}

// images_to_tensor(images, begin, end, norm): images [begin, end) as a batch [end − begin, 1, rows, cols].
inline Tensor<float, cpu> images_to_tensor(const IdxImages& images, std::int64_t begin, std::int64_t end,
                                           Normalization norm) {
    CONTRA_CHECK(0 <= begin && begin <= end && end <= images.count, "images_to_tensor: range [", begin, ", ", end,
                 ") out of range [0, ", images.count, ") of ", images.source);
    std::vector<std::int64_t> indices(std::size_t(end - begin));
    std::iota(indices.begin(), indices.end(), begin);
    return images_to_tensor(images, indices, norm);
}

// labels_to_tensor(labels, indices): the chosen labels as class indices [indices.size()] (int32,
// the index type of the op contract's cross_entropy and gather_rows).
inline Tensor<std::int32_t, cpu> labels_to_tensor(const IdxLabels& labels, std::span<const std::int64_t> indices) {
    auto out = Tensor<std::int32_t, cpu>::empty(Shape{std::int64_t(indices.size())});
    for (std::size_t b = 0; b < indices.size(); ++b) {
        const std::int64_t i = indices[b];
        CONTRA_CHECK(0 <= i && i < labels.count(), "label index ", i, " out of range [0, ", labels.count(), ") of ",
                     labels.source);
        out[std::int64_t(b)] = labels.values[std::size_t(i)];
    }
    return out;
}

}  // namespace contra::data
