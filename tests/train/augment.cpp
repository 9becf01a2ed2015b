// Fashion-MNIST training augmentation: flips and shifts move pixels where they should, and the
// same (seed, epoch, image) always gives the same image.
#include <doctest/doctest.h>

#include <contra/tasks/fashion_mnist.hpp>

using namespace contra;

TEST_CASE("augment_image flips and shifts by whole pixels and fills with background") {
    constexpr std::int64_t s = 8;
    std::vector<float> base(s * s, 0.0f);
    base[3 * s + 2] = 1.0f;  // one bright pixel at (y 3, x 2)
    bool saw_flip = false, saw_plain = false;
    for (std::uint64_t draw = 0; draw < 200; ++draw) {
        auto image = base;
        const RandomStream stream{3, 9};
        tasks::augment_image(image.data(), s, -0.5f, stream, draw);
        auto again = base;
        tasks::augment_image(again.data(), s, -0.5f, stream, draw);
        CHECK(image == again);
        // Exactly one bright pixel survives (it cannot leave an 8×8 image from (3,2) by ±2), the
        // rest is the old background (0) or the new fill (−0.5).
        std::int64_t bright = 0, at = -1;
        for (std::int64_t i = 0; i < s * s; ++i) {
            if (image[std::size_t(i)] == 1.0f) ++bright, at = i;
            else CHECK((image[std::size_t(i)] == 0.0f || image[std::size_t(i)] == -0.5f));
        }
        REQUIRE(bright == 1);
        const std::int64_t y = at / s, x = at % s;
        CHECK(std::abs(y - 3) <= 2);
        const bool plain = std::abs(x - 2) <= 2, flipped = std::abs(x - (s - 3)) <= 2;
        CHECK((plain || flipped));
        saw_plain |= plain && !flipped;
        saw_flip |= flipped && !plain;
    }
    CHECK(saw_plain);
    CHECK(saw_flip);
}
