// SVG plots: well-formed documents (checked by a small XML scanner), titles, names and numbers
// where a reader looks for them, no crash on NaN or empty data, atomic writes.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <contra/report/svg.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"

using namespace contra;
using namespace contra::report;
namespace fs = std::filesystem;

namespace {

// xml_problem(doc): "" when doc is well-formed XML with one root <svg> element; otherwise what
// is wrong. Checks tag balance and nesting, attribute quoting, and that every '&' starts an entity.
std::string xml_problem(const std::string& doc) {
    std::vector<std::string> open;
    int roots = 0;
    std::size_t i = 0;
    const auto entity_ok = [&](std::size_t at) {
        for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
            if (doc.compare(at, std::strlen(e), e) == 0) return true;
        return false;
    };
    while (i < doc.size()) {
        if (doc[i] != '<') {
            if (doc[i] == '&' && !entity_ok(i)) return "bare & at " + std::to_string(i);
            if (doc[i] == '>') return "bare > at " + std::to_string(i);
            if (open.empty() && !std::isspace(static_cast<unsigned char>(doc[i]))) return "text outside the root at " + std::to_string(i);
            ++i;
            continue;
        }
        if (doc.compare(i, 5, "<?xml") == 0) {
            if (i != 0) return "XML declaration not at the start";
            const auto end = doc.find("?>", i);
            if (end == std::string::npos) return "unterminated declaration";
            i = end + 2;
            continue;
        }
        if (doc.compare(i, 4, "<!--") == 0) {
            const auto end = doc.find("-->", i);
            if (end == std::string::npos) return "unterminated comment";
            i = end + 3;
            continue;
        }
        const bool closing = doc.compare(i, 2, "</") == 0;
        std::size_t j = i + (closing ? 2 : 1);
        const std::size_t name_start = j;
        while (j < doc.size() && (std::isalnum(static_cast<unsigned char>(doc[j])) || doc[j] == '-' || doc[j] == ':')) ++j;
        const std::string name = doc.substr(name_start, j - name_start);
        if (name.empty()) return "tag without a name at " + std::to_string(i);
        bool self_closing = false;
        // Attributes: name="value" (value without '<', '&' only as an entity).
        while (true) {
            while (j < doc.size() && std::isspace(static_cast<unsigned char>(doc[j]))) ++j;
            if (j >= doc.size()) return "unterminated tag <" + name;
            if (doc[j] == '>') break;
            if (doc.compare(j, 2, "/>") == 0) {
                self_closing = true;
                ++j;
                break;
            }
            if (closing) return "attribute in closing tag </" + name;
            const std::size_t attr_start = j;
            while (j < doc.size() && doc[j] != '=' && !std::isspace(static_cast<unsigned char>(doc[j])) && doc[j] != '>') ++j;
            if (j == attr_start || j >= doc.size() || doc[j] != '=') return "malformed attribute in <" + name;
            ++j;
            if (j >= doc.size() || doc[j] != '"') return "unquoted attribute in <" + name;
            const auto end = doc.find('"', j + 1);
            if (end == std::string::npos) return "unterminated attribute in <" + name;
            for (std::size_t k = j + 1; k < end; ++k) {
                if (doc[k] == '<') return "'<' inside an attribute of <" + name;
                if (doc[k] == '&' && !entity_ok(k)) return "bare & inside an attribute of <" + name;
            }
            j = end + 1;
        }
        i = j + 1;
        if (closing) {
            if (open.empty() || open.back() != name) return "</" + name + "> does not close <" + (open.empty() ? "" : open.back()) + ">";
            open.pop_back();
        } else {
            if (open.empty()) {
                ++roots;
                if (name != "svg") return "root element is <" + name + ">";
            }
            if (!self_closing) open.push_back(name);
        }
    }
    if (!open.empty()) return "<" + open.back() + "> never closed";
    if (roots != 1) return std::to_string(roots) + " root elements";
    return "";
}

#define CHECK_WELL_FORMED(doc)                 \
    do {                                       \
        const std::string problem_ = xml_problem(doc); \
        INFO(problem_);                        \
        CHECK(problem_.empty());               \
    } while (0)

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("svg: the scanner itself rejects malformed documents") {
    CHECK(xml_problem("<svg><g></g></svg>").empty());
    CHECK(xml_problem("<?xml version=\"1.0\"?>\n<svg a=\"1\"><rect/></svg>\n").empty());
    CHECK_FALSE(xml_problem("<svg><g></svg>").empty());
    CHECK_FALSE(xml_problem("<svg></g></svg>").empty());
    CHECK_FALSE(xml_problem("<svg>a & b</svg>").empty());
    CHECK_FALSE(xml_problem("<svg x=1></svg>").empty());
    CHECK_FALSE(xml_problem("<svg x=\"<\"></svg>").empty());
    CHECK_FALSE(xml_problem("<svg></svg><svg></svg>").empty());
    CHECK_FALSE(xml_problem("<g></g>").empty());
    CHECK_FALSE(xml_problem("<svg>").empty());
}

TEST_CASE("svg: a line chart with two series, axes, ticks and legend") {
    LineChart chart;
    chart.title = "CLIP loss & accuracy <fashion-mnist>";
    chart.x_label = "step";
    chart.y_label = "value";
    chart.series.push_back({"train loss", {}, {2.3, 1.9, 1.2, 0.8, 0.7}});
    chart.series.push_back({"test accuracy", {0, 2, 4}, {0.1, 0.55, 0.8}});
    const std::string svg = render_svg(chart);
    CHECK_WELL_FORMED(svg);
    CHECK(svg.find("CLIP loss &amp; accuracy &lt;fashion-mnist&gt;") != std::string::npos);
    CHECK(svg.find(">train loss</text>") != std::string::npos);
    CHECK(svg.find(">test accuracy</text>") != std::string::npos);
    CHECK(svg.find(">step</text>") != std::string::npos);
    CHECK(svg.find(">value</text>") != std::string::npos);
    CHECK(count(svg, "<path ") == 2);
    CHECK(svg.find(">2.5</text>") != std::string::npos);  // y ticks at 0, 0.5, ..., 2.5
    CHECK(svg.find(">4</text>") != std::string::npos);    // x ticks up to 4
}

TEST_CASE("svg: NaN, infinity, empty and constant series draw without crashing") {
    LineChart chart;
    chart.title = "odd data";
    chart.series.push_back({"gappy", {}, {1, 2, NAN, 3, 4, NAN, 5, INFINITY, 6}});
    chart.series.push_back({"empty", {}, {}});
    chart.series.push_back({"all nan", {}, {NAN, NAN}});
    std::string svg = render_svg(chart);
    CHECK_WELL_FORMED(svg);
    CHECK(count(svg, "<path ") == 1);
    CHECK(count(svg, " M") + (svg.find("d=\"M") != std::string::npos) == 2);  // two runs: [1,2] and [3,4]
    CHECK(count(svg, "<circle ") == 2);                                     // lone points 5 and 6
    CHECK(svg.find("empty (no data)") != std::string::npos);
    CHECK(svg.find("all nan (no data)") != std::string::npos);
    CHECK(count(svg, "nan") == 1);  // only the legend's "all nan": no NaN coordinate anywhere
    CHECK(svg.find("inf") == std::string::npos);

    LineChart nothing;
    nothing.title = "nothing yet";
    svg = render_svg(nothing);
    CHECK_WELL_FORMED(svg);
    CHECK(svg.find(">no data</text>") != std::string::npos);

    LineChart flat;
    flat.series.push_back({"constant", {}, {0.5, 0.5, 0.5}});
    flat.series.push_back({"one point", {3}, {7}});
    svg = render_svg(flat);
    CHECK_WELL_FORMED(svg);
    CHECK(svg.find("nan") == std::string::npos);

    LineChart fixed;
    fixed.y_min = 0, fixed.y_max = 1;
    fixed.series.push_back({"accuracy", {}, {0.2, 1.5, -3}});  // clipped to the plot area, not an error
    svg = render_svg(fixed);
    CHECK_WELL_FORMED(svg);
    CHECK(svg.find("clip-path=\"url(#plot-area)\"") != std::string::npos);

    LineChart huge;
    huge.series.push_back({"huge", {}, {-1e308, 1e308}});
    CHECK_WELL_FORMED(render_svg(huge));

    LineChart wrong;
    wrong.series.push_back({"mismatch", {1, 2, 3}, {1, 2}});
    CHECK_THROWS_WITH_AS(render_svg(wrong), doctest::Contains("has 3 x values for 2 y values"), Error);
}

TEST_CASE("svg: nice ticks") {
    Ticks t = nice_ticks(0, 1);
    CHECK(t.lo == 0);
    CHECK(t.hi == doctest::Approx(1));
    CHECK(t.step == doctest::Approx(0.2));
    CHECK(t.values.size() == 6);
    t = nice_ticks(0.3, 9.7);
    CHECK(t.lo == 0);
    CHECK(t.hi == doctest::Approx(10));
    t = nice_ticks(-5, 5);
    CHECK(t.values.front() <= -5);
    CHECK(t.values.back() >= 5);
    bool has_zero = false;
    for (double v : t.values) has_zero |= v == 0.0 && !std::signbit(v);
    CHECK(has_zero);
    CHECK(nice_ticks(1, 1).values.size() == 2);  // degenerate: just the ends
}

TEST_CASE("svg: confusion matrix heatmap with class names, counts and percents") {
    const std::vector<std::string> classes = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                              "sandal", "shirt", "sneaker", "bag", "ankle boot"};
    std::vector<std::int64_t> truth, predicted;
    for (int t = 0; t < 10; ++t)
        for (int k = 0; k < 100; ++k) {
            truth.push_back(t);
            predicted.push_back(k < 90 ? t : (t + 1) % 10);  // 90% right, the rest one class over
        }
    ConfusionMatrix cm{"zero-shot <test>", classes, confusion_counts(truth, predicted, 10)};
    CHECK(cm.counts[0] == 90);
    CHECK(cm.counts[1] == 10);
    const std::string svg = render_svg(cm);
    CHECK_WELL_FORMED(svg);
    CHECK(svg.find("zero-shot &lt;test&gt;") != std::string::npos);
    for (const auto& c : classes) CHECK(count(svg, ">" + c + "</text>") == 2);  // both axes
    CHECK(count(svg, ">90</text>") == 10);
    CHECK(count(svg, ">90.0%</text>") == 10);
    CHECK(count(svg, ">10.0%</text>") == 10);
    CHECK(svg.find("accuracy 90.00% (900 of 1000)") != std::string::npos);
    CHECK(svg.find("predicted class") != std::string::npos);
    CHECK(svg.find("true class") != std::string::npos);

