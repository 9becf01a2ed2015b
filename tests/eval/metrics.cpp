// Classification metrics: arg-max, top-k accuracy and the confusion matrix on hand-computed cases.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <contra/core/random.hpp>
#include <contra/eval/metrics.hpp>
#include <numeric>
#include <vector>

using namespace contra;
using namespace contra::eval;

TEST_CASE("argmax_rows: the largest column, the lowest on ties") {
    const auto scores = Tensor<float, cpu>::from(Shape{4, 3}, {1, 3, 2,   //
                                                               5, 5, 1,   // tie: column 0
                                                               0, -1, -2, //
                                                               -4, 7, 7}); // tie: column 1
    CHECK(argmax_rows(scores) == std::vector<Label>{1, 0, 0, 1});
    const auto with_nan = Tensor<double, cpu>::from(Shape{1, 3}, {NAN, -1, -2});
    CHECK(argmax_rows(with_nan) == std::vector<Label>{1});  // NaN never wins
    CHECK_THROWS_WITH_AS(argmax_rows(Tensor<float, cpu>::zeros(Shape{3})), doctest::Contains("[3]"), Error);
}

TEST_CASE("topk_accuracy: hand-computed ranks, ties ordered by index") {
    const auto scores = Tensor<float, cpu>::from(Shape{4, 4}, {
                                                                  0.1f, 0.5f, 0.3f, 0.1f,  // label 1: rank 1
                                                                  0.4f, 0.3f, 0.2f, 0.1f,  // label 2: rank 3
                                                                  0.2f, 0.2f, 0.2f, 0.4f,  // label 1: 3 and 0 ahead → rank 3
                                                                  0.2f, 0.2f, 0.5f, 0.1f,  // label 0: 2 ahead → rank 2
                                                              });
    const std::vector<Label> labels{1, 2, 1, 0};
    CHECK(topk_accuracy(scores, labels, 1) == doctest::Approx(0.25));
    CHECK(topk_accuracy(scores, labels, 2) == doctest::Approx(0.5));
    CHECK(topk_accuracy(scores, labels, 3) == doctest::Approx(1.0));
    CHECK(topk_accuracy(scores, labels, 4) == doctest::Approx(1.0));
    // top-1 accuracy is the agreement of argmax_rows with the labels.
    const auto best = argmax_rows(scores);
    CHECK(best == std::vector<Label>{1, 0, 3, 2});
}

TEST_CASE("topk_accuracy equals the rank in a stable descending sort, on random integer scores with many ties") {
    const std::int64_t n = 200, c = 7;
    Rng rng(5, 1);
    auto scores = Tensor<double, cpu>::empty(Shape{n, c});
    std::vector<Label> labels(n);
    for (std::int64_t i = 0; i < n * c; ++i) scores[i] = double(rng.below(4));  // values 0..3: ties everywhere
    for (auto& y : labels) y = Label(rng.below(c));
    for (std::int64_t k = 1; k <= c; ++k) {
        std::int64_t hits = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            std::vector<std::int64_t> order(c);
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(),
                             [&](std::int64_t a, std::int64_t b) { return scores.at(i, a) > scores.at(i, b); });
            const auto at = std::find(order.begin(), order.end(), labels[i]) - order.begin();
            hits += at < k;
        }
        CAPTURE(k);
        CHECK(topk_accuracy(scores, labels, k) == doctest::Approx(double(hits) / double(n)));
    }
}

TEST_CASE("topk_accuracy rejects bad k, label counts and labels, naming the shapes") {
    const auto scores = Tensor<float, cpu>::zeros(Shape{4, 3});
    const std::vector<Label> labels{0, 1, 2, 0};
    CHECK_THROWS_WITH_AS(topk_accuracy(scores, labels, 0), doctest::Contains("[4,3]"), Error);
    CHECK_THROWS_WITH_AS(topk_accuracy(scores, labels, 4), doctest::Contains("k = 4"), Error);
    CHECK_THROWS_WITH_AS(topk_accuracy(scores, std::vector<Label>{0, 1}, 1), doctest::Contains("2 labels for scores [4,3]"),
                         Error);
    CHECK_THROWS_WITH_AS(topk_accuracy(scores, std::vector<Label>{0, 1, 3, 0}, 1),
                         doctest::Contains("label 3 at position 2"), Error);
}

TEST_CASE("ConfusionMatrix: counts, accuracy and per-class recall by hand") {
    ConfusionMatrix m(3);
    const std::vector<Label> actual{0, 0, 1, 1, 1, 2};
    const std::vector<Label> predicted{0, 1, 1, 1, 0, 2};
    m.add(predicted, actual);
    CHECK(m.total() == 6);
    CHECK(m.count(0, 0) == 1);
    CHECK(m.count(0, 1) == 1);  // a 0 predicted as 1
    CHECK(m.count(1, 0) == 1);
    CHECK(m.count(1, 1) == 2);
    CHECK(m.count(2, 2) == 1);
    CHECK(m.count(2, 0) == 0);
    CHECK(m.support(1) == 3);
    CHECK(m.accuracy() == doctest::Approx(4.0 / 6.0));
    const auto r = m.recall();
    REQUIRE(r.size() == 3);
    CHECK(r[0] == doctest::Approx(0.5));
    CHECK(r[1] == doctest::Approx(2.0 / 3.0));
    CHECK(r[2] == doctest::Approx(1.0));
    CHECK(m.mean_per_class_recall() == doctest::Approx((0.5 + 2.0 / 3.0 + 1.0) / 3.0));

    m.add(Label(2), Label(0));  // one more: predicted 2, actually 0
    CHECK(m.count(0, 2) == 1);
    CHECK(m.accuracy() == doctest::Approx(4.0 / 7.0));
    CHECK(m.recall()[0] == doctest::Approx(1.0 / 3.0));
}

TEST_CASE("ConfusionMatrix: classes without samples have NaN recall and are left out of the mean") {
    ConfusionMatrix m(4);
    CHECK(std::isnan(m.accuracy()));
    m.add(Label(1), Label(1));
    m.add(Label(0), Label(1));
    m.add(Label(3), Label(3));
    const auto r = m.recall();
    CHECK(std::isnan(r[0]));
    CHECK(std::isnan(r[2]));
    CHECK(r[1] == doctest::Approx(0.5));
    CHECK(m.mean_per_class_recall() == doctest::Approx(0.75));
}

TEST_CASE("ConfusionMatrix rejects labels outside its classes") {
    ConfusionMatrix m(3);
    CHECK_THROWS_WITH_AS(m.add(Label(3), Label(0)), doctest::Contains("predicted 3"), Error);
    CHECK_THROWS_AS(m.add(Label(0), Label(-1)), Error);
    CHECK_THROWS_WITH_AS(m.add(std::vector<Label>{0, 1}, std::vector<Label>{0}), doctest::Contains("2 predictions for 1 labels"),
                         Error);
    CHECK_THROWS_AS(ConfusionMatrix(0), Error);
}
