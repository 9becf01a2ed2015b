// Zero-shot classification: prompt ensembling by hand, the logit scale, and the classifier built
// from a real (tiny) CLIP model.
#include <doctest/doctest.h>

#include <cmath>
#include <contra/eval/zero_shot.hpp>
#include <contra/nn/nn.hpp>
#include <string>
#include <vector>

#include "../support/compare.hpp"

using namespace contra;
using namespace contra::eval;

namespace {
template <class T>
double row_norm(const Tensor<T, cpu>& x, std::int64_t r) {
    double s = 0;
    for (std::int64_t i = 0; i < x.size(1); ++i) s += double(x.at(r, i)) * double(x.at(r, i));
    return std::sqrt(s);
}

// A toy tokenizer for the tiny preset (vocabulary 24, context 6): start 1, the first four
// characters as ids 2..21, end 23 (the largest id, where the text tower pools).
std::vector<std::int32_t> toy_tokenize(const std::string& text) {
    std::vector<std::int32_t> ids{1};
    for (std::size_t i = 0; i < text.size() && i < 4; ++i) ids.push_back(2 + std::int32_t(static_cast<unsigned char>(text[i]) % 20));
    ids.push_back(23);
    return ids;
}
}  // namespace

TEST_CASE("class_embeddings: average of normalised prompt embeddings, renormalised") {
    // Class 0: prompts (3,4) and (0,2) → (0.6,0.8) and (0,1) → mean (0.3,0.9) → /√0.9.
    // (The mean of the raw vectors, (1.5,3)/‖·‖ = (0.447,0.894), would differ.)
    // Class 1: one prompt (−2,0) → (−1,0).
    const std::vector<Tensor<double, cpu>> per_class{Tensor<double, cpu>::from(Shape{2, 2}, {3, 4, 0, 2}),
                                                     Tensor<double, cpu>::from(Shape{1, 2}, {-2, 0})};
    const auto w = class_embeddings(per_class);
    REQUIRE(w.shape() == (Shape{2, 2}));
    CHECK(w.at(0, 0) == doctest::Approx(0.3 / std::sqrt(0.9)).epsilon(1e-12));
    CHECK(w.at(0, 1) == doctest::Approx(0.9 / std::sqrt(0.9)).epsilon(1e-12));
    CHECK(w.at(1, 0) == doctest::Approx(-1.0).epsilon(1e-12));
    CHECK(w.at(1, 1) == doctest::Approx(0.0));

    // The [C, K, E] form gives the same as one [K, E] tensor per class.
    const auto stacked = test::random_tensor<float>(Shape{3, 5, 4}, 11);  // [C, K, E]
    std::vector<Tensor<float, cpu>> split;
    for (std::int64_t c = 0; c < 3; ++c) split.push_back(stacked.row(c));
    const auto a = class_embeddings(stacked), b = class_embeddings(split);
    CHECK(test::max_abs_diff(a, b) == 0.0);
    for (std::int64_t c = 0; c < 3; ++c) CHECK(row_norm(a, c) == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("class_embeddings rejects mismatched prompt embeddings, naming the shapes") {
    const std::vector<Tensor<float, cpu>> bad{Tensor<float, cpu>::zeros(Shape{2, 4}), Tensor<float, cpu>::zeros(Shape{3, 5})};
    CHECK_THROWS_WITH_AS(class_embeddings(bad), doctest::Contains("class 1 has prompt embeddings [3,5]"), Error);
    CHECK_THROWS_AS(class_embeddings(std::vector<Tensor<float, cpu>>{}), Error);
    CHECK_THROWS_WITH_AS(class_embeddings(Tensor<float, cpu>::zeros(Shape{2, 4})), doctest::Contains("[2,4]"), Error);
}

TEST_CASE("zero_shot_logits: 100 · normalised images · classifierᵀ") {
    const auto images = Tensor<float, cpu>::from(Shape{3, 2}, {2, 0, 0, -3, 1, 1});  // [N, E]
    const auto classifier = Tensor<float, cpu>::from(Shape{2, 2}, {1, 0, 0, 1});     // [C, E]
    const auto logits = zero_shot_logits(images, classifier);
    REQUIRE(logits.shape() == (Shape{3, 2}));
    const float r = 100.0f / std::sqrt(2.0f);
    const auto expected = Tensor<float, cpu>::from(Shape{3, 2}, {100, 0, 0, -100, r, r});
    CHECK(test::max_abs_diff(logits, expected) < 1e-4);
    const auto half = zero_shot_logits(images, classifier, 50.0);
    CHECK(half.at(1, 1) == doctest::Approx(-50.0));

    CHECK_THROWS_WITH_AS(zero_shot_logits(images, Tensor<float, cpu>::zeros(Shape{2, 5})),
                         doctest::Contains("image embeddings [3,2] and classifier [2,5]"), Error);
}

TEST_CASE("class_probabilities: each row's softmax, without overflow at large logits") {
    const auto logits = Tensor<float, cpu>::from(Shape{2, 3}, {0.0f, std::log(3.0f), 0.0f, 1000.0f, 1000.0f, -1000.0f});
    const auto p = eval::class_probabilities(logits);
    REQUIRE(p.size() == 2);
    CHECK(p[0][0] == doctest::Approx(0.2));
    CHECK(p[0][1] == doctest::Approx(0.6));
    CHECK(p[0][2] == doctest::Approx(0.2));
    CHECK(p[1][0] == doctest::Approx(0.5));
    CHECK(p[1][1] == doctest::Approx(0.5));
    CHECK(p[1][2] == 0.0);
    CHECK_THROWS_WITH_AS(eval::class_probabilities(Tensor<float, cpu>::zeros(Shape{3})), doctest::Contains("must be [N, C]"),
                         Error);
}

TEST_CASE("tokenize_prompts pads rows to the longest with zeros") {
    const auto tokens = tokenize_prompts(toy_tokenize, {"ab", "abcdef", ""});
    REQUIRE(tokens.shape() == (Shape{3, 6}));
    CHECK(tokens.at(0, 3) == 23);  // "ab": start, 2 ids, end, then padding
    CHECK(tokens.at(0, 4) == 0);
    CHECK(tokens.at(0, 5) == 0);
    CHECK(tokens.at(1, 5) == 23);
    CHECK(tokens.at(2, 1) == 23);
    auto empty = [](const std::string&) { return std::vector<std::int32_t>{}; };
    CHECK_THROWS_WITH_AS(tokenize_prompts(empty, {"x"}), doctest::Contains("no ids for 'x'"), Error);
}

TEST_CASE("zero_shot_classifier on a tiny CLIP: [C, E] unit rows, equal to encoding the prompts by hand") {
    model::OpenAiClip<float, cpu> model(model::preset("tiny"), 7);
    const std::vector<std::string> classes{"cat", "dog", "bird"};
    const std::vector<std::string> templates{"a {}", "{} pic", "my {}."};
    const auto w = zero_shot_classifier(model, toy_tokenize, classes, templates, 2);  // batches of 2 prompts
    const std::int64_t e = model.config.embed_dim;
    REQUIRE(w.shape() == (Shape{3, e}));
    for (std::int64_t c = 0; c < 3; ++c) CHECK(row_norm(w, c) == doctest::Approx(1.0).epsilon(1e-5));

    // By hand: the nine prompts, class-major, encoded in one batch, ensembled per class.
    std::vector<std::string> prompts;
    for (const auto& c : classes)
        for (const auto& t : templates) prompts.push_back(data::caption(c, t));
    const auto tokens = tokenize_prompts(toy_tokenize, prompts);  // [9, L]
    Tensor<float, cpu> by_hand;
    {
        NoGrad no_grad;
        by_hand = to_device<cpu>(model.encode_text(tokens).value());  // [9, E]
    }
    const auto expected = class_embeddings(by_hand.reshape(Shape{3, 3, e}));
    std::string why;
    CHECK_MESSAGE(test::close(w, expected, 1e-5, 1e-6, &why), why);
    // Different classes get different classifiers.
    CHECK(test::max_abs_diff(w.row(0), w.row(1)) > 1e-3);

    // With images: logits [N, C], each within ±100.
    const auto images = test::random_tensor<float>(Shape{2, 3, 8, 8}, 3);
    const auto logits = zero_shot_logits(encode_images(model, images, 1), w);
    REQUIRE(logits.shape() == (Shape{2, 3}));
    for (std::int64_t i = 0; i < logits.numel(); ++i) CHECK(std::abs(logits[i]) <= 100.0f + 1e-3f);

    CHECK_THROWS_WITH_AS(zero_shot_classifier(model, toy_tokenize, classes, {"a photo"}), doctest::Contains("{}"), Error);
    CHECK_THROWS_AS(zero_shot_classifier(model, toy_tokenize, {}, templates), Error);
}
