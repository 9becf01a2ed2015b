// Caption tables: RFC 4180 quoting, BOM, CRLF, TSV, custom columns, path resolution, and errors
// that name the file, the line and the reason.
#include <doctest/doctest.h>

#include <contra/core/random.hpp>
#include <contra/data/csv.hpp>
#include <string>

#include "../support/temp_dir.hpp"

using namespace contra;
using namespace contra::data;
using contra::test::contains;
using contra::test::error_of;

namespace {


}  // namespace

TEST_CASE("csv: plain comma-separated table with the default columns") {
    const auto rows = parse_caption_table("filepath,title\na.jpg,a cat\nb.png,a dog\n");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].image == "a.jpg");
    CHECK(rows[0].caption == "a cat");
    CHECK(rows[1].image == "b.png");
    CHECK(rows[1].caption == "a dog");
}

TEST_CASE("csv: quoted fields hold separators, doubled quotes and line breaks") {
    const std::string text =
        "filepath,title\n"
        "\"x,y.jpg\",\"a cat, sitting\"\n"
        "b.jpg,\"she said \"\"hi\"\"\"\n"
        "c.jpg,\"two\nlines\"\n"
        "d.jpg,\"\"\n"
        "e.jpg,5\" screen\n";
    const auto rows = parse_caption_table(text);
    REQUIRE(rows.size() == 5);
    CHECK(rows[0].image == "x,y.jpg");
    CHECK(rows[0].caption == "a cat, sitting");
    CHECK(rows[1].caption == "she said \"hi\"");
    CHECK(rows[2].caption == "two\nlines");
    CHECK(rows[3].caption == "");
    CHECK(rows[4].caption == "5\" screen");  // a quote inside an unquoted field is literal
}

TEST_CASE("csv: records keep their starting line numbers across quoted line breaks") {
    const auto records = parse_csv_records("h1,h2\n\"a\nb\nc\",x\n\nlast,y", ',');
    REQUIRE(records.size() == 3);
    CHECK(records[0].line == 1);
    CHECK(records[1].line == 2);
    CHECK(records[1].fields[0] == "a\nb\nc");
    CHECK(records[2].line == 6);  // after the three-line record and an empty line
    CHECK(records[2].fields[1] == "y");  // no final newline
}

TEST_CASE("csv: UTF-8 BOM, CRLF line ends and blank trailing lines") {
    const auto rows = parse_caption_table("\xEF\xBB\xBF" "filepath,title\r\na.jpg,caf\xC3\xA9\r\nb.jpg,\"x\r\ny\"\r\n\r\n\r\n");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].image == "a.jpg");  // the BOM is not part of the first column's name
    CHECK(rows[0].caption == "caf\xC3\xA9");  // no stray '\r'
    CHECK(rows[1].caption == "x\r\ny");      // line breaks inside quotes are kept verbatim
}

TEST_CASE("csv: the separator is detected from the header, or given") {
    SUBCASE("tab in the header: TSV (open_clip's default)") {
        const auto rows = parse_caption_table("filepath\ttitle\na, b.jpg\ta, b, and c\n");
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].image == "a, b.jpg");
        CHECK(rows[0].caption == "a, b, and c");
    }
    SUBCASE("explicit separator") {
        CaptionTableOptions options;
        options.separator = ';';
        const auto rows = parse_caption_table("filepath;title\na.jpg;one, two\n", options);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].caption == "one, two");
    }
    CHECK(detect_separator("a\tb\nc,d") == '\t');
    CHECK(detect_separator("a,b\nc\td") == ',');
}

TEST_CASE("csv: custom column names, extra columns in any order") {
    CaptionTableOptions options;
    options.image_column = "image";
    options.caption_column = "caption";
    const auto rows = parse_caption_table("id,caption,image,score\n1,a red car,cars/1.jpg,0.5\n", options);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].image == "cars/1.jpg");
    CHECK(rows[0].caption == "a red car");
}

