// CLIP's tokenizer with the standard merges file: known ids, the Python oracle's ids
// (tests/text/clip_tokens.txt, made by tests/text/make_tokens.py), and hostile inputs.
// Skipped, saying so, when the merges file is absent.
#include <doctest/doctest.h>

#include <algorithm>
#include <contra/data/tokenizer.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/skip.hpp"

using namespace contra;
using namespace contra::data;
using Ids = std::vector<std::int32_t>;

namespace {

constexpr const char* kMergesPath = CONTRA_SHARED_DIR "/data/bpe_simple_vocab_16e6.txt.gz";

// clip(): the standard tokenizer, loaded once; nullptr (after saying so) when the file is absent.
const Tokenizer* clip() {
    static const std::unique_ptr<Tokenizer> tok = []() -> std::unique_ptr<Tokenizer> {
        if (!std::ifstream(kMergesPath)) return nullptr;
        return std::make_unique<Tokenizer>(Tokenizer::from_merges_file(kMergesPath));
    }();
    if (!tok) test::skip("CLIP merges file not found at " CONTRA_SHARED_DIR "/data/bpe_simple_vocab_16e6.txt.gz");
    return tok.get();
}

// row(ids, n): [49406] + ids + [49407] padded with 0 to n.
Ids row(Ids ids, std::size_t n = 77) {
    ids.insert(ids.begin(), 49406);
    ids.push_back(49407);
    ids.resize(n, 0);
    return ids;
}

struct OracleCase {
    std::string input;
    Ids ids;
};

std::vector<OracleCase> oracle_cases() {
    std::ifstream in(CONTRA_SOURCE_DIR "/tests/text/clip_tokens.txt");
    REQUIRE_MESSAGE(in.good(), "tests/text/clip_tokens.txt is missing");
    std::vector<OracleCase> cases;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto tab = line.find('\t');
        REQUIRE(tab != std::string::npos);
        OracleCase c;
        for (std::size_t i = 0; i + 1 < tab; i += 2) c.input.push_back(char(std::stoi(line.substr(i, 2), nullptr, 16)));
        std::istringstream ids(line.substr(tab + 1));
        for (std::int32_t id; ids >> id;) c.ids.push_back(id);
        cases.push_back(std::move(c));
    }
    return cases;
}

std::string join_pieces(const std::string& text) {
    std::string joined;
    for (const auto& p : pre_tokenize(clean_text(text))) joined += p + " ";
    return joined;
}

}  // namespace

TEST_CASE("clip: vocabulary layout") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    CHECK(tok->vocab_size() == 49408);
    CHECK(tok->sot() == 49406);
    CHECK(tok->eot() == 49407);
    CHECK(tok->merges().size() == 48894);
    CHECK(tok->token(0) == "!");
    CHECK(tok->token(255) == "\u0143");
    CHECK(tok->token(256) == "!</w>");
    CHECK(tok->token(512) == "in");  // the first merge: "i n"
    CHECK(tok->token(49405) == "jekyll</w>");  // the last one used: "jeky ll</w>"
    CHECK(tok->token(49406) == "<|startoftext|>");
    CHECK(tok->token(49407) == "<|endoftext|>");
}

TEST_CASE("clip: known ids") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    CHECK(tok->tokenize("a photo of a cat.") == row({320, 1125, 539, 320, 2368, 269}));
    CHECK(tok->tokenize("A photo of a cat.") == row({320, 1125, 539, 320, 2368, 269}));
    CHECK(tok->tokenize("a diagram") == row({320, 22697}));
    CHECK(tok->tokenize("a dog") == row({320, 1929}));
    CHECK(tok->tokenize("a cat") == row({320, 2368}));
    CHECK(tok->tokenize("hello world") == row({3306, 1002}));
    CHECK(tok->tokenize("you're 1234 !!") == row({592, 982, 272, 273, 274, 275, 748}));
    CHECK(tok->encode("a photo of a cat.") == Ids{320, 1125, 539, 320, 2368, 269});
    CHECK(tok->decode(tok->encode("a photo of a cat.")) == "a photo of a cat . ");
}

TEST_CASE("clip: ids agree with the Python oracle on varied text") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    const auto cases = oracle_cases();
    CHECK(cases.size() >= 50);
    for (const auto& c : cases) {
        INFO("input: \"", c.input, "\"");
        CHECK(tok->encode(c.input) == c.ids);
    }
}

TEST_CASE("clip: decode(encode(x)) gives back the cleaned pieces") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    for (const auto& c : oracle_cases()) {
        if (c.input.find("<|") != std::string::npos) continue;  // specials decode without "</w>"
        INFO("input: \"", c.input, "\"");
        CHECK(tok->decode(tok->encode(c.input)) == join_pieces(c.input));
    }
    for (std::string text : {"a blurry photo of a t-shirt.", "the quick brown fox jumps over the lazy dog",
                             "caf\u00e9 \u6771\u4eac \U0001f600", "it's 2023 !!"}) {
        CHECK(tok->decode(tok->encode(text)) == join_pieces(text));
    }
    CHECK(tok->decode(tok->encode("a bag on a table")) == "a bag on a table ");
}

