// contra/data/image.hpp — CLIP's image preprocessing: decode, RGB, resize, crop, normalise, and
// the training-time random resized crop. Pulls in image_decode.hpp and image_resize.hpp.
// defines: contra::data::kClipMean, kClipStd, image_to_tensor_into, image_to_tensor, preprocess_into,
//          preprocess, preprocess_file, RandomResizedCropOptions, random_resized_crop_box,
//          random_resized_crop, preprocess_train_into, preprocess_train
//
// preprocess(image, S) reproduces OpenAI CLIP's transform on a PIL image (torchvision Resize(S,
// BICUBIC), CenterCrop(S), convert("RGB"), ToTensor, Normalize) pixel for pixel, except that
// alpha is dropped before the resize (torchvision resizes RGBA premultiplied, then CLIP drops
// alpha); opaque images are unaffected.
#pragma once
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <filesystem>

#include "../core/random.hpp"
#include "../core/tensor.hpp"
#include "image_decode.hpp"
#include "image_resize.hpp"

namespace contra::data {

// CLIP's per-channel normalisation (OpenAI clip.py _transform; open_clip OPENAI_DATASET_MEAN/STD).
inline constexpr std::array<double, 3> kClipMean = {0.48145466, 0.4578275, 0.40821073};
inline constexpr std::array<double, 3> kClipStd = {0.26862954, 0.26130258, 0.27577711};

// image_to_tensor_into(rgb, out): writes rgb as [3, height, width] (CHW) to out, each value
// (p / 255 − mean_c) / std_c computed in T in that order (as ToTensor + Normalize do in float32).
//   requires: rgb has 3 channels; out holds 3·width·height values.
template <std::floating_point T>
void image_to_tensor_into(const Image& rgb, T* out) {
    check_image(rgb, "image_to_tensor");
    CONTRA_CHECK(rgb.channels == 3, "image_to_tensor: needs an RGB image, got ", rgb.channels,
                 " channels (use to_rgb first)");
    const std::size_t plane = std::size_t(rgb.pixel_count());
    for (int c = 0; c < 3; ++c) {
        std::array<T, 256> value;
        for (int p = 0; p < 256; ++p) value[std::size_t(p)] = (T(p) / T(255) - T(kClipMean[std::size_t(c)])) / T(kClipStd[std::size_t(c)]);
        const std::uint8_t* src = rgb.pixels.data() + c;
        T* dst = out + std::size_t(c) * plane;
        for (std::size_t i = 0; i < plane; ++i) dst[i] = value[src[3 * i]];
    }
}

// image_to_tensor<T>(rgb): the same in a new [3, height, width] tensor.
template <std::floating_point T>
Tensor<T, cpu> image_to_tensor(const Image& rgb) {
    auto out = Tensor<T, cpu>::empty(Shape{3, rgb.height, rgb.width});
    image_to_tensor_into(rgb, out.data());
    return out;
}

// preprocess_into(image, size, out): CLIP's eval transform of any decoded image into out
// (3·size·size values, CHW): to RGB, shorter side to size (Pillow bicubic), centre crop, normalise.
// To fill a batch [N, 3, S, S], pass out = batch.data() + n·3·S·S.
template <std::floating_point T>
void preprocess_into(const Image& image, int size, T* out) {
    image_to_tensor_into(resize_center_crop(to_rgb(image), size), out);
}

// preprocess<T>(image, size): the same as a new [3, size, size] tensor.
template <std::floating_point T = float>
Tensor<T, cpu> preprocess(const Image& image, int size) {
    return image_to_tensor<T>(resize_center_crop(to_rgb(image), size));
}

// preprocess_file<T>(path, size, options): preprocess(read_image(path, options), size).
template <std::floating_point T = float>
Tensor<T, cpu> preprocess_file(const std::filesystem::path& path, int size, const DecodeOptions& options = {}) {
    return preprocess<T>(read_image(path, options), size);
}

// RandomResizedCropOptions: torchvision RandomResizedCrop's scale and ratio ranges (open_clip's
// training default scale (0.9, 1.0)).
struct RandomResizedCropOptions {
    double scale_min = 0.9, scale_max = 1.0;
    double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
    int attempts = 10;
};

namespace detail {

// round_half_even(x): Python's round() for a finite double ≥ 0.
inline double round_half_even(double x) {
    const double r = std::floor(x), diff = x - r;
    if (diff > 0.5) return r + 1;
    if (diff < 0.5) return r;
    return std::fmod(r, 2.0) == 0.0 ? r : r + 1;
}

// Draws of sample s live at counters [s·16, s·16 + 16) of the stream: attempt a uses counter
// s·16 + a (area from words 0–1, log-ratio from 2–3), the position uses s·16 + 15.
inline constexpr std::uint64_t kCropCountersPerSample = 16;

}  // namespace detail

// random_resized_crop_box(width, height, stream, sample, options): torchvision
// RandomResizedCrop.get_params: up to `attempts` tries of an area fraction uniform in
// [scale_min, scale_max] and an aspect ratio log-uniform in [ratio_min, ratio_max] (w =
// round(sqrt(area·ratio)), h = round(sqrt(area/ratio))) until the box fits, at a uniform
// position; else the central crop clamped to the ratio range. A pure function of
// (stream.seed, stream.stream, sample); samples below 2^60 never share draws.
inline CropBox random_resized_crop_box(int width, int height, const RandomStream& stream, std::uint64_t sample,
                                       const RandomResizedCropOptions& options = {}) {
    CONTRA_CHECK(width > 0 && height > 0, "random_resized_crop_box: empty image ", width, "x", height);
    CONTRA_CHECK(0 < options.scale_min && options.scale_min <= options.scale_max && options.scale_max <= 1.0 &&
                     0 < options.ratio_min && options.ratio_min <= options.ratio_max &&
                     options.attempts >= 0 && options.attempts < int(detail::kCropCountersPerSample),
                 "random_resized_crop_box: invalid options (scale [", options.scale_min, ", ", options.scale_max,
                 "], ratio [", options.ratio_min, ", ", options.ratio_max, "], ", options.attempts, " attempts)");
    const std::uint64_t base = sample * detail::kCropCountersPerSample;
    const double area = double(width) * height;
    const double log_lo = std::log(options.ratio_min), log_hi = std::log(options.ratio_max);
    for (int a = 0; a < options.attempts; ++a) {
        const auto bits = stream.bits(base + std::uint64_t(a));
        const double u_area = RandomStream::to_unit(bits.v[0], bits.v[1]);
        const double u_ratio = RandomStream::to_unit(bits.v[2], bits.v[3]);
        const double target = area * (options.scale_min + (options.scale_max - options.scale_min) * u_area);
        const double ratio = std::exp(log_lo + (log_hi - log_lo) * u_ratio);
        const double w = detail::round_half_even(std::sqrt(target * ratio));
        const double h = detail::round_half_even(std::sqrt(target / ratio));
        if (0 < w && w <= width && 0 < h && h <= height) {
            const auto pos = stream.bits(base + detail::kCropCountersPerSample - 1);
            const std::uint64_t r0 = (std::uint64_t(pos.v[0]) << 32) | pos.v[1];
            const std::uint64_t r1 = (std::uint64_t(pos.v[2]) << 32) | pos.v[3];
            const int top = int(r0 % std::uint64_t(height - int(h) + 1));
            const int left = int(r1 % std::uint64_t(width - int(w) + 1));
            return {top, left, int(h), int(w)};
        }
    }
    // torchvision's fallback: the whole image, or its centre clamped to the ratio range.
    const double in_ratio = double(width) / double(height);
    int w = width, h = height;
    if (in_ratio < options.ratio_min)
        h = int(detail::round_half_even(w / options.ratio_min));
    else if (in_ratio > options.ratio_max)
        w = int(detail::round_half_even(h * options.ratio_max));
    h = std::clamp(h, 1, height), w = std::clamp(w, 1, width);
    return {(height - h) / 2, (width - w) / 2, h, w};
}

// random_resized_crop(image, size, stream, sample, options): the box above cropped out and
// resized to size × size with Pillow's bicubic (torchvision's F.resized_crop: crop, then resize).
inline Image random_resized_crop(const Image& image, int size, const RandomStream& stream, std::uint64_t sample,
                                 const RandomResizedCropOptions& options = {}) {
    check_image(image, "random_resized_crop");
    CONTRA_CHECK(size > 0, "random_resized_crop: size must be positive, got ", size);
    const CropBox box = random_resized_crop_box(image.width, image.height, stream, sample, options);
    return resize_bicubic(crop(image, box), size, size);
}

// preprocess_train_into(image, size, stream, sample, out, options): CLIP's training transform:
// to RGB, random resized crop to size × size, normalise into out (3·size·size values, CHW).
template <std::floating_point T>
void preprocess_train_into(const Image& image, int size, const RandomStream& stream, std::uint64_t sample, T* out,
                           const RandomResizedCropOptions& options = {}) {
    image_to_tensor_into(random_resized_crop(to_rgb(image), size, stream, sample, options), out);
}

// preprocess_train<T>(image, size, stream, sample, options): the same as a new [3, size, size] tensor.
template <std::floating_point T = float>
Tensor<T, cpu> preprocess_train(const Image& image, int size, const RandomStream& stream, std::uint64_t sample,
                                const RandomResizedCropOptions& options = {}) {
    return image_to_tensor<T>(random_resized_crop(to_rgb(image), size, stream, sample, options));
}

}  // namespace contra::data
