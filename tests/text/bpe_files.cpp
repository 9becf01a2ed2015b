// Learning BPE merges from captions, saving and loading merges files, and malformed files.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <contra/data/bpe_learn.hpp>
#include <contra/data/tokenizer.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace contra;
using namespace contra::data;
namespace fs = std::filesystem;
using Ids = std::vector<std::int32_t>;
using Merges = std::vector<Tokenizer::Merge>;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        static int serial = 0;
        path = fs::temp_directory_path() / ("contra-test-bpe-" + std::to_string(::getpid()) + "-" + std::to_string(serial++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name, const std::string& bytes) const {
        const auto p = (path / name).string();
        std::ofstream(p, std::ios::binary) << bytes;
        return p;
    }
    std::string gzip_file(const std::string& name, const std::string& bytes) const {
        const auto p = (path / name).string();
        gzFile f = gzopen(p.c_str(), "wb");
        REQUIRE(f != nullptr);
        REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
        gzclose(f);
        return p;
    }
};

// The classic example of Sennrich et al.: low ×5, lower ×2, newest ×6, widest ×3.
const std::vector<std::string> kSennrich = {"low low low low low", "Lower lower", "newest newest newest newest newest newest",
                                            "widest widest widest"};

}  // namespace

TEST_CASE("learn_bpe: the first merges, computed by hand") {
    // Pair counts at the start (</w> ends each word):  e s 9, s t</w> 9, w e 8, l o 7, n e 6, e w 6, …
    // Ties go to the smaller (left, right) strings: "e s" before "s t</w>"; then es t</w> (9),
    // l o (7); then e w (6, and "e" < "n" < "w"), ew est</w> (6, "ew" < "n"), n ewest</w>, lo w</w>
    // (5); d est</w>, i dest</w>, w idest</w> (3); e r</w>, lo w, low er</w> (2). Then every word is one token.
    const Merges expected = {{"e", "s"},         {"es", "t</w>"},   {"l", "o"},          {"e", "w"},  {"ew", "est</w>"},
                             {"n", "ewest</w>"}, {"lo", "w</w>"},   {"d", "est</w>"},    {"i", "dest</w>"},
                             {"w", "idest</w>"}, {"e", "r</w>"},    {"lo", "w"},         {"low", "er</w>"}};
    const Tokenizer all = learn_bpe(kSennrich, 514 + 100);
    CHECK(all.merges() == expected);  // stops early: nothing left to merge
    CHECK(all.vocab_size() == 514 + 13);
    CHECK(all.sot() == 512 + 13);
    CHECK(all.eot() == 513 + 13);
    for (std::string w : {"low", "lower", "newest", "widest"}) CHECK(all.encode(w) == Ids{all.id(w + "</w>")});

    const Tokenizer three = learn_bpe(kSennrich, 514 + 3);
    CHECK(three.merges() == Merges(expected.begin(), expected.begin() + 3));
    CHECK(three.vocab_size() == 517);
    // lowest: l o w e s t</w> → l o w es t</w> → l o w est</w> → lo w est</w>
    CHECK(three.encode("lowest") == Ids{three.id("lo"), three.id("w"), three.id("est</w>")});
    // unseen words fall back to bytes
    CHECK(three.encode("zebra") == Ids{three.id("z"), three.id("e"), three.id("b"), three.id("r"), three.id("a</w>")});
    CHECK(three.decode(three.encode("Zebra, lowest!")) == "zebra , lowest ! ");

    // The corpus order does not matter.
    const std::vector<std::string> shuffled = {kSennrich[3], kSennrich[1], kSennrich[0], kSennrich[2]};
    CHECK(learn_bpe(shuffled, 514 + 100).merges() == expected);
}

TEST_CASE("learn_bpe: a caption vocabulary covers its corpus, and more") {
    const std::vector<std::string> classes = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                              "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};
    const std::vector<std::string> templates = {"a photo of a {}.",       "a blurry photo of a {}.", "a black and white photo of a {}.",
                                                "a low contrast photo of a {}.", "a photo of the large {}.", "a photo of the small {}.",
                                                "a pixelated photo of the {}.",   "a drawing of a {}.",      "a close-up photo of a {}.",
                                                "itap of a {}."};
    std::vector<std::string> corpus;
    for (const auto& t : templates)
        for (const auto& c : classes) corpus.push_back(t.substr(0, t.find("{}")) + c + t.substr(t.find("{}") + 2));
    REQUIRE(corpus.size() == 100);

    const Tokenizer tok = learn_bpe(corpus, 1000);
    CHECK(tok.vocab_size() <= 1000);
    CHECK(tok.vocab_size() > 514 + 50);
    CHECK(tok.token(tok.sot()) == "<|startoftext|>");
    CHECK(tok.token(tok.eot()) == "<|endoftext|>");
    for (const auto& caption : corpus) {
        const auto ids = tok.encode(caption);
        INFO("caption: ", caption);
        CHECK(ids.size() == pre_tokenize(clean_text(caption)).size());  // every word is one token
        CHECK(std::all_of(ids.begin(), ids.end(), [&](std::int32_t id) { return id >= 0 && id < tok.sot(); }));
        const auto row = tok.tokenize(caption, 16);
        CHECK(row.front() == tok.sot());
        CHECK(std::find(row.begin(), row.end(), tok.eot()) != row.end());
    }
    // Unseen words and characters still encode (byte fallback) and decode back.
    CHECK(tok.decode(tok.encode("a photo of a kangaroo \u00e0 la caf\u00e9 \U0001f998")) ==
          "a photo of a kangaroo \u00e0 la caf\u00e9 \U0001f998 ");
}