TEST_CASE("csv: relative image paths resolve against the table's folder") {
    test::TempDir dir("csv_paths");
    std::filesystem::create_directories(dir / "tables");
    test::write_file(dir / "tables" / "train.tsv", "filepath\ttitle\nimg/a.jpg\tan apple\n/abs/b.jpg\ta banana\n");
    const auto rows = read_caption_table(dir / "tables" / "train.tsv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].image == dir.path() / "tables" / "img" / "a.jpg");
    CHECK(rows[1].image == "/abs/b.jpg");  // absolute paths stay
    CHECK(rows[1].caption == "a banana");
    // parsing a string resolves against the folder passed, or not at all
    CHECK(parse_caption_table("filepath,title\nx.jpg,t\n", {}, "s", "/data")[0].image == "/data/x.jpg");
    CHECK(parse_caption_table("filepath,title\nx.jpg,t\n")[0].image == "x.jpg");
}

TEST_CASE("csv: a header without rows is an empty table, not an error") {
    CHECK(parse_caption_table("filepath,title\n").empty());
}

TEST_CASE("csv: broken tables are rejected with file, line and reason") {
    test::TempDir dir("csv_errors");
    auto error_for = [&](const std::string& name, const std::string& text, const CaptionTableOptions& options = {}) {
        const auto path = dir / name;
        test::write_file(path, text);
        return error_of([&] { read_caption_table(path, options); });
    };
    const std::string prefix = "CSV '" + (dir / "").string();

    SUBCASE("missing column: the header's columns are listed") {
        const auto e = error_for("missing.csv", "path,title\na.jpg,x\n");
        CHECK(contains(e, prefix + "missing.csv':1:"));
        CHECK(contains(e, "no column 'filepath'"));
        CHECK(contains(e, "'path', 'title'"));
    }
    SUBCASE("missing custom caption column") {
        CaptionTableOptions options;
        options.caption_column = "text";
        const auto e = error_for("nocap.tsv", "filepath\ttitle\na.jpg\tx\n", options);
        CHECK(contains(e, prefix + "nocap.tsv':1:"));
        CHECK(contains(e, "no column 'text'"));
    }
    SUBCASE("repeated column") {
        const auto e = error_for("twice.csv", "filepath,title,filepath\na,b,c\n");
        CHECK(contains(e, "twice.csv':1:"));
        CHECK(contains(e, "'filepath'"));
        CHECK(contains(e, "more than once"));
    }
    SUBCASE("too many fields (an unquoted comma)") {
        const auto e = error_for("fields.csv", "filepath,title\na.jpg,ok\nb.jpg,red, green\n");
        CHECK(contains(e, prefix + "fields.csv':3:"));
        CHECK(contains(e, "expected 2 fields"));
        CHECK(contains(e, "found 3"));
    }
    SUBCASE("too few fields, after a multi-line record (the line is the record's first)") {
        const auto e = error_for("few.csv", "filepath,title\na.jpg,\"x\ny\"\nb.jpg\n");
        CHECK(contains(e, prefix + "few.csv':4:"));
        CHECK(contains(e, "found 1"));
    }
    SUBCASE("unterminated quote: the line where it opened") {
        const auto e = error_for("quote.csv", "filepath,title\na.jpg,fine\nb.jpg,\"never\ncloses\n");
        CHECK(contains(e, prefix + "quote.csv':3:"));
        CHECK(contains(e, "unterminated quote"));
    }
    SUBCASE("text after a closing quote") {
        const auto e = error_for("stray.csv", "filepath,title\na.jpg,\"x\"y\n");
        CHECK(contains(e, prefix + "stray.csv':2:"));
        CHECK(contains(e, "after a closing quote"));
    }
    SUBCASE("empty image path") {
        const auto e = error_for("nopath.csv", "filepath,title\n,a caption\n");
        CHECK(contains(e, prefix + "nopath.csv':2:"));
        CHECK(contains(e, "empty image path"));
    }
    SUBCASE("empty file, and one holding only a BOM and blank lines") {
        const auto e = error_for("empty.csv", "");
        CHECK(contains(e, prefix + "empty.csv':1:"));
        CHECK(contains(e, "empty"));
        CHECK(contains(error_for("blank.csv", "\xEF\xBB\xBF\n\r\n"), "empty"));
    }
    SUBCASE("missing file and unreadable path") {
        const auto missing = error_of([&] { read_caption_table(dir / "nope.csv"); });
        CHECK(contains(missing, prefix + "nope.csv'"));
        CHECK(contains(missing, "does not exist"));
        const auto folder = error_of([&] { read_caption_table(dir.path()); });
        CHECK(contains(folder, "not a file"));
    }
    SUBCASE("string parsing names its source") {
        const auto e = error_of([] { parse_caption_table("filepath,title\n\"x", {}, "inline"); });
        CHECK(contains(e, "CSV 'inline':2: unterminated quote"));
    }
}

TEST_CASE("csv: arbitrary bytes give rows or an Error, nothing else") {
    const std::string alphabet = "ab,\t\"\r\n\xEF\xBB\xBF ";
    Rng rng(7);
    int parsed = 0, rejected = 0;
    for (int trial = 0; trial < 2000; ++trial) {
        std::string text = trial % 2 ? "filepath,title\n" : "";
        const auto length = rng.below(40);
        for (std::uint64_t k = 0; k < length; ++k) text += alphabet[rng.below(alphabet.size())];
        try {
            parse_caption_table(text);
            ++parsed;
        } catch (const Error&) {
            ++rejected;
        }
    }
    CHECK(parsed > 0);
    CHECK(rejected > 0);
}
