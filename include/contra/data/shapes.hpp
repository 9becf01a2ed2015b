// contra/data/shapes.hpp — a procedural image–caption dataset: coloured shapes on a noisy
// background, captioned from their attributes ("a small red triangle on the left."). Small,
// endless, exactly reproducible, and built to test compositional zero-shot transfer: six
// colour–shape combinations are never drawn for training, yet every colour and every shape is.
// defines: contra::data::shapes::{kColours, kShapeNames, kSizeNames, kPositionPhrases, kHeldOut,
//          kTrainFrames, kEvalTemplates, Split, Size, Position, Config, Attributes, Sample, Batch, ShapeClass,
//          is_held_out, label_of, class_name, classes, check, draw_attributes, describe, render,
//          make_sample, make_batch}
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../core/config.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"

namespace contra::data::shapes {

// ── vocabulary ──────────────────────────────────────────────────────────────────────────────
struct Colour {
    std::string_view name;
    float rgb[3];  // in [0, 1]; every colour has a channel ≥ 0.75, far above the background
};
inline constexpr std::array<Colour, 6> kColours = {{
    {"red", {0.90f, 0.12f, 0.10f}},
    {"green", {0.15f, 0.75f, 0.20f}},
    {"blue", {0.15f, 0.30f, 0.95f}},
    {"yellow", {0.95f, 0.90f, 0.15f}},
    {"purple", {0.60f, 0.20f, 0.80f}},
    {"orange", {1.00f, 0.55f, 0.05f}},
}};
inline constexpr std::array<std::string_view, 6> kShapeNames = {"circle", "square", "triangle", "star", "cross", "ring"};
inline constexpr int kColourCount = int(kColours.size());
inline constexpr int kShapeCount = int(kShapeNames.size());
inline constexpr int kClassCount = kColourCount * kShapeCount;  // 36 colour–shape classes

enum class Size : std::uint8_t { small, large };
inline constexpr std::array<std::string_view, 2> kSizeNames = {"small", "large"};

enum class Position : std::uint8_t { left, right, top, bottom, center };
inline constexpr std::array<std::string_view, 5> kPositionPhrases = {"on the left", "on the right", "at the top",
                                                                     "at the bottom", "in the center"};
// Where each position puts the shape's centre, as a fraction of the image side (x right, y down).
// With the largest radius (0.21) and jitter (0.03) a shape stays inside the image and inside
// the half its position names.
inline constexpr float kPositionAnchor[5][2] = {{0.25f, 0.5f}, {0.75f, 0.5f}, {0.5f, 0.25f}, {0.5f, 0.75f}, {0.5f, 0.5f}};

// kHeldOut: (colour, shape) pairs the training split never draws. A Latin-square diagonal:
// each colour and each shape is held out exactly once, so all of them are still seen in
// training, in five other combinations each.
struct ColourShape {
    int colour, shape;
};
inline constexpr std::array<ColourShape, 6> kHeldOut = {{
    {0, 3},  // red star
    {1, 5},  // green ring
    {2, 2},  // blue triangle
    {3, 4},  // yellow cross
    {4, 0},  // purple circle
    {5, 1},  // orange square
}};

// Training captions: the object phrase "a [<size>] <colour> <shape> [<where>]" in one of these
// frames, the size and the position each named or not. The varied frames and word positions make
// the text tower read the colour and shape words wherever they stand; with one fixed grammar it
// learned where they stand instead, and prompts of any other form drifted away during training.
inline constexpr std::array<std::string_view, 6> kTrainFrames = {
    "{}.", "there is {}.", "here is {}.", "{} is shown.", "we see {}.", "this is {}.",
};

// Zero-shot prompts: "{}" is a class name such as "red triangle". None of their frames is a
// training frame, so evaluation never sees a training text (and never any text naming a
// held-out combination).
inline constexpr std::array<std::string_view, 6> kEvalTemplates = {
    "a photo of a {}.", "a picture of a {}.", "an image of a {}.",
    "a drawing of a {}.", "a rendering of a {}.", "a {} in a picture.",
};

constexpr bool is_held_out(int colour, int shape) {
    for (const auto& h : kHeldOut)
        if (h.colour == colour && h.shape == shape) return true;
    return false;
}
// label_of(colour, shape): the class index in classes(), colour-major.
constexpr int label_of(int colour, int shape) { return colour * kShapeCount + shape; }

// class_name(label): "red triangle".
inline std::string class_name(int label) {
    CONTRA_CHECK(0 <= label && label < kClassCount, "shapes class ", label, " out of range [0, ", kClassCount, ")");
    return std::string(kColours[std::size_t(label / kShapeCount)].name) + " " +
           std::string(kShapeNames[std::size_t(label % kShapeCount)]);
}

// ShapeClass: one of the 36 zero-shot classes; held_out ones never occur in training.
struct ShapeClass {
    int label, colour, shape;
    std::string name;  // "red triangle"
    bool held_out;
};
inline std::vector<ShapeClass> classes() {
    std::vector<ShapeClass> out;
    for (int c = 0; c < kColourCount; ++c)
        for (int s = 0; s < kShapeCount; ++s) out.push_back({label_of(c, s), c, s, class_name(label_of(c, s)), is_held_out(c, s)});
    return out;
}

// ── samples ─────────────────────────────────────────────────────────────────────────────────
// Split: which combinations a generator draws from (uniformly), each with its own random stream.
//   train:    the 30 combinations that are not held out
//   test:     all 36 (fresh images, none shared with train)
//   held_out: only the 6 held-out combinations
enum class Split : std::uint8_t { train, test, held_out };

struct Config {
    int image_size = 32;      // S: images are [3, S, S]
    float noise_std = 0.04f;  // per-pixel Gaussian noise on every channel
    int supersample = 4;      // coverage is measured on supersample² points per pixel (anti-aliasing)
};

// Attributes: everything random about one sample (the caption names colour, shape, size, position).
struct Attributes {
    int colour = 0, shape = 0;
    Size size = Size::small;
    Position position = Position::center;
    float radius = 0;       // fraction of S: small in [0.10, 0.14), large in [0.17, 0.21)
    float cx = 0, cy = 0;   // centre, fraction of S: the position's anchor ± 0.03
    float angle = 0;        // rotation in radians, within ±20° (circles and rings are unaffected)
    float background = 0;   // background grey level in [0.05, 0.15)
    // How the caption says it: the frame (kTrainFrames) and whether it names the size and position.
    int frame = 0;
    bool names_size = true, names_position = true;
    bool names_colour = true, names_shape = true;  // at least one: "a red shape", "a triangle"

