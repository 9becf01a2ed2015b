// contra/data/image_resize.hpp — Pillow's BICUBIC resize, bit for bit, and torchvision's
// Resize / CenterCrop arithmetic on top of it.
// defines: contra::data::CropBox, crop, resize_bicubic, resize_bicubic_region, shorter_side_size,
//          resize_shorter_side, center_crop_box, center_crop, resize_center_crop
//
// The resize is Pillow's (src/libImaging/Resample.c, 8 bits per channel), which is what
// torchvision's Resize does to a PIL image and so what CLIP was trained on:
//   - separable: a horizontal pass into an 8-bit intermediate, then a vertical pass; a pass is
//     skipped when that axis keeps its size;
//   - Keys cubic, a = −0.5, support 2 input pixels, widened by the scale factor when shrinking
//     (antialiasing);
//   - output pixel i of an axis is centred at (i + 0.5)·scale; it reads inputs
//     [int(center − support + 0.5), int(center + support + 0.5)) clipped to the image, weighted by
//     cubic((j − center + 0.5)·(1/filterscale)) and normalised to sum 1;
//   - weights become integers with 22 fractional bits (rounded away from zero), sums start at
//     2^21 and are shifted back and clamped to 0..255 after each pass.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "image_decode.hpp"

namespace contra::data {

// CropBox: a region of an image in pixels, in torchvision's (top, left, height, width) order.
struct CropBox {
    int top = 0, left = 0, height = 0, width = 0;
};

// crop(image, box): a copy of the pixels inside box.  requires: box inside the image, non-empty.
inline Image crop(const Image& image, const CropBox& box) {
    check_image(image, "crop");
    CONTRA_CHECK(box.height > 0 && box.width > 0 && box.top >= 0 && box.left >= 0 &&
                     box.top + box.height <= image.height && box.left + box.width <= image.width,
                 "crop: box (top ", box.top, ", left ", box.left, ", ", box.width, "x", box.height,
                 ") is not inside the ", image.width, "x", image.height, " image");
    Image out{box.width, box.height, image.channels, {}};
    out.pixels.resize(std::size_t(out.pixel_count()) * std::size_t(out.channels));
    const std::size_t c = std::size_t(image.channels);
    for (int y = 0; y < box.height; ++y) {
        const std::uint8_t* src = image.row(box.top + y) + std::size_t(box.left) * c;
        std::copy(src, src + out.row_bytes(), out.row(y));
    }
    return out;
}

namespace detail {

inline constexpr int kResampleBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS

// keys_cubic(x): the bicubic convolution kernel with a = −0.5 (Pillow's bicubic_filter).
inline double keys_cubic(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// ResampleAxis: for outputs [first, first + count) of one axis resized from in_size to out_size,
// the first input each reads, how many, and their fixed-point weights ([count, ksize]).
struct ResampleAxis {
    int ksize = 0;
    std::vector<int> start, taps;
    std::vector<std::int32_t> weights;
};

// resample_axis: Pillow's precompute_coeffs + normalize_coeffs_8bpc for a box covering the
// whole input, restricted to the outputs asked for.
inline ResampleAxis resample_axis(int in_size, int out_size, int first, int count) {
    const double scale = double(in_size) / out_size;
    const double filterscale = std::max(scale, 1.0);
    const double support = 2.0 * filterscale;
    const double ss = 1.0 / filterscale;
    ResampleAxis axis;
    axis.ksize = int(std::ceil(support)) * 2 + 1;
    axis.start.resize(std::size_t(count));
    axis.taps.resize(std::size_t(count));
    axis.weights.assign(std::size_t(count) * std::size_t(axis.ksize), 0);
    std::vector<double> k(std::size_t(axis.ksize));
    for (int i = 0; i < count; ++i) {
        const double center = (first + i + 0.5) * scale;
        const int xmin = std::max(int(center - support + 0.5), 0);
        const int xmax = std::min(int(center + support + 0.5), in_size) - xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            k[std::size_t(x)] = keys_cubic((x + xmin - center + 0.5) * ss);
            ww += k[std::size_t(x)];
        }
        std::int32_t* w = axis.weights.data() + std::size_t(i) * std::size_t(axis.ksize);
        for (int x = 0; x < xmax; ++x) {
            const double v = (ww != 0.0 ? k[std::size_t(x)] / ww : k[std::size_t(x)]) * (1 << kResampleBits);
            w[x] = std::int32_t(v < 0 ? -0.5 + v : 0.5 + v);
        }
        axis.start[std::size_t(i)] = xmin;
        axis.taps[std::size_t(i)] = xmax;
    }
    return axis;
}

// clip8(sum): a fixed-point sum back to 0..255.
inline std::uint8_t clip8(std::int64_t sum) {
    return std::uint8_t(std::clamp<std::int64_t>(sum >> kResampleBits, 0, 255));
}

// horizontal_pass(in, rows, axis): rows [rows.first, rows.second) of in, resampled along x.
inline Image horizontal_pass(const Image& in, std::pair<int, int> rows, const ResampleAxis& axis) {
    const int c = in.channels;
    Image out{int(axis.start.size()), rows.second - rows.first, c, {}};
    out.pixels.resize(std::size_t(out.pixel_count()) * std::size_t(c));
    for (int y = 0; y < out.height; ++y) {
        const std::uint8_t* src = in.row(rows.first + y);
        std::uint8_t* dst = out.row(y);
        for (int i = 0; i < out.width; ++i) {
            const std::int32_t* w = axis.weights.data() + std::size_t(i) * std::size_t(axis.ksize);
            const std::uint8_t* p = src + std::size_t(axis.start[std::size_t(i)]) * std::size_t(c);
            std::int64_t sum[4] = {1 << (kResampleBits - 1), 1 << (kResampleBits - 1), 1 << (kResampleBits - 1),
                                   1 << (kResampleBits - 1)};
            for (int t = 0; t < axis.taps[std::size_t(i)]; ++t, p += c)
                for (int ch = 0; ch < c; ++ch) sum[ch] += std::int64_t(p[ch]) * w[t];
            for (int ch = 0; ch < c; ++ch) dst[std::size_t(i) * std::size_t(c) + std::size_t(ch)] = clip8(sum[ch]);
        }
    }
    return out;
}

// vertical_pass(in, axis, row_offset): in resampled along y, where input row r of the axis is
// row r − row_offset of in.
inline Image vertical_pass(const Image& in, const ResampleAxis& axis, int row_offset) {
    Image out{in.width, int(axis.start.size()), in.channels, {}};
    const std::size_t n = in.row_bytes();
    out.pixels.resize(std::size_t(out.height) * n);
    std::vector<std::int64_t> sum(n);
    for (int j = 0; j < out.height; ++j) {
        const std::int32_t* w = axis.weights.data() + std::size_t(j) * std::size_t(axis.ksize);
        std::fill(sum.begin(), sum.end(), std::int64_t(1) << (kResampleBits - 1));
        for (int t = 0; t < axis.taps[std::size_t(j)]; ++t) {
            const std::uint8_t* src = in.row(axis.start[std::size_t(j)] - row_offset + t);
            for (std::size_t b = 0; b < n; ++b) sum[b] += std::int64_t(src[b]) * w[t];
        }
        std::uint8_t* dst = out.row(j);
        for (std::size_t b = 0; b < n; ++b) dst[b] = clip8(sum[b]);
    }
    return out;
}

// round_half_even_half(d): Python's round(d / 2.0) for an integer d ≥ 0.
inline int round_half_even_half(int d) {
    const int k = d / 2;
    return d % 2 == 0 ? k : k + (k % 2);
}

}  // namespace detail

// resize_bicubic_region(image, width, height, region): the pixels inside region of
// resize_bicubic(image, width, height), computed without the rest (Pillow computes every output
// pixel on its own, so the values are identical). Memory: the region plus one intermediate of at
// most image.height × region.width pixels.
//   requires: a valid image; width, height ≥ 1; region non-empty and inside width × height.
inline Image resize_bicubic_region(const Image& image, int width, int height, const CropBox& region) {
    check_image(image, "resize_bicubic");
    CONTRA_CHECK(width >= 1 && height >= 1 && width <= (1 << 28) && height <= (1 << 28), "resize_bicubic: target ",
                 width, "x", height, " is empty or absurdly large");
    CONTRA_CHECK(region.height > 0 && region.width > 0 && region.top >= 0 && region.left >= 0 &&
                     region.top + region.height <= height && region.left + region.width <= width,
                 "resize_bicubic: region (top ", region.top, ", left ", region.left, ", ", region.width, "x",
                 region.height, ") is not inside the ", width, "x", height, " result");
    CONTRA_CHECK(std::int64_t(region.width) * region.height <= (std::int64_t(1) << 28), "resize_bicubic: region ",
                 region.width, "x", region.height, " has too many pixels");
    const bool need_horizontal = width != image.width, need_vertical = height != image.height;

    detail::ResampleAxis vertical;
    std::pair<int, int> rows{region.top, region.top + region.height};  // input rows the vertical pass reads
    if (need_vertical) {
        vertical = detail::resample_axis(image.height, height, region.top, region.height);
        rows = {vertical.start.front(), vertical.start.back() + vertical.taps.back()};
    }
    Image mid = need_horizontal
                    ? detail::horizontal_pass(image, rows,
                                              detail::resample_axis(image.width, width, region.left, region.width))
                    : crop(image, {rows.first, region.left, rows.second - rows.first, region.width});
    if (!need_vertical) return mid;
    return detail::vertical_pass(mid, vertical, rows.first);
}

// resize_bicubic(image, width, height): PIL's image.resize((width, height), Image.BICUBIC).
inline Image resize_bicubic(const Image& image, int width, int height) {
    return resize_bicubic_region(image, width, height, {0, 0, height, width});
}

// shorter_side_size(width, height, size): torchvision Resize(size)'s output (width, height): the
// shorter side becomes size, the longer int(size · long / short) (truncated).
inline std::pair<int, int> shorter_side_size(int width, int height, int size) {
    CONTRA_CHECK(width > 0 && height > 0 && size > 0, "shorter_side_size: needs positive sizes, got ", width, "x",
                 height, " to ", size);
    const int shorter = std::min(width, height), longer = std::max(width, height);
    const std::int64_t new_long = std::int64_t(double(std::int64_t(size) * longer) / double(shorter));
    CONTRA_CHECK(new_long <= (1 << 28), "shorter_side_size: ", width, "x", height, " to a shorter side of ", size,
                 " makes the longer side ", new_long);
    return width <= height ? std::pair<int, int>{size, int(new_long)} : std::pair<int, int>{int(new_long), size};
}

// resize_shorter_side(image, size): torchvision Resize(size, BICUBIC) on a PIL image.
inline Image resize_shorter_side(const Image& image, int size) {
    check_image(image, "resize_shorter_side");
    const auto [w, h] = shorter_side_size(image.width, image.height, size);
    return resize_bicubic(image, w, h);
}

// center_crop_box(width, height, size): torchvision CenterCrop(size)'s box: top =
// int(round((height − size) / 2.0)) with Python's round-half-to-even, left likewise.
//   requires: size ≤ width, height (torchvision would pad; CLIP's pipeline never needs it).
inline CropBox center_crop_box(int width, int height, int size) {
    CONTRA_CHECK(size > 0 && size <= width && size <= height, "center_crop_box: a ", size, "x", size,
                 " crop does not fit a ", width, "x", height, " image");
    return {detail::round_half_even_half(height - size), detail::round_half_even_half(width - size), size, size};
}

// center_crop(image, size): torchvision CenterCrop(size).
inline Image center_crop(const Image& image, int size) {
    return crop(image, center_crop_box(image.width, image.height, size));
}

// resize_center_crop(image, size): center_crop(resize_shorter_side(image, size), size), computing
// only the size × size pixels kept (so a 1 × 16384 strip costs no 3.6 M-pixel intermediate row).
inline Image resize_center_crop(const Image& image, int size) {
    check_image(image, "resize_center_crop");
    const auto [w, h] = shorter_side_size(image.width, image.height, size);
    return resize_bicubic_region(image, w, h, center_crop_box(w, h, size));
}

}  // namespace contra::data
