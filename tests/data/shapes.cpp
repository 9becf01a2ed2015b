// The procedural shapes dataset: determinism, held-out combinations, image content that matches
// the caption.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <contra/data/captions.hpp>
#include <contra/data/shapes.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace contra;
namespace shapes = contra::data::shapes;

namespace {

// Parsed: the colour, shape, size and position a caption names (−1: not named), by its words.
struct Parsed {
    int colour = -1, shape = -1, size = -1, position = -1;
};
Parsed parse_caption(const std::string& caption) {
    Parsed p;
    std::string text = " " + caption;
    if (text.ends_with(".")) text.back() = ' ';  // words are then " word "
    const auto names = [&](std::string_view words) { return text.find(" " + std::string(words) + " ") != std::string::npos; };
    for (int c = 0; c < shapes::kColourCount; ++c)
        if (names(shapes::kColours[std::size_t(c)].name)) p.colour = c;
    for (int s = 0; s < shapes::kShapeCount; ++s)
        if (names(shapes::kShapeNames[std::size_t(s)])) p.shape = s;
    for (int z = 0; z < 2; ++z)
        if (names(shapes::kSizeNames[std::size_t(z)])) p.size = z;
    for (int w = 0; w < 5; ++w)
        if (names(shapes::kPositionPhrases[std::size_t(w)])) p.position = w;
    return p;
}

// Foreground: pixels whose brightest channel is above 0.5 (the background is at most 0.15 plus
// noise of σ = 0.04; every colour has a channel of at least 0.75).
struct Foreground {
    int pixels = 0;
    double cx = 0, cy = 0;           // centroid, in pixels
    std::array<double, 3> rgb{};     // mean colour
};
Foreground foreground(const Tensor<float, cpu>& image) {
    const std::int64_t S = image.size(1);
    Foreground f;
    for (std::int64_t y = 0; y < S; ++y)
        for (std::int64_t x = 0; x < S; ++x) {
            const float r = image.at(0, y, x), g = image.at(1, y, x), b = image.at(2, y, x);
            if (std::max({r, g, b}) <= 0.5f) continue;
            ++f.pixels;
            f.cx += double(x) + 0.5, f.cy += double(y) + 0.5;
            f.rgb[0] += r, f.rgb[1] += g, f.rgb[2] += b;
        }
    if (f.pixels) {
        f.cx /= f.pixels, f.cy /= f.pixels;
        for (auto& v : f.rgb) v /= f.pixels;
    }
    return f;
}

int nearest_colour(const std::array<double, 3>& rgb) {
    int best = -1;
    double best_d = 1e9;
    for (int c = 0; c < shapes::kColourCount; ++c) {
        double d = 0;
        for (int ch = 0; ch < 3; ++ch) d += std::pow(rgb[std::size_t(ch)] - shapes::kColours[std::size_t(c)].rgb[ch], 2);
        if (d < best_d) best_d = d, best = c;
    }
    return best;
}

}  // namespace

TEST_CASE("shapes: 36 classes, six held out, each colour and each shape held out once") {
    const auto classes = shapes::classes();
    REQUIRE(classes.size() == 36);
    std::array<int, 6> colour_held{}, shape_held{};
    std::set<std::string> names;
    for (int i = 0; i < 36; ++i) {
        const auto& c = classes[std::size_t(i)];
        CHECK(c.label == i);
        CHECK(shapes::label_of(c.colour, c.shape) == i);
        CHECK(c.name == shapes::class_name(i));
        names.insert(c.name);
        if (c.held_out) ++colour_held[std::size_t(c.colour)], ++shape_held[std::size_t(c.shape)];
    }
    CHECK(names.size() == 36);
    CHECK(classes[std::size_t(shapes::label_of(2, 2))].name == "blue triangle");
    for (int k = 0; k < 6; ++k) {
        CHECK(colour_held[std::size_t(k)] == 1);
        CHECK(shape_held[std::size_t(k)] == 1);
    }
    CHECK_THROWS_AS(shapes::class_name(36), Error);
}

TEST_CASE("shapes: a sample is a pure function of (index, seed, split)") {
    for (auto split : {shapes::Split::train, shapes::Split::test, shapes::Split::held_out}) {
        for (std::uint64_t index : {0ull, 1ull, 977ull, 1ull << 40}) {
            const auto a = shapes::make_sample(index, 7, split);
            const auto b = shapes::make_sample(index, 7, split);
            REQUIRE(a.image.shape() == Shape{3, 32, 32});
            CHECK(a.caption == b.caption);
            CHECK(a.label == b.label);
            CHECK(a.image.to_vector() == b.image.to_vector());
            CHECK(a.image.to_vector() != shapes::make_sample(index, 8, split).image.to_vector());
            CHECK(a.image.to_vector() != shapes::make_sample(index + 1, 7, split).image.to_vector());
        }
    }
    // The same index in two splits is two different images.
    CHECK(shapes::make_sample(3, 7, shapes::Split::train).image.to_vector() !=
          shapes::make_sample(3, 7, shapes::Split::test).image.to_vector());

    const auto batch = shapes::make_batch(10, 4, 7, shapes::Split::train);
    REQUIRE(batch.images.shape() == Shape{4, 3, 32, 32});
    for (std::int64_t b = 0; b < 4; ++b) {
        const auto s = shapes::make_sample(10 + std::uint64_t(b), 7, shapes::Split::train);
        CHECK(batch.captions[std::size_t(b)] == s.caption);
        CHECK(batch.labels[b] == s.label);
        CHECK(batch.images.row(b).to_vector() == s.image.to_vector());
    }
}

