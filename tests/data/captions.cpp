// Caption templates: disjoint training and evaluation sets, deterministic template draws.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <contra/data/captions.hpp>
#include <contra/data/fashion_mnist.hpp>
#include <set>
#include <string>

using namespace contra;
using namespace contra::data;

TEST_CASE("captions: training and evaluation templates are disjoint and well formed") {
    CHECK(kTrainTemplates.size() >= 8);
    CHECK(kEvalTemplates.size() >= 6);
    CHECK(kPeerEvalTemplateCount <= kEvalTemplates.size());
    const std::set<std::string_view> train(kTrainTemplates.begin(), kTrainTemplates.end());
    const std::set<std::string_view> eval(kEvalTemplates.begin(), kEvalTemplates.end());
    CHECK(train.size() == kTrainTemplates.size());  // no duplicates
    CHECK(eval.size() == kEvalTemplates.size());
    for (auto t : kEvalTemplates) {
        CAPTURE(t);
        CHECK(train.count(t) == 0);
    }
    for (auto set : {std::span<const std::string_view>(kTrainTemplates), std::span<const std::string_view>(kEvalTemplates)})
        for (auto t : set) {
            CAPTURE(t);
            const auto at = t.find("{}");
            REQUIRE(at != std::string_view::npos);
            CHECK(t.find("{}", at + 1) == std::string_view::npos);
        }

    // No evaluation caption of any class is a training caption of any class.
    std::set<std::string> training_captions;
    for (auto c : kFashionMnistClasses)
        for (auto t : kTrainTemplates) training_captions.insert(caption(c, t));
    for (auto c : kFashionMnistClasses)
        for (const auto& e : eval_captions(c)) {
            CAPTURE(e);
            CHECK(training_captions.count(e) == 0);
        }
}

TEST_CASE("captions: filling a template") {
    CHECK(caption("ankle boot", "a photo of a {}.") == "a photo of a ankle boot.");
    CHECK(caption("bag", "{}") == "bag");
    CHECK(caption("", "a {}.") == "a .");
    CHECK_THROWS_WITH_AS(caption("bag", "a photo."), doctest::Contains("exactly once"), Error);
    CHECK_THROWS_AS(caption("bag", "a {} of a {}."), Error);
    const auto all = eval_captions("coat");
    REQUIRE(all.size() == kEvalTemplates.size());
    CHECK(all[0] == "a good photo of a coat.");
    const auto peer = eval_captions("coat", std::span(kEvalTemplates).first(kPeerEvalTemplateCount));
    CHECK(peer.size() == kPeerEvalTemplateCount);
}

TEST_CASE("captions: training templates are a deterministic, roughly uniform function of (stream, index)") {
    const RandomStream a{42, stream_id("captions")}, same{42, stream_id("captions")}, other{43, stream_id("captions")};
    int differ = 0;
    std::vector<int> counts(kTrainTemplates.size(), 0);
    const int n = 12000;
    for (std::uint64_t i = 0; i < std::uint64_t(n); ++i) {
        const auto t = training_template(a, i);
        REQUIRE(t == training_template(same, i));
        differ += t != training_template(other, i);
        const auto it = std::find(kTrainTemplates.begin(), kTrainTemplates.end(), t);
        REQUIRE(it != kTrainTemplates.end());
        ++counts[std::size_t(it - kTrainTemplates.begin())];
    }
    CHECK(differ > n / 2);  // another seed gives another sequence
    for (std::size_t k = 0; k < counts.size(); ++k) {
        CAPTURE(kTrainTemplates[k]);
        CHECK(counts[k] > 800);  // expected 1000 each; a 6-sigma band is about ±190
        CHECK(counts[k] < 1200);
    }
    CHECK(training_caption("dress", a, 5) == caption("dress", training_template(a, 5)));
}

TEST_CASE("captions: read_templates skips blanks and comments, and names a bad line") {
    const auto path = std::filesystem::temp_directory_path() / ("contra_templates_" + std::to_string(::getpid()) + ".txt");
    std::ofstream(path) << "# prompts\r\na photo of a {}.\r\n\n  \nart of the {}.\n";
    const auto templates = data::read_templates(path.string());
    REQUIRE(templates.size() == 2);
    CHECK(templates[0] == "a photo of a {}.");
    CHECK(templates[1] == "art of the {}.");
    std::ofstream(path) << "a photo of a {}.\nno slot here\n";
    CHECK_THROWS_WITH_AS(data::read_templates(path.string()), doctest::Contains(":2: 'no slot here'"), Error);
    std::ofstream(path) << "{} and {}\n";
    CHECK_THROWS_WITH_AS(data::read_templates(path.string()), doctest::Contains("exactly once"), Error);
    std::ofstream(path) << "# only a comment\n";
    CHECK_THROWS_WITH_AS(data::read_templates(path.string()), doctest::Contains("no templates"), Error);
    std::filesystem::remove(path);
    CHECK_THROWS_WITH_AS(data::read_templates(path.string()), doctest::Contains("cannot be read"), Error);
}