    // 36 classes (shapes): small cells, counts only; an empty row is 0%, not NaN.
    std::vector<std::string> many;
    for (int i = 0; i < 36; ++i) many.push_back("class & " + std::to_string(i));
    ConfusionMatrix big{"36", many, std::vector<std::int64_t>(36 * 36, 0)};
    big.counts[0] = 5;
    const std::string svg36 = render_svg(big);
    CHECK_WELL_FORMED(svg36);
    CHECK(svg36.find("class &amp; 35") != std::string::npos);
    CHECK(svg36.find("nan") == std::string::npos);

    CHECK_THROWS_WITH_AS(render_svg(ConfusionMatrix{"bad", classes, {1, 2, 3}}),
                         doctest::Contains("expected 100 counts for 10 classes, found 3"), Error);
    CHECK_THROWS_AS(render_svg(ConfusionMatrix{"none", {}, {}}), Error);
    CHECK_THROWS_AS(confusion_counts(std::vector<int>{0, 10}, std::vector<int>{0, 1}, 10), Error);
    CHECK_THROWS_AS(confusion_counts(std::vector<int>{0}, std::vector<int>{0, 1}, 10), Error);
}

TEST_CASE("svg: a logarithmic x axis has ticks at 1, 2, 5 × 10^k and leaves out x <= 0") {
    Ticks t = log_ticks(4, 256);
    CHECK(t.values == std::vector<double>{2, 5, 10, 20, 50, 100, 200, 500});
    CHECK(t.lo == doctest::Approx(std::log10(2)));
    CHECK(t.hi == doctest::Approx(std::log10(500)));
    t = log_ticks(0.01, 1);
    CHECK(t.values.front() == doctest::Approx(0.01));
    CHECK(t.values.back() == doctest::Approx(1));
    CHECK(t.values.size() == 7);
    CHECK(log_ticks(1e-3, 1e5).values.size() == 9);  // eight decades: powers of ten only
    CHECK(log_ticks(10, 10).values == std::vector<double>{10, 20});
    CHECK_THROWS_AS(log_ticks(0, 1), Error);
    CHECK_THROWS_AS(log_ticks(2, 1), Error);

    LineChart chart;
    chart.title = "share";
    chart.log_x = true;
    chart.series.push_back({"hardest", {-1, 0, 4, 8, 16, 32}, {9, 9, 0.5, 0.3, 0.2, 0.1}});
    const std::string svg = render_svg(chart);
    CHECK_WELL_FORMED(svg);
    CHECK(count(svg, "<path ") == 1);
    CHECK(count(svg, " L") == 3);  // the four positive x, one run
    CHECK(svg.find(">50</text>") != std::string::npos);  // ticks 2, 5, 10, 20, 50
    CHECK(svg.find(">1</text>") == std::string::npos);
    CHECK(svg.find(">9</text>") == std::string::npos);  // y from the drawn points only: up to 0.5

    // Equal ratios are equal distances: the x of 4, 8 and 16 are evenly spaced.
    const auto xs = [&] {
        std::vector<double> x;
        const auto d = svg.find("d=\"M");
        std::istringstream path(svg.substr(d + 3, svg.find('"', d + 3) - d - 3));
        std::string token;
        while (path >> token) x.push_back(std::stod(token.substr(1))), path >> token;
        return x;
    }();
    REQUIRE(xs.size() == 4);
    CHECK(xs[1] - xs[0] == doctest::Approx(xs[2] - xs[1]).epsilon(1e-3));
}