TEST_CASE("shapes: training never shows a held-out combination, yet every colour and shape") {
    std::set<int> seen;
    std::array<int, 6> colours{}, kinds{};
    for (std::uint64_t i = 0; i < 5000; ++i) {
        const auto s = shapes::make_sample(i, 1234, shapes::Split::train);
        const Parsed named = parse_caption(s.caption);
        CHECK(named.colour == (s.attributes.names_colour ? s.attributes.colour : -1));
        CHECK(named.shape == (s.attributes.names_shape ? s.attributes.shape : -1));
        const Parsed p{s.attributes.colour, s.attributes.shape};
        CHECK(s.label == shapes::label_of(p.colour, p.shape));
        if (shapes::is_held_out(p.colour, p.shape)) {
            FAIL("training sample ", i, " is a held-out combination: ", s.caption);
        }
        seen.insert(s.label);
        ++colours[std::size_t(p.colour)], ++kinds[std::size_t(p.shape)];
    }
    CHECK(seen.size() == 30);  // all the combinations that are not held out
    for (int k = 0; k < 6; ++k) {
        CHECK(colours[std::size_t(k)] > 500);  // 5000 / 6 expected
        CHECK(kinds[std::size_t(k)] > 500);
    }

    std::set<int> held, all;
    for (std::uint64_t i = 0; i < 600; ++i) {
        const auto h = shapes::draw_attributes(i, 1234, shapes::Split::held_out);
        CHECK(shapes::is_held_out(h.colour, h.shape));
        held.insert(h.label());
        all.insert(shapes::draw_attributes(i, 1234, shapes::Split::test).label());
    }
    CHECK(held.size() == 6);
    CHECK(all.size() == 36);
}

TEST_CASE("shapes: the image shows what the caption says, where it says") {
    std::array<double, 6> small_area{}, large_area{};
    std::array<int, 6> small_n{}, large_n{};
    std::set<int> positions;
    for (std::uint64_t i = 0; i < 400; ++i) {
        const auto s = shapes::make_sample(i, 99, shapes::Split::test);
        CAPTURE(i);
        CAPTURE(s.caption);
        const auto values = s.image.to_vector();
        CHECK(std::all_of(values.begin(), values.end(), [](float v) { return v >= 0.0f && v <= 1.0f; }));
        // The caption says the colour and shape, and the size and position when it names them.
        const Parsed named = parse_caption(s.caption);
        CHECK(named.colour == (s.attributes.names_colour ? s.attributes.colour : -1));
        CHECK(named.shape == (s.attributes.names_shape ? s.attributes.shape : -1));
        CHECK((s.attributes.names_colour || s.attributes.names_shape));
        CHECK(named.size == (s.attributes.names_size ? int(s.attributes.size) : -1));
        CHECK(named.position == (s.attributes.names_position ? int(s.attributes.position) : -1));
        const Parsed p{s.attributes.colour, s.attributes.shape, int(s.attributes.size), int(s.attributes.position)};
        positions.insert(p.position);

        const Foreground f = foreground(s.image);
        REQUIRE(f.pixels >= 6);
        CHECK(nearest_colour(f.rgb) == p.colour);
        const double S = 32, x = f.cx / S, y = f.cy / S;  // centroid as a fraction of the side
        switch (p.position) {
            case 0: CHECK(x < 0.36); CHECK(std::abs(y - 0.5) < 0.1); break;  // left
            case 1: CHECK(x > 0.64); CHECK(std::abs(y - 0.5) < 0.1); break;  // right
            case 2: CHECK(y < 0.36); CHECK(std::abs(x - 0.5) < 0.1); break;  // top
            case 3: CHECK(y > 0.64); CHECK(std::abs(x - 0.5) < 0.1); break;  // bottom
            case 4: CHECK(std::abs(x - 0.5) < 0.1); CHECK(std::abs(y - 0.5) < 0.1); break;  // center
        }
        // Nothing bright outside the half the caption names.
        int outside = 0;
        for (std::int64_t py = 0; py < 32; ++py)
            for (std::int64_t px = 0; px < 32; ++px) {
                const float m = std::max({s.image.at(0, py, px), s.image.at(1, py, px), s.image.at(2, py, px)});
                if (m <= 0.5f) continue;
                outside += (p.position == 0 && px >= 16) || (p.position == 1 && px < 16) ||
                           (p.position == 2 && py >= 16) || (p.position == 3 && py < 16);
            }
        CHECK(outside == 0);
        const auto shape = std::size_t(p.shape);
        if (p.size == 0) small_area[shape] += f.pixels, ++small_n[shape];
        else large_area[shape] += f.pixels, ++large_n[shape];
    }
    CHECK(positions.size() == 5);
    for (std::size_t k = 0; k < 6; ++k) {
        CAPTURE(shapes::kShapeNames[k]);
        REQUIRE(small_n[k] > 0);
        REQUIRE(large_n[k] > 0);
        CHECK(large_area[k] / large_n[k] > 1.5 * small_area[k] / small_n[k]);
    }
}

