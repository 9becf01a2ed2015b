// Text cleaning, the pre-tokenizer and BPE merging on small hand-made merge lists (no data files).
#include <doctest/doctest.h>

#include <contra/data/tokenizer.hpp>
#include <string>
#include <vector>

using namespace contra;
using namespace contra::data;
using Pieces = std::vector<std::string>;
using namespace std::string_view_literals;

TEST_CASE("utf8: ill-formed bytes become one U+FFFD per maximal subpart, like Python") {
    using contra::data::detail::text::utf8_decode;
    CHECK(utf8_decode("abc") == U"abc");
    CHECK(utf8_decode("caf\xC3\xA9") == U"caf\u00E9");
    CHECK(utf8_decode("\xF0\x9F\x98\x80") == U"\U0001F600");
    CHECK(utf8_decode("\xE2\x80") == U"\uFFFD");                   // truncated at the end: one
    CHECK(utf8_decode("\xE2\x80x") == U"\uFFFDx");                 // truncated before ASCII: one
    CHECK(utf8_decode("\xED\xA0\x80") == U"\uFFFD\uFFFD\uFFFD");   // surrogate: ED, A0, 80
    CHECK(utf8_decode("\xC0\xAF") == U"\uFFFD\uFFFD");             // overlong
    CHECK(utf8_decode("\xF4\x90\x80\x80") == U"\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
    CHECK(utf8_decode("\xFF\xFE") == U"\uFFFD\uFFFD");
    CHECK(utf8_decode("\x80") == U"\uFFFD");
    CHECK(utf8_decode(std::string("a\0b", 3)) == std::u32string(U"a\0b", 3));
}

TEST_CASE("clean_text: whitespace, case, html entities") {
    CHECK(clean_text("  Hello \t\n  WORLD  ") == "hello world");
    CHECK(clean_text("") == "");
    CHECK(clean_text(" \t\r\n\u00A0\u3000 ") == "");
    CHECK(clean_text("&amp; &lt;b&gt; &quot;x&quot; &#39;y&#x27;") == "& <b> \"x\" 'y'");
    CHECK(clean_text("&amp;amp;") == "&");          // unescaped twice
    CHECK(clean_text("&amp;amp;amp;") == "&amp;");  // but only twice
    CHECK(clean_text("fish &amp chips &ampfoo") == "fish & chips &foo");  // legacy names without ';'
    CHECK(clean_text("&notanentity; &unknown; & &#x; &#") == "\u00ACanentity; &unknown; & &#x; &#");
    CHECK(clean_text("&#0;|&#1;|&#xD800;|&#1114112;|&#65;&#66") == "\uFFFD||\uFFFD|\uFFFD|ab");
    CHECK(clean_text("&#150; &#x201C;q&#x201D; &hellip;") == "\u2013 \"q\" \u2026");  // cp1252 refs, uncurled quotes
    CHECK(clean_text("&Eacute;T&Eacute;") == "\u00E9t\u00E9");
}

TEST_CASE("clean_text: the ftfy subset") {
    CHECK(clean_text("don\u2019t \u201Cquote\u201D") == "don't \"quote\"");
    CHECK(clean_text("\uFB01sh \uFB02ow \u0133") == "fish flow ij");
    CHECK(clean_text("\uFF21\uFF22\uFF23\u3000\uFF41\uFF01") == "abc a!");
    CHECK(clean_text("\uFEFFbom\0nul\u0007bell\u000Bvt"sv) == "bomnulbellvt");
    CHECK(clean_text("c1 \u0085 \u0091x\u0092") == "c1 \u2026 'x'");
    CHECK(clean_text("cafe\u0301") == "caf\u00E9");                  // NFC
    CHECK(clean_text("a\u0301\u0316") == "\u00E1\u0316");            // marks reordered, then composed
    CHECK(clean_text("\u200Bzero\u200Dwidth") == "\u200Bzero\u200Dwidth");  // format characters stay
}

TEST_CASE("clean_text: lowercase as Python's str.lower") {
    CHECK(clean_text("ABC \u00C5NGSTR\u00D6M") == "abc \u00E5ngstr\u00F6m");
    CHECK(clean_text("\u039F\u0394\u039F\u03A3") == "\u03BF\u03B4\u03BF\u03C2");      // final sigma
    CHECK(clean_text("\u03A3 \u03A3\u0391 \u0391\u03A3.") == "\u03C3 \u03C3\u03B1 \u03B1\u03C2.");
    CHECK(clean_text("\u0130stanbul") == "i\u0307stanbul");
    CHECK(clean_text("Stra\u00DFe") == "stra\u00DFe");
    CHECK(clean_text("\u01C4\u01C5") == "\u01C6\u01C6");
}

TEST_CASE("clean_text: 1 MB of combining marks stays linear and keeps every mark") {
    std::string zalgo = "q";  // q has no precomposed forms, so NFC keeps the length
    for (int i = 0; i < 250000; ++i) zalgo += (i % 2) ? "\u0316" : "\u0301";  // alternating classes 230 / 220
    const std::string cleaned = clean_text(zalgo);
    CHECK(cleaned.size() == zalgo.size());
}

TEST_CASE("pre_tokenize: the reference pattern") {
    CHECK(pre_tokenize("you're 1234 !!") == Pieces{"you", "'re", "1", "2", "3", "4", "!!"});
    CHECK(pre_tokenize("it's they'd've i'm we'll") == Pieces{"it", "'s", "they", "'d", "'ve", "i", "'m", "we", "'ll"});
    CHECK(pre_tokenize("''s '''re rock'n'roll") == Pieces{"''", "s", "'''", "re", "rock", "'", "n", "'", "roll"});
    CHECK(pre_tokenize("a photo of a t-shirt.") == Pieces{"a", "photo", "of", "a", "t", "-", "shirt", "."});
    CHECK(pre_tokenize("<|startoftext|>a cat<|endoftext|>") == Pieces{"<|startoftext|>", "a", "cat", "<|endoftext|>"});
    CHECK(pre_tokenize("!<|endoftext|>") == Pieces{"!<|", "endoftext", "|>"});  // specials only start a piece
    CHECK(pre_tokenize("\u017Ft '\u017F") == Pieces{"\u017Ft", "'\u017F"});     // ſ matches 's (IGNORECASE)
    CHECK(pre_tokenize("caf\u00E9 \u00BD\u00B2\u0663 \u6771\u4EAC") == Pieces{"caf\u00E9", "\u00BD", "\u00B2", "\u0663", "\u6771\u4EAC"});
    CHECK(pre_tokenize("\u0928\u092E\u0938\u094D\u0924\u0947") ==
          Pieces{"\u0928\u092E\u0938", "\u094D", "\u0924", "\u0947"});  // marks are not letters
    CHECK(pre_tokenize("").empty());
    CHECK(pre_tokenize("   ").empty());
}

TEST_CASE("Tokenizer(): bytes only") {
    const Tokenizer tok;
    CHECK(tok.vocab_size() == 514);
    CHECK(tok.sot() == 512);
    CHECK(tok.eot() == 513);
    CHECK(tok.token(0) == "!");
    CHECK(tok.token(93) == "~");
    CHECK(tok.token(188) == "\u0100");      // byte 0
    CHECK(tok.token(188 + 32) == "\u0120");  // byte 32, the space: Ġ
    CHECK(tok.token(255) == "\u0143");      // byte 173: Ń
    CHECK(tok.token(256) == "!</w>");
    CHECK(tok.token(512) == "<|startoftext|>");
    // "ab" → a, b</w>;  "é" is two bytes C3 A9 → Ã, ©</w>
    CHECK(tok.encode("ab") == std::vector<std::int32_t>{'a' - 33, 256 + 'b' - 33});
    CHECK(tok.encode("\u00E9") == std::vector<std::int32_t>{tok.id("\u00C3"), tok.id("\u00A9</w>")});
    CHECK(tok.decode(tok.encode("Hello, world!")) == "hello , world ! ");
}

TEST_CASE("BPE: lowest rank first, all occurrences left to right") {
    // ranks: 0 "b c</w>", 1 "a b"  →  "abc" is a + bc</w> (rank order), not ab + c</w> (left first)
    const auto tok = Tokenizer::from_merges({{"b", "c</w>"}, {"a", "b"}});
    CHECK(tok.vocab_size() == 516);
    CHECK(tok.token(512) == "bc</w>");
    CHECK(tok.token(513) == "ab");
    CHECK(tok.sot() == 514);
    CHECK(tok.eot() == 515);
    CHECK(tok.encode("abc") == std::vector<std::int32_t>{tok.id("a"), tok.id("bc</w>")});
    CHECK(tok.encode("abab") == std::vector<std::int32_t>{tok.id("ab"), tok.id("a"), tok.id("b</w>")});

    // "a a" then "a a</w>": aaaa → aa a a</w> (non-overlapping) → aa aa</w>
    const auto aa = Tokenizer::from_merges({{"a", "a"}, {"a", "a</w>"}, {"aa", "aa</w>"}});
    CHECK(aa.encode("aaa") == std::vector<std::int32_t>{aa.id("aa"), aa.id("a</w>")});
    CHECK(aa.encode("aaaa") == std::vector<std::int32_t>{aa.id("aaaa</w>")});
    CHECK(aa.encode("aaaaa") == std::vector<std::int32_t>{aa.id("aa"), aa.id("aa"), aa.id("a</w>")});
    CHECK(aa.encode("a") == std::vector<std::int32_t>{aa.id("a</w>")});
    CHECK(aa.decode(aa.encode("aaaaa a")) == "aaaaa a ");
}

TEST_CASE("BPE: a string made by two different merges is one token (its last id)") {
    const auto tok = Tokenizer::from_merges({{"a", "b"}, {"b", "c"}, {"ab", "c"}, {"a", "bc"}, {"abc", "d</w>"}});
    CHECK(tok.id("abc") == 512 + 3);  // made twice: the last id wins, as in the reference's dict
    CHECK(tok.encode("abcd") == std::vector<std::int32_t>{tok.id("abcd</w>")});
    CHECK(tok.decode(std::vector<std::int32_t>{512 + 2}) == "abc");  // the earlier id still decodes
}

TEST_CASE("from_merges: a merge of unknown symbols is an error naming it") {
    CHECK_THROWS_WITH_AS(Tokenizer::from_merges({{"a", "b"}, {"ab", "zz"}}), doctest::Contains("merge #1: 'zz'"), Error);
    CHECK_THROWS_WITH_AS(Tokenizer::from_merges({{"ab", "c"}}), doctest::Contains("merge #0: 'ab'"), Error);
    CHECK_THROWS_AS(Tokenizer::from_merges({{"", "a"}}), Error);
    CHECK_THROWS_AS(Tokenizer::from_merges({{"a b", "c"}}), Error);
}

TEST_CASE("tokenize: fixed-length rows") {
    const Tokenizer tok;
    const auto row = tok.tokenize("ab");
    REQUIRE(row.size() == 77);
    CHECK(row[0] == tok.sot());
    CHECK(row[1] == tok.id("a"));
    CHECK(row[2] == tok.id("b</w>"));
    CHECK(row[3] == tok.eot());
    CHECK(std::all_of(row.begin() + 4, row.end(), [](std::int32_t v) { return v == 0; }));

    const auto exact = tok.tokenize("abcdefgh", 10);  // 8 ids fit exactly
    CHECK(exact == std::vector<std::int32_t>{512, 'a' - 33, 'b' - 33, 'c' - 33, 'd' - 33, 'e' - 33, 'f' - 33, 'g' - 33,
                                             256 + 'h' - 33, 513});
    const auto cut = tok.tokenize("abcdefghi", 10);  // 9 ids: cut, last forced to eot
    CHECK(cut == std::vector<std::int32_t>{512, 'a' - 33, 'b' - 33, 'c' - 33, 'd' - 33, 'e' - 33, 'f' - 33, 'g' - 33,
                                           'h' - 33, 513});
    CHECK(tok.tokenize("", 2) == std::vector<std::int32_t>{512, 513});
    CHECK(tok.tokenize("abc", 2) == std::vector<std::int32_t>{512, 513});
    CHECK_THROWS_AS(tok.tokenize("abc", 1), Error);

    const auto rows = tok.tokenize(std::vector<std::string>{"ab", "", "abcdefghi"}, 10);
    REQUIRE(rows.size() == 30);
    CHECK(std::vector<std::int32_t>(rows.begin(), rows.begin() + 10) == tok.tokenize("ab", 10));
    CHECK(std::vector<std::int32_t>(rows.begin() + 10, rows.begin() + 20) == tok.tokenize("", 10));
    CHECK(std::vector<std::int32_t>(rows.begin() + 20, rows.end()) == cut);
}

TEST_CASE("decode: the reference's rules") {
    const Tokenizer tok;
    CHECK(tok.decode(std::vector<std::int32_t>{}) == "");
    CHECK(tok.decode(tok.tokenize("ab", 6)) == "<|startoftext|>ab <|endoftext|>!!");  // specials and '!' padding kept
    CHECK(tok.decode(std::vector<std::int32_t>{tok.id("\u00C3")}) == "\uFFFD");          // half a character
    CHECK_THROWS_AS(tok.decode(std::vector<std::int32_t>{514}), Error);
    CHECK_THROWS_AS(tok.decode(std::vector<std::int32_t>{-1}), Error);
}
