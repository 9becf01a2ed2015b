// The class names and templates shipped in data/zeroshot/: counts, known entries, and that they
// parse as contra eval reads them (every template with "{}" once, no blank class lines).
#include <doctest/doctest.h>

#include <contra/tasks/benchmark.hpp>
#include <filesystem>
#include <string>
#include <vector>

using namespace contra;

namespace {
const std::filesystem::path kLists = std::filesystem::path(CONTRA_SOURCE_DIR) / "data" / "zeroshot";

std::vector<std::string> class_names(const std::string& file) {
    return tasks::parse_class_names(tasks::read_text_file(kLists / file), file);
}
std::vector<std::string> templates(const std::string& file) {
    return tasks::parse_templates(tasks::read_text_file(kLists / file), file);
}
}  // namespace

TEST_CASE("zero-shot lists: the 1,000 ImageNet class names (OpenAI's cleaned names)") {
    const auto names = class_names("imagenet_classnames.txt");
    REQUIRE(names.size() == 1000);
    CHECK(names[0] == "tench");
    CHECK(names[1] == "goldfish");
    CHECK(names[21] == "kite (bird of prey)");
    CHECK(names[207] == "Golden Retriever");
    CHECK(names[281] == "tabby cat");
    CHECK(names[657] == "missile");  // the two classes OpenAI named alike
    CHECK(names[744] == "missile");
    CHECK(names[836] == "sunglass");
    CHECK(names[999] == "toilet paper");
    // Exactly one line per class: no line end left in a name, no blank line.
    for (const auto& n : names) CHECK((!n.empty() && n.find('\r') == std::string::npos && n.front() != ' ' && n.back() != ' '));
}

TEST_CASE("zero-shot lists: the CLIP paper's 80 ImageNet templates") {
    const auto t = templates("imagenet_templates.txt");
    REQUIRE(t.size() == 80);
    CHECK(t[0] == "a bad photo of a {}.");
    CHECK(t[1] == "a photo of many {}.");
    CHECK(t[35] == "a {} in a video game.");
    CHECK(t[39] == "a photo of a {}.");
    CHECK(t[79] == "a tattoo of the {}.");
}

TEST_CASE("zero-shot lists: CIFAR-10 and CIFAR-100 class names and CLIP's CIFAR templates") {
    const auto ten = class_names("cifar10_classnames.txt");
    REQUIRE(ten.size() == 10);
    CHECK(ten.front() == "airplane");
    CHECK(ten[3] == "cat");
    CHECK(ten.back() == "truck");
    const auto hundred = class_names("cifar100_classnames.txt");
    REQUIRE(hundred.size() == 100);
    CHECK(hundred.front() == "apple");
    CHECK(hundred[1] == "aquarium fish");
    CHECK(hundred[58] == "pickup truck");
    CHECK(hundred.back() == "worm");
    const auto t = templates("cifar_templates.txt");
    REQUIRE(t.size() == 18);
    CHECK(t.front() == "a photo of a {}.");
    CHECK(t.back() == "a photo of the big {}.");
}

TEST_CASE("zero-shot lists: the parsers reject what would shift or break the lists") {
    CHECK_THROWS_WITH_AS(tasks::parse_class_names("cat\n\ndog\n", "names.txt"), doctest::Contains("names.txt:2"), Error);
    CHECK_THROWS_WITH_AS(tasks::parse_class_names("\n \n", "names.txt"), doctest::Contains("no class names"), Error);
    CHECK(tasks::parse_class_names("cat\r\ndog\r\n\r\n", "names.txt") == std::vector<std::string>{"cat", "dog"});
    CHECK_THROWS_WITH_AS(tasks::parse_templates("a photo of a {}.\na photo\n", "t.txt"), doctest::Contains("t.txt:2"), Error);
    CHECK_THROWS_WITH_AS(tasks::parse_templates("# only a comment\n", "t.txt"), doctest::Contains("no templates"), Error);
    CHECK(tasks::parse_templates("# comment\n\nitap of a {}.\n", "t.txt") == std::vector<std::string>{"itap of a {}."});
}