TEST_CASE("clip: empty and whitespace-only text") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    for (const char* text : {"", " ", "\t\n\r  \u00a0\u3000", "\ufeff", "&nbsp;"}) {
        INFO("input: \"", text, "\"");
        CHECK(tok->encode(text).empty());
        CHECK(tok->tokenize(text) == row({}));
    }
}

TEST_CASE("clip: long text is cut to the context with eot last") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    std::string words;
    for (int i = 0; i < 10000; ++i) words += (i % 3 == 0) ? "photo " : (i % 3 == 1) ? "of " : "cats, ";
    const auto ids = tok->tokenize(words);
    REQUIRE(ids.size() == 77);
    CHECK(ids.front() == 49406);
    CHECK(ids.back() == 49407);
    CHECK(std::count(ids.begin(), ids.end(), 49407) == 1);
    CHECK(std::count(ids.begin(), ids.end(), 0) == 0);
    const auto full = tok->encode(words);
    CHECK(full.size() == 10000 + 3333);  // "cats," is two ids
    CHECK(Ids(ids.begin() + 1, ids.end() - 1) == Ids(full.begin(), full.begin() + 75));
    // 75 ids fit exactly; from 76 on the rest is cut
    std::string a74;
    for (int i = 0; i < 74; ++i) a74 += "a ";
    Ids fit(74, 320);
    fit.push_back(2368);
    CHECK(tok->tokenize(a74 + "cat") == row(fit));
    CHECK(tok->tokenize(a74 + "cat dog") == row(fit));
    CHECK(tok->tokenize(a74 + "a cat") == row(Ids(75, 320)));
}

TEST_CASE("clip: hostile input never throws") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    using namespace std::string_literals;
    const std::vector<std::string> inputs = {
        "\xE2\x80"s,                                 // truncated sequence (llama.cpp #8691)
        "caf\xC3"s,                                  // truncated at the end
        "\xFF\xFE\xFD"s,                             // never valid
        "\xED\xA0\x80 lone surrogate"s,              // CESU/WTF-8 surrogate
        "\xC0\x80 overlong NUL"s,
        "a\0b\0\0c"s,                                // NUL bytes
        "\xEF\xBB\xBF" "bom"s,                       // BOM
        "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 family"s,  // ZWJ sequence
        "\u202E\u0645\u0631\u062D\u0628\u0627\u202C rtl"s,                    // RTL override
        "\U0001F3F4\U000E0067\U000E0062\U000E0077\U000E006C\U000E0073\U000E007F"s,  // tag sequence flag
        "<|endoftext|><|startoftext|>"s,
        "&#xFFFFFFFFFFFFFFFFFFFF; &#99999999999999999999; &#;&#x;&"s,
        std::string(300, '&') + "amp;"s,
    };
    for (const auto& text : inputs) {
        INFO("input bytes: ", text.size());
        CHECK_NOTHROW(tok->encode(text));
        Ids ids;
        CHECK_NOTHROW(ids = tok->tokenize(text));
        CHECK(ids.size() == 77);
        CHECK_NOTHROW(tok->decode(ids));
    }
    CHECK(tok->encode("\xE2\x80"s) == tok->encode("\uFFFD"));
    CHECK(tok->encode("<|endoftext|>") == Ids{49407});  // as in CLIP: the literal is the special id
}

TEST_CASE("clip: one megabyte of one character (linear time)") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    const std::string x(1 << 20, 'x');
    const auto ids = tok->encode(x);
    CHECK(ids.size() <= x.size() / 4);  // "xxxx" is one token
    CHECK(tok->decode(ids) == x + " ");
    CHECK(tok->tokenize(x).back() == 49407);

    std::string e;
    for (int i = 0; i < (1 << 19); ++i) e += "\u00e9";
    CHECK(tok->decode(tok->encode(e)) == e + " ");

    const std::string bang(1 << 20, '!');
    CHECK(tok->decode(tok->encode(bang)) == bang + " ");

    const std::string digits(1 << 18, '7');  // one piece per digit
    CHECK(tok->encode(digits).size() == digits.size());

    std::string spaces(1 << 20, ' ');
    CHECK(tok->encode(spaces).empty());
}

TEST_CASE("clip: catastrophically repetitive text round-trips (tiktoken's test)") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    for (std::string unit : {"^", "0", "a", "'s", "\"", " ", "\n"}) {
        std::string text;
        for (int i = 0; i < 10000; ++i) text += unit;
        INFO("unit: \"", unit, "\"");
        CHECK(tok->decode(tok->encode(text)) == join_pieces(text));
    }
}

TEST_CASE("clip: several threads share one tokenizer") {
    const Tokenizer* tok = clip();
    if (!tok) return;
    const auto cases = oracle_cases();
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            const Tokenizer copy = *tok;  // copies share the tables and the cache
            for (int round = 0; round < 20; ++round)
                for (std::size_t i = std::size_t(t); i < cases.size(); i += 2)
                    if (copy.encode(cases[i].input) != cases[i].ids) ++failures[std::size_t(t)];
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == std::vector<int>(4, 0));
}