TEST_CASE("svg: a scatter plot draws one dot per finite point and a legend") {
    ScatterPlot plot;
    plot.title = "embeddings <2-D>";
    plot.x_label = "along the gap";
    plot.series.push_back({"images", {0.1, 0.2, NAN}, {1, 2, 3}});
    plot.series.push_back({"captions", {-0.5, -0.4}, {0, INFINITY}});
    const std::string svg = render_svg(plot);
    CHECK_WELL_FORMED(svg);
    CHECK(svg.find("embeddings &lt;2-D&gt;") != std::string::npos);
    CHECK(count(svg, "<path ") == 0);
    CHECK(count(svg, "<circle ") == 3 + 2);  // three finite points, two legend markers
    CHECK(svg.find(">images</text>") != std::string::npos);
    CHECK(svg.find(">along the gap</text>") != std::string::npos);
    CHECK(svg.find("nan") == std::string::npos);
    ScatterPlot wrong;
    wrong.series.push_back({"bad", {1}, {1, 2}});
    CHECK_THROWS_WITH_AS(render_svg(wrong), doctest::Contains("scatter plot"), Error);
}

TEST_CASE("svg: a heatmap of real values shows each value in a cell coloured on a diverging scale") {
    Heatmap map{"cosines & more", "caption", "image", {"i0", "i1"}, {"t0", "t1", "t2"}, {1, -1, 0, 0.5, NAN, 3}};
    const std::string svg = render_svg(map);
    CHECK_WELL_FORMED(svg);
    CHECK(svg.find("cosines &amp; more") != std::string::npos);
    for (const char* value : {">1.00</text>", ">-1.00</text>", ">0.00</text>", ">0.50</text>", ">3.00</text>", ">?</text>"})
        CHECK(count(svg, value) == 1);
    // one colour-bar step of each colour, plus the cells: 1 and 3 (clipped) at the top of the scale,
    // -1 at the bottom, 0 halfway
    CHECK(count(svg, "fill=\"#b2182b\"") == 1 + 2);
    CHECK(count(svg, "fill=\"#2166ac\"") == 1 + 1);
    CHECK(count(svg, "fill=\"#ffffff\"") == 1 + 1);
    CHECK(count(svg, "fill=\"#cccccc\"") == 1);      // NaN
    CHECK(svg.find(">i1</text>") != std::string::npos);
    CHECK(svg.find(">t2</text>") != std::string::npos);
    map.decimals = 0;
    CHECK(render_svg(map).find(">-1</text>") != std::string::npos);

    CHECK_THROWS_WITH_AS(render_svg(Heatmap{"bad", "", "", {"a"}, {"b", "c"}, {1}}),
                         doctest::Contains("expected 2 values for 1 rows and 2 columns, found 1"), Error);
    CHECK_THROWS_AS(render_svg(Heatmap{"empty", "", "", {}, {}, {}}), Error);
    Heatmap flat{"flat", "", "", {"a"}, {"b"}, {0}};
    flat.lo = flat.hi = 1;
    CHECK_THROWS_WITH_AS(render_svg(flat), doctest::Contains("lo < hi"), Error);
}