TEST_CASE("shapes: background noise is present and configurable") {
    const auto a = shapes::make_sample(5, 3, shapes::Split::train);
    // The corner pixels are background: noisy, dark, and not all equal.
    std::set<float> corner;
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x) {
            corner.insert(a.image.at(0, y, x));
            CHECK(a.image.at(0, y, x) < 0.35f);
        }
    CHECK(corner.size() > 8);

    shapes::Config clean;
    clean.noise_std = 0;
    clean.image_size = 64;
    const auto b = shapes::make_sample(5, 3, shapes::Split::train, clean);
    REQUIRE(b.image.shape() == Shape{3, 64, 64});
    CHECK(b.image.at(0, 0, 0) == doctest::Approx(b.attributes.background));
    CHECK(b.image.at(2, 63, 0) == doctest::Approx(b.attributes.background));
    CHECK(b.caption == a.caption);  // attributes do not depend on the image size

    shapes::Config bad;
    bad.image_size = 4;
    CHECK_THROWS_WITH_AS(shapes::make_sample(0, 0, shapes::Split::train, bad), doctest::Contains("image_size"), Error);
    bad = {};
    bad.noise_std = -1;
    CHECK_THROWS_AS(shapes::make_sample(0, 0, shapes::Split::train, bad), Error);
}

TEST_CASE("shapes: evaluation prompts are never training captions, which vary their frame and words") {
    std::set<std::string> training;
    for (int c = 0; c < shapes::kColourCount; ++c)
        for (int s = 0; s < shapes::kShapeCount; ++s)
            for (int f = 0; f < int(shapes::kTrainFrames.size()); ++f)
                for (int z = -1; z < 2; ++z)
                    for (int w = -1; w < 5; ++w)
                        for (int named = 0; named < 3; ++named) {  // colour, shape, both
                            shapes::Attributes a;
                            a.colour = c, a.shape = s, a.frame = f;
                            a.names_size = z >= 0, a.size = shapes::Size(std::max(z, 0));
                            a.names_position = w >= 0, a.position = shapes::Position(std::max(w, 0));
                            a.names_colour = named != 1, a.names_shape = named != 0;
                            training.insert(shapes::describe(a));
                        }
    CHECK(training.size() == 36 * 6 * 3 * 6 + 6 * 6 * 3 * 6 + 6 * 6 * 3 * 6);  // both named; colour only; shape only
    CHECK(training.count("a small red triangle on the left.") == 1);
    CHECK(training.count("there is a red triangle.") == 1);
    CHECK(training.count("a large blue ring at the top is shown.") == 1);
    CHECK(training.count("here is a red shape.") == 1);
    CHECK(training.count("we see a small triangle on the left.") == 1);
    CHECK(shapes::kEvalTemplates.size() >= 6);
    for (const auto& cls : shapes::classes())
        for (auto t : shapes::kEvalTemplates) {
            const std::string prompt = data::caption(cls.name, t);
            CAPTURE(prompt);
            CHECK(training.count(prompt) == 0);
        }
    CHECK(data::caption("red triangle", shapes::kEvalTemplates[0]) == "a photo of a red triangle.");
    // The generator uses every frame, and names the size, the position, and colour with shape
    // (rather than one of them) about half the time each.
    std::set<int> frames;
    int sized = 0, placed = 0, both = 0;
    for (std::uint64_t i = 0; i < 600; ++i) {
        const auto a = shapes::draw_attributes(i, 7, shapes::Split::train);
        frames.insert(a.frame);
        sized += a.names_size, placed += a.names_position, both += a.names_colour && a.names_shape;
    }
    CHECK(both > 240);
    CHECK(both < 360);
    CHECK(frames.size() == shapes::kTrainFrames.size());
    CHECK(sized > 240);
    CHECK(sized < 360);
    CHECK(placed > 240);
    CHECK(placed < 360);
}
