// Retrieval: ranks on a constructed case (ties, several captions per image), and agreement with a
// brute-force stable sort.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <contra/eval/retrieval.hpp>
#include <numeric>
#include <vector>

#include "../support/compare.hpp"

using namespace contra;
using namespace contra::eval;

namespace {
// Every similarity below is exact in binary (0, 0.5, 1), so ties are exact whatever the product's
// summation order.
//   images: I0 = e0, I1 = e1, I2 = e2, I3 = (1,1,1,1)/2
//   texts (owner): T0 = 2·e1 (0), T1 = e0 (0), T2 = e1 (1), T3 = e3 (2), T4 = (1,1,1,1) (3), T5 = 3·e2 (3)
Tensor<float, cpu> images4() {
    return Tensor<float, cpu>::from(Shape{4, 4}, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1});
}
Tensor<float, cpu> texts6() {
    return Tensor<float, cpu>::from(Shape{6, 4}, {0, 2, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 3, 0});
}
const std::vector<Label> kOwner{0, 0, 1, 2, 3, 3};
}  // namespace

TEST_CASE("retrieval: hand-computed ranks with ties and several captions per image") {
    const auto r = retrieval_metrics(images4(), texts6(), kOwner);
    // image → text (best caption):
    //   I0: T1 scores 1, nothing ahead → 1.   I1: T2 scores 1, T0 ties and has the lower index → 2.
    //   I2: T3 scores 0; T4 (.5), T5 (1) and the ties T0, T1, T2 are ahead → 6.   I3: T4 scores 1 → 1.
    CHECK(r.image_to_text_ranks == std::vector<std::int64_t>{1, 2, 6, 1});
    // text → image:
    //   T0 → I0 scores 0; I1 (1), I3 (.5) ahead, I2 ties with a higher index → 3.   T1 → 1.   T2 → 1.
    //   T3 → I2 scores 0; I3 (.5) and the ties I0, I1 ahead → 4.   T4 → 1.   T5 → I3 (.5); I2 (1) ahead → 2.
    CHECK(r.text_to_image_ranks == std::vector<std::int64_t>{3, 1, 1, 4, 1, 2});
    CHECK(r.image_to_text_r1 == doctest::Approx(0.5));
    CHECK(r.image_to_text_r5 == doctest::Approx(0.75));
    CHECK(r.image_to_text_r10 == doctest::Approx(1.0));
    CHECK(r.text_to_image_r1 == doctest::Approx(0.5));
    CHECK(r.text_to_image_r5 == doctest::Approx(1.0));
    CHECK(r.text_to_image_r10 == doctest::Approx(1.0));
    CHECK(r.image_to_text_mean_rank == doctest::Approx(2.5));
    CHECK(r.image_to_text_median_rank == doctest::Approx(1.0));  // median of 1,1,2,6 is 1.5, floored
    CHECK(r.text_to_image_mean_rank == doctest::Approx(2.0));
    CHECK(r.text_to_image_median_rank == doctest::Approx(1.0));

    // Row order of the blocks does not change anything.
    const auto one_at_a_time = retrieval_metrics(images4(), texts6(), kOwner, 1);
    CHECK(one_at_a_time.image_to_text_ranks == r.image_to_text_ranks);
    CHECK(one_at_a_time.text_to_image_ranks == r.text_to_image_ranks);
}

TEST_CASE("retrieval: a caption of the image anywhere in the top K is a hit") {
    // One image with three captions: the first is the worst match, the last the best.
    const auto images = Tensor<double, cpu>::from(Shape{2, 2}, {1, 0, 0, 1});
    const auto texts = Tensor<double, cpu>::from(Shape{4, 2}, {0, 1, 0.2, 1, 0.9, 0.1, 1, 0});
    const std::vector<Label> owner{0, 1, 0, 0};  // image 0: texts 0, 2, 3; image 1: text 1
    const auto r = retrieval_metrics(images, texts, owner);
    // Image 0's own texts rank 4th, 2nd and 1st: its rank is 1. Image 1's only text is behind text 0.
    CHECK(r.image_to_text_ranks == std::vector<std::int64_t>{1, 2});
    CHECK(r.text_to_image_ranks == std::vector<std::int64_t>{2, 1, 1, 1});
    CHECK(r.text_to_image_r1 == doctest::Approx(0.75));
}

TEST_CASE("retrieval equals a brute-force stable sort of the similarities") {
    const std::int64_t n = 9, m = 23, e = 5;
    const auto images = test::random_tensor<double>(Shape{n, e}, 21);
    const auto texts = test::random_tensor<double>(Shape{m, e}, 22);
    std::vector<Label> owner(m);
    for (std::int64_t j = 0; j < m; ++j) owner[j] = Label(j < n ? j : (j * 7) % n);
    auto cosine = [&](std::int64_t i, std::int64_t j) {
        double d = 0, a = 0, b = 0;
        for (std::int64_t k = 0; k < e; ++k) {
            d += images.at(i, k) * texts.at(j, k);
            a += images.at(i, k) * images.at(i, k);
            b += texts.at(j, k) * texts.at(j, k);
        }
        return d / std::sqrt(a * b);
    };
    std::vector<std::int64_t> i2t(n), t2i(m);
    for (std::int64_t i = 0; i < n; ++i) {
        std::vector<std::int64_t> order(m);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return cosine(i, a) > cosine(i, b); });
        const auto first = std::find_if(order.begin(), order.end(), [&](auto j) { return owner[j] == i; });
        i2t[i] = 1 + (first - order.begin());
    }
    for (std::int64_t j = 0; j < m; ++j) {
        std::vector<std::int64_t> order(n);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return cosine(a, j) > cosine(b, j); });
        t2i[j] = 1 + (std::find(order.begin(), order.end(), owner[j]) - order.begin());
    }
    const auto r = retrieval_metrics(images, texts, owner, 4);
    CHECK(r.image_to_text_ranks == i2t);
    CHECK(r.text_to_image_ranks == t2i);
    CHECK(r.text_to_image_r5 == doctest::Approx(recall_at_k(t2i, 5)));
}

TEST_CASE("retrieval rejects mismatched sizes and unusable inputs, naming the shapes") {
    const auto images = images4();
    const auto texts = texts6();
    CHECK_THROWS_WITH_AS(retrieval_metrics(images, Tensor<float, cpu>::zeros(Shape{6, 3}), kOwner),
                         doctest::Contains("image embeddings [4,4] and text embeddings [6,3]"), Error);
    CHECK_THROWS_WITH_AS(retrieval_metrics(images, texts, std::vector<Label>{0, 1, 2}),
                         doctest::Contains("3 image indices for text embeddings [6,4]"), Error);
    CHECK_THROWS_WITH_AS(retrieval_metrics(images, texts, std::vector<Label>{0, 0, 1, 2, 3, 4}),
                         doctest::Contains("label 4 at position 5"), Error);
    CHECK_THROWS_WITH_AS(retrieval_metrics(images, texts, std::vector<Label>{0, 0, 1, 1, 3, 3}),
                         doctest::Contains("image 2 of 4 has no text"), Error);
    auto broken = texts.clone();
    broken.at(2, 1) = NAN;
    CHECK_THROWS_WITH_AS(retrieval_metrics(images, broken, kOwner), doctest::Contains("NaN"), Error);
}