TEST_CASE("svg: files are written whole, through a temporary that is renamed") {
    test::TempDir dir("svg");
    LineChart chart;
    chart.title = "loss";
    chart.series.push_back({"train", {}, {3, 2, 1}});
    const fs::path file = dir.path() / "plots" / "nested" / "loss.svg";  // directories are created
    write_svg(file, chart);
    CHECK(slurp(file) == render_svg(chart));
    const auto names_in = [](const fs::path& folder) {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    };
    CHECK(names_in(file.parent_path()) == std::vector<std::string>{"loss.svg"});  // no temporary left

    chart.title = "loss, again";
    write_svg(file, chart);  // replaces the old file
    CHECK(slurp(file).find("loss, again") != std::string::npos);

    const fs::path cm_file = dir.path() / "cm.svg";
    write_svg(cm_file, ConfusionMatrix{"cm", {"a", "b"}, {1, 0, 0, 1}});
    CHECK_WELL_FORMED(slurp(cm_file));
    const Heatmap heatmap{"h", "", "", {"a"}, {"b"}, {0.5}};
    write_svg(dir.path() / "h.svg", heatmap);
    CHECK(slurp(dir.path() / "h.svg") == render_svg(heatmap));
    ScatterPlot plot;
    plot.series.push_back({"p", {1}, {2}});
    write_svg(dir.path() / "p.svg", plot);
    CHECK(slurp(dir.path() / "p.svg") == render_svg(plot));

    // A directory in the way: the error names the file and nothing is left behind.
    fs::create_directories(dir.path() / "taken.svg");
    fs::create_directories(dir.path() / "taken.svg" / "child");
    CHECK_THROWS_WITH_AS(write_svg(dir.path() / "taken.svg", chart), doctest::Contains("taken.svg"), Error);
    CHECK(names_in(dir.path()) == std::vector<std::string>{"cm.svg", "h.svg", "p.svg", "plots", "taken.svg"});
}