TEST_CASE("learn_bpe: small vocabularies and bad sizes") {
    CHECK(learn_bpe({}, 514).vocab_size() == 514);
    CHECK(learn_bpe({"aaaa"}, 514).merges().empty());
    // a a a a</w> → aa a a</w> (non-overlapping) → aa aa</w> ("a a</w>" before "aa a": a < aa) → aaaa</w>
    CHECK(learn_bpe({"aaaa"}, 600).merges() == Merges{{"a", "a"}, {"a", "a</w>"}, {"aa", "aa</w>"}});
    CHECK_THROWS_AS(learn_bpe({"abc"}, 513), Error);
}

TEST_CASE("save_merges / from_merges_file round trip") {
    TempDir dir;
    const Tokenizer learned = learn_bpe(kSennrich, 514 + 100);
    const auto path = (dir.path / "merges.txt").string();
    learned.save_merges(path);
    CHECK_FALSE(fs::exists(path + ".tmp"));

    std::ifstream in(path);
    std::string header, first;
    std::getline(in, header);
    std::getline(in, first);
    CHECK(header == "#version: 0.2");
    CHECK(first == "e s");

    const Tokenizer loaded = Tokenizer::from_merges_file(path);
    CHECK(loaded.merges() == learned.merges());
    CHECK(loaded.vocab_size() == learned.vocab_size());
    for (const auto& caption : kSennrich) CHECK(loaded.tokenize(caption) == learned.tokenize(caption));

    // max_merges reads only a prefix
    const Tokenizer prefix = Tokenizer::from_merges_file(path, 3);
    CHECK(prefix.merges() == Merges(learned.merges().begin(), learned.merges().begin() + 3));
    CHECK(Tokenizer::from_merges_file(path, 0).vocab_size() == 514);

    // the same content gzip-compressed, and with Windows line ends
    std::ifstream raw(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
    CHECK(Tokenizer::from_merges_file(dir.gzip_file("merges.txt.gz", text)).merges() == learned.merges());
    std::string crlf;
    for (char c : text) crlf += (c == '\n') ? std::string("\r\n") : std::string(1, c);
    CHECK(Tokenizer::from_merges_file(dir.file("crlf.txt", crlf)).merges() == learned.merges());

    // non-ASCII merges survive the file
    const Tokenizer accents = learn_bpe({"caf\u00e9 caf\u00e9 na\u00efve \u6771\u4eac \u6771\u4eac"}, 600);
    accents.save_merges(path);
    const Tokenizer accents_loaded = Tokenizer::from_merges_file(path);
    CHECK(accents_loaded.merges() == accents.merges());
    CHECK(accents_loaded.encode("caf\u00e9 \u6771\u4eac") == Ids{accents.id("caf\u00c3\u00a9</w>"), accents.id("\u00e6\u013f\u00b1\u00e4\u00ba\u00ac</w>")});
}

TEST_CASE("from_merges_file: malformed files name the file and the line") {
    TempDir dir;
    auto fails_with = [](const std::string& path, const std::string& needle) {
        INFO("file: ", path, ", expected message part: ", needle);
        CHECK_THROWS_WITH_AS(Tokenizer::from_merges_file(path), doctest::Contains(needle.c_str()), Error);
    };
    const auto missing = (dir.path / "missing.txt.gz").string();
    fails_with(missing, "'" + missing + "' does not exist");
    fails_with(dir.path.string(), "is not a file");
    fails_with(dir.file("empty.txt", ""), "empty.txt' is empty");
    fails_with(dir.gzip_file("empty.gz", ""), "empty.gz' is empty");
    fails_with(dir.file("noheader.txt", "a b\nab c\n"), "noheader.txt' line 1: expected a version line");
    fails_with(dir.file("three.txt", "#version: 0.2\na b\nab c d\n"), "three.txt' line 3: expected two symbols");
    fails_with(dir.file("one.txt", "#version: 0.2\nab\n"), "one.txt' line 2: expected two symbols");
    fails_with(dir.file("spaces.txt", "#version: 0.2\na  b\n"), "spaces.txt' line 2");
    fails_with(dir.file("lead.txt", "#version: 0.2\n a\n"), "lead.txt' line 2");
    fails_with(dir.file("trail.txt", "#version: 0.2\na \n"), "trail.txt' line 2");
    fails_with(dir.file("tab.txt", "#version: 0.2\na\tb\n"), "tab.txt' line 2");
    fails_with(dir.file("blank.txt", "#version: 0.2\na b\n\nab c\n"), "blank.txt' line 3");
    fails_with(dir.file("unknown.txt", "#version: 0.2\na b\nab zz\n"), "unknown.txt' line 3: 'zz' is neither");
    fails_with(dir.gzip_file("unknown.gz", "#version: 0.2\na b\nb c\nab cq\n"), "unknown.gz' line 4: 'cq'");
    fails_with(dir.file("corrupt.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage garbage", 25)),
               "corrupt.gz' is not readable gzip");

    // Accepted: just the version line; blank lines at the end.
    CHECK(Tokenizer::from_merges_file(dir.file("header.txt", "#version: 0.2\n")).vocab_size() == 514);
    CHECK(Tokenizer::from_merges_file(dir.file("noeol.txt", "#version: 0.2\na b")).vocab_size() == 515);
    CHECK(Tokenizer::from_merges_file(dir.file("tail.txt", "#version: 0.2\na b\n\n\n")).vocab_size() == 515);
    CHECK_THROWS_AS(Tokenizer::from_merges_file(dir.file("neg.txt", "#version: 0.2\n"), -1), Error);
}