    int label() const { return label_of(colour, shape); }
};

struct Sample {
    Tensor<float, cpu> image;  // [3, S, S], values in [0, 1]
    Attributes attributes;
    std::string caption;       // "a small red triangle on the left."
    int label = 0;             // class index in classes()
};

namespace detail {

inline std::uint64_t split_stream(Split split) {
    switch (split) {
        case Split::train: return stream_id("contra.data.shapes.train");
        case Split::test: return stream_id("contra.data.shapes.test");
        case Split::held_out: return stream_id("contra.data.shapes.held_out");
    }
    return 0;
}
inline constexpr std::uint64_t kDrawsPerSample = 16;  // attribute draws reserved per index

// The combinations a split draws from, in label order.
inline std::vector<int> split_labels(Split split) {
    std::vector<int> labels;
    for (int c = 0; c < kColourCount; ++c)
        for (int s = 0; s < kShapeCount; ++s) {
            const bool held = is_held_out(c, s);
            if (split == Split::test || (split == Split::train) != held) labels.push_back(label_of(c, s));
        }
    return labels;
}

// Point-in-polygon by the even–odd rule (vertices in order, x then y).
template <std::size_t N>
bool in_polygon(const std::array<std::array<float, 2>, N>& v, float x, float y) {
    bool inside = false;
    for (std::size_t i = 0, j = N - 1; i < N; j = i++) {
        const float xi = v[i][0], yi = v[i][1], xj = v[j][0], yj = v[j][1];
        if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
}

// inside(shape, x, y): is the point in the shape of unit radius centred at the origin (y down)?
inline bool inside(int shape, float x, float y) {
    // Triangle and star point up; both are centred on their circumcentre.
    static constexpr std::array<std::array<float, 2>, 3> triangle = {{{0.0f, -1.0f}, {0.8660254f, 0.5f}, {-0.8660254f, 0.5f}}};
    static const auto star = [] {
        std::array<std::array<float, 2>, 10> v{};
        for (int k = 0; k < 10; ++k) {
            const double a = -1.5707963267948966 + k * 0.6283185307179586;  // from the top, 36° apart
            const double r = k % 2 == 0 ? 1.0 : 0.45;
            v[std::size_t(k)] = {float(r * std::cos(a)), float(r * std::sin(a))};
        }
        return v;
    }();
    const float rr = x * x + y * y;
    switch (shape) {
        case 0: return rr <= 1.0f;                                              // circle
        case 1: return std::abs(x) <= 0.8f && std::abs(y) <= 0.8f;              // square
        case 2: return in_polygon(triangle, x, y);                              // triangle
        case 3: return in_polygon(star, x, y);                                  // star
        case 4: return (std::abs(x) <= 0.3f && std::abs(y) <= 1.0f) || (std::abs(y) <= 0.3f && std::abs(x) <= 1.0f);  // cross
        case 5: return rr <= 1.0f && rr >= 0.55f * 0.55f;                       // ring
    }
    return false;
}

}  // namespace detail

// draw_attributes(index, seed, split): the attributes of sample `index`, a pure function of its
// arguments (draw j of sample i is RandomStream{seed, split's stream}.uniform(16·i + j)).
inline Attributes draw_attributes(std::uint64_t index, std::uint64_t seed, Split split) {
    static const std::array<std::vector<int>, 3> labels = {detail::split_labels(Split::train),
                                                           detail::split_labels(Split::test),
                                                           detail::split_labels(Split::held_out)};
    const RandomStream rs{seed, detail::split_stream(split)};
    const std::uint64_t base = index * detail::kDrawsPerSample;
    const auto& choices = labels[std::size_t(split)];
    const int label = choices[std::size_t(rs.below(base + 0, choices.size()))];

    Attributes a;
    a.colour = label / kShapeCount;
    a.shape = label % kShapeCount;
    a.size = rs.below(base + 1, 2) == 0 ? Size::small : Size::large;
    a.position = Position(rs.below(base + 2, kPositionPhrases.size()));
    a.radius = float((a.size == Size::small ? 0.10 : 0.17) + 0.04 * rs.uniform(base + 3));
    const float* anchor = kPositionAnchor[int(a.position)];
    a.cx = anchor[0] + float(0.06 * (rs.uniform(base + 4) - 0.5));
    a.cy = anchor[1] + float(0.06 * (rs.uniform(base + 5) - 0.5));
    a.angle = float((rs.uniform(base + 6) - 0.5) * 2.0 * 0.3490658503988659);  // ±20°
    a.background = float(0.05 + 0.10 * rs.uniform(base + 7));
    a.frame = int(rs.below(base + 8, kTrainFrames.size()));
    a.names_size = rs.below(base + 9, 2) == 0;
    a.names_position = rs.below(base + 10, 2) == 0;
    const auto named = rs.below(base + 11, 4);  // half the captions name both colour and shape
    a.names_colour = named != 1;
    a.names_shape = named != 0;
    return a;
}

// describe(a): the caption, "a small red triangle on the left." in frame a.frame ("there is a red
// triangle at the top.", "a large blue ring is shown.", ...).
inline std::string describe(const Attributes& a) {
    std::string object = "a ";
    if (a.names_size) object += std::string(kSizeNames[std::size_t(a.size)]) + " ";
    if (a.names_colour) object += std::string(kColours[std::size_t(a.colour)].name) + " ";
    object += a.names_shape ? std::string(kShapeNames[std::size_t(a.shape)]) : std::string("shape");
    if (a.names_position) object += " " + std::string(kPositionPhrases[std::size_t(a.position)]);
    const std::string_view frame = kTrainFrames[std::size_t(a.frame)];
    const auto at = frame.find("{}");
    return std::string(frame.substr(0, at)) + object + std::string(frame.substr(at + 2));
}

// check(config): throws Error unless 8 <= image_size <= 4096, 1 <= supersample <= 16, noise_std >= 0.
inline void check(const Config& config) {
    CONTRA_CHECK(8 <= config.image_size && config.image_size <= 4096, "shapes: image_size must be in [8, 4096], got ",
                 config.image_size);
    CONTRA_CHECK(1 <= config.supersample && config.supersample <= 16, "shapes: supersample must be in [1, 16], got ",
                 config.supersample);
    CONTRA_CHECK(config.noise_std >= 0, "shapes: noise_std must be non-negative, got ", config.noise_std);
}

// render(a, noise, noise_base, config): the image of attributes a.
//   Each pixel is background·(1 − coverage) + colour·coverage + N(0, noise_std²), clamped to
//   [0, 1]; coverage is the fraction of supersample² sub-pixel points inside the shape.
//   Noise element k is noise.normal(noise_base + k).
//   requires: check(config) passes.
//   ensures:  shape [3, S, S]; every value in [0, 1].
inline Tensor<float, cpu> render(const Attributes& a, const RandomStream& noise, std::uint64_t noise_base,
                                 const Config& config = {}) {
    check(config);
    const int S = config.image_size, ss = config.supersample;
    auto image = Tensor<float, cpu>::empty(Shape{3, S, S});
    const float cx = a.cx * float(S), cy = a.cy * float(S), r = a.radius * float(S);
    const float c = std::cos(a.angle), s = std::sin(a.angle);
    const float* rgb = kColours[std::size_t(a.colour)].rgb;
    const float reach = r * 1.05f + 1.0f;  // pixels further than this from the centre cannot be covered
    const std::int64_t plane = std::int64_t(S) * S;
    for (int py = 0; py < S; ++py)
        for (int px = 0; px < S; ++px) {
            float coverage = 0;
            if (std::abs(float(px) + 0.5f - cx) <= reach && std::abs(float(py) + 0.5f - cy) <= reach) {
                int hits = 0;
                for (int j = 0; j < ss; ++j)
                    for (int i = 0; i < ss; ++i) {
                        const float x = (float(px) + (float(i) + 0.5f) / float(ss) - cx) / r;
                        const float y = (float(py) + (float(j) + 0.5f) / float(ss) - cy) / r;
                        hits += detail::inside(a.shape, c * x + s * y, -s * x + c * y);  // rotate by −angle
                    }
                coverage = float(hits) / float(ss * ss);
            }
            const std::int64_t pixel = std::int64_t(py) * S + px;
            for (int ch = 0; ch < 3; ++ch) {
                const float clean = a.background * (1 - coverage) + rgb[ch] * coverage;
                const float noisy = clean + config.noise_std * float(noise.normal(noise_base + std::uint64_t(ch * plane + pixel)));
                image[ch * plane + pixel] = std::clamp(noisy, 0.0f, 1.0f);
            }
        }
    return image;
}

// make_sample(index, seed, split, config): sample `index` of a split, identical on every call
// and thread count. Colour, shape, size, position, caption and label are exact on every machine;
// pixel values agree up to float rounding, which compilers and CPUs may do differently.
// Indices are independent draws: there is no epoch, any range of indices is a fresh set
// (training uses step·B + b).
inline Sample make_sample(std::uint64_t index, std::uint64_t seed, Split split, const Config& config = {}) {
    check(config);
    Sample out;
    out.attributes = draw_attributes(index, seed, split);
    const RandomStream noise{seed, detail::split_stream(split) ^ stream_id("noise")};
    const std::uint64_t per_image = 3 * std::uint64_t(config.image_size) * std::uint64_t(config.image_size);
    out.image = render(out.attributes, noise, index * per_image, config);
    out.caption = describe(out.attributes);
    out.label = out.attributes.label();
    return out;
}

// Batch: count consecutive samples stacked.
struct Batch {
    Tensor<float, cpu> images;           // [B, 3, S, S]
    Tensor<std::int32_t, cpu> labels;    // [B], class indices in classes()
    std::vector<std::string> captions;   // B training captions
};

// make_batch(first, count, seed, split, config): samples first .. first + count − 1.
inline Batch make_batch(std::uint64_t first, std::int64_t count, std::uint64_t seed, Split split,
                        const Config& config = {}) {
    CONTRA_CHECK(count >= 0, "shapes: batch size must be non-negative, got ", count);
    check(config);
    const std::int64_t S = config.image_size;
    Batch batch{Tensor<float, cpu>::empty(Shape{count, 3, S, S}), Tensor<std::int32_t, cpu>::empty(Shape{count}), {}};
    batch.captions.reserve(std::size_t(count));
    for (std::int64_t b = 0; b < count; ++b) {
        const Sample sample = make_sample(first + std::uint64_t(b), seed, split, config);
        std::copy(sample.image.data(), sample.image.data() + sample.image.numel(), batch.images.data() + b * 3 * S * S);
        batch.labels[b] = sample.label;
        batch.captions.push_back(sample.caption);
    }
    return batch;
}

}  // namespace contra::data::shapes
