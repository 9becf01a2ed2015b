// HTML pages (report/html.hpp, report/html_run.hpp): base64 against RFC 4648's vectors, PNG data
// URIs decoded again by stb_image, SVG ids kept apart, text escaped everywhere, a run folder's
// page and the comparison built from files written here, and the errors of folders that are not runs.
#include <doctest/doctest.h>

#include <contra/data/image_decode.hpp>
#include <contra/report/html_run.hpp>

#include "../support/temp_dir.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> unbase64(std::string_view text) {
    std::vector<std::uint8_t> out;
    std::uint32_t bits = 0;
    int count = 0;
    for (char ch : text) {
        if (ch == '=') break;
        const auto digit = std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/").find(ch);
        REQUIRE(digit != std::string_view::npos);
        bits = bits << 6 | std::uint32_t(digit);
        if ((count += 6) >= 8) out.push_back(std::uint8_t(bits >> (count -= 8)));
    }
    return out;
}

// A run folder with the files a run writes, its texts given.
void write_run(const fs::path& dir, const std::string& metrics, const std::string& results = "",
               const std::string& examples = "") {
    fs::create_directories(dir);
    test::write_file(dir / "metrics.jsonl", metrics);
    if (!results.empty()) test::write_file(dir / "results.json", results);
    if (!examples.empty()) test::write_file(dir / "zero_shot_examples.json", examples);
}

const char* const kMetrics =
    "{\"step\":1,\"loss\":2.5,\"lr\":0.001,\"logit_scale\":14.3,\"grad_norm\":3,\"epoch\":0,\"skipped\":false}\n"
    "{\"step\":2,\"loss\":2.25,\"lr\":0.002,\"logit_scale\":14.4,\"grad_norm\":2,\"epoch\":0,\"skipped\":false}\n"
    "{\"step\":2,\"eval_zero_shot_top1_1k\":0.375}\n";

}  // namespace

TEST_CASE("base64: RFC 4648's test vectors, and back") {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, coded] : vectors) {
        CHECK(report::base64(plain) == coded);
        const auto back = unbase64(coded);
        CHECK(std::string(back.begin(), back.end()) == plain);
    }
}

TEST_CASE("png_data_uri: stb_image decodes the same pixels, for 1 to 4 channels") {
    for (int channels = 1; channels <= 4; ++channels) {
        CAPTURE(channels);
        const int width = 7, height = 5;
        std::vector<std::uint8_t> pixels(std::size_t(width * height * channels));
        for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = std::uint8_t(i * 37 % 256);
        const auto uri = report::png_data_uri(width, height, channels, pixels);
        REQUIRE(uri.rfind("data:image/png;base64,", 0) == 0);
        const auto png = unbase64(std::string_view(uri).substr(22));
        const auto image = data::decode_image(png, "png_data_uri");
        CHECK(image.width == width);
        CHECK(image.height == height);
        CHECK(image.channels == channels);
        CHECK(image.pixels == pixels);
    }
    const std::vector<std::uint8_t> three(3);
    CHECK(test::error_of([&] { report::png_bytes(2, 2, 1, three); }).find("3 bytes for 2×2×1 pixels") != std::string::npos);
    CHECK(test::error_of([&] { report::png_bytes(1, 1, 5, three); }).find("5 channels") != std::string::npos);
}

TEST_CASE("inline_svg: no XML declaration, and two charts' ids never meet") {
    report::LineChart chart;
    chart.title = "loss";
    chart.series = {{"loss", {1, 2}, {3, 4}}};
    const auto svg = report::render_svg(chart);
    REQUIRE(svg.find("id=\"plot-area\"") != std::string::npos);
    const auto a = report::inline_svg(svg, "a"), b = report::inline_svg(svg, "b");
    CHECK(a.rfind("<svg", 0) == 0);
    CHECK(a.find("<?xml") == std::string::npos);
    CHECK(a.find("id=\"a-plot-area\"") != std::string::npos);
    CHECK(a.find("url(#a-plot-area)") != std::string::npos);
    CHECK(a.find("url(#plot-area)") == std::string::npos);
    CHECK(b.find("url(#b-plot-area)") != std::string::npos);
}

TEST_CASE("HtmlPage: text is escaped, tables shade the rows asked, and the page allows no script or load") {
    report::HtmlPage page;
    page.title = "<script>alert(1)</script>";
    page.add("a & b", report::render_html(report::HtmlTable{{"name", "<i>value</i>"}, {{"x", "<b>"}, {"y", "1"}}, {true, false}}));
    const auto html = page.render();
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("<h2>a &amp; b</h2>") != std::string::npos);
    CHECK(html.find("<th>&lt;i&gt;value&lt;/i&gt;</th>") != std::string::npos);
    CHECK(html.find("<tr class=\"differs\"><td>x</td><td>&lt;b&gt;</td></tr>") != std::string::npos);
    CHECK(html.find("<tr><td>y</td><td>1</td></tr>") != std::string::npos);
    CHECK(html.find("content=\"default-src 'none'; img-src data:;") != std::string::npos);
    CHECK(test::error_of([] { report::render_html(report::HtmlTable{{"a"}, {{"1", "2"}}, {}}); }).find("2 cells for 1 columns") !=
          std::string::npos);
}

TEST_CASE("run_report_html: the curves of metrics.jsonl, results.json's numbers, the examples, all escaped") {
    test::TempDir dir("report_html");
    const auto grid = report::ExampleGrid{
        "test <images>",
        {{report::png_data_uri(1, 1, 1, std::vector<std::uint8_t>{9}), "<script>alert(1)</script>", {{"<script>alert(1)</script>", 0.75}, {"b&c", 0.25}}, true},
         {report::png_data_uri(1, 1, 1, std::vector<std::uint8_t>{9}), "b&c", {{"<script>alert(1)</script>", 0.5}}, false}}};
    write_run(dir / "run", kMetrics, R"({"steps": 2, "zero_shot_top1": 0.8125, "retrieval": {"image_to_text_r1": 0.5},
                                         "options": {"lr": 0.002, "dataset": "<shapes>"}})");
    report::write_example_grid(dir / "run", grid);
    const auto path = report::write_run_report(dir / "run");
    CHECK(path == dir / "run" / "report.html");
    std::ifstream in(path);
    const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("true: &lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("<li>b&amp;c 25.0%</li>") != std::string::npos);
    CHECK(html.find("the first guess is right for 1 of 2 images") != std::string::npos);
    CHECK(html.find("<figure class=\"correct\">") != std::string::npos);
    CHECK(html.find("<figure class=\"wrong\">") != std::string::npos);
    CHECK(html.find("<tr><td>zero_shot_top1</td><td>0.8125</td><td>81.25%</td></tr>") != std::string::npos);
    CHECK(html.find("<tr><td>retrieval.image_to_text_r1</td><td>0.5</td><td>50.00%</td></tr>") != std::string::npos);
    CHECK(html.find("<tr><td>dataset</td><td>&lt;shapes&gt;</td></tr>") != std::string::npos);
    for (const char* title : {">Training loss<", ">Learning rate<", ">Logit scale<", ">Gradient norm<", ">eval_zero_shot_top1_1k<"})
        CHECK(html.find(title) != std::string::npos);
    CHECK(html.find(">epoch<") == std::string::npos);  // not a curve anyone reads
    CHECK(html.find("finished after 2 steps") != std::string::npos);
    CHECK(html.find("No confusion.svg in this run folder") != std::string::npos);

    // Read back, the examples are the ones written.
    const auto run = report::read_run(dir / "run");
    REQUIRE(run.examples);
    CHECK(run.examples->examples.size() == 2);
    CHECK(run.examples->examples[0].guesses[0].class_name == "<script>alert(1)</script>");
    CHECK(run.examples->examples[0].guesses[1].probability == 0.25);
    REQUIRE(run.metric("loss"));
    CHECK(run.metric("loss")->values == std::vector<double>{2.5, 2.25});
    CHECK(run.metric("eval_zero_shot_top1_1k")->steps == std::vector<double>{2});
    CHECK(run.last_step == 2);
}

TEST_CASE("run_report_html: a run in progress, with a line being written, says so") {
    test::TempDir dir("report_progress");
    write_run(dir / "live", std::string(kMetrics) + "{\"step\":3,\"lo");
    const auto run = report::read_run(dir / "live");
    CHECK(run.last_step == 2);
    const auto html = report::run_report_html(run);
    CHECK(html.find("in progress at step 2 (no results.json yet)") != std::string::npos);
    CHECK(html.find("The run has not finished") != std::string::npos);
}

TEST_CASE("compare_html: one curve a run, results side by side, the options that differ shaded") {
    test::TempDir dir("report_compare");
    write_run(dir / "a" / "same", kMetrics, R"({"steps": 2, "zero_shot_top1": 0.5, "options": {"lr": 0.002, "seed": 1}})");
    write_run(dir / "b" / "same", kMetrics, R"({"steps": 2, "zero_shot_top1": 0.625, "options": {"lr": 0.001, "seed": 1}})");
    write_run(dir / "c", "{\"step\":1,\"loss\":3}\n");
    std::vector<report::RunRecord> runs;
    for (const char* name : {"a/same", "b/same", "c"}) runs.push_back(report::read_run(dir / name));
    const auto html = report::compare_html(runs);
    const auto a = (dir / "a" / "same").string(), b = (dir / "b" / "same").string();
    // Folders of one name are told apart by their paths; the unfinished run says so.
    CHECK(html.find("<th>" + a + "</th><th>" + b + "</th><th>c (in progress)</th>") != std::string::npos);
    CHECK(html.find("<tr><td>zero_shot_top1</td><td>0.5</td><td>0.625</td><td>—</td></tr>") != std::string::npos);
    CHECK(html.find("<tr class=\"differs\"><td>lr</td><td>0.002</td><td>0.001</td><td>—</td></tr>") != std::string::npos);
    CHECK(html.find("<tr class=\"differs\"><td>seed</td><td>1</td><td>1</td><td>—</td></tr>") != std::string::npos);
    // The loss chart has a legend entry a run; c has no accuracy curve.
    const auto loss = html.find(">Training loss<");
    REQUIRE(loss != std::string::npos);
    const auto chart = html.substr(loss, html.find("</svg>", loss) - loss);
    CHECK(chart.find(">" + a + "<") != std::string::npos);
    CHECK(chart.find(">c<") != std::string::npos);
    CHECK(html.find(">c (no data)<") != std::string::npos);

    CHECK(test::error_of([&] { report::compare_html({runs[0]}); }).find("at least two run folders, got 1") != std::string::npos);
}

TEST_CASE("read_run: folders that are not runs, runs without metrics and malformed files are clear errors") {
    test::TempDir dir("report_errors");
    const auto error = [&](const std::string& name) { return test::error_of([&] { report::read_run(dir / name); }); };
    CHECK(error("missing").find("does not exist") != std::string::npos);
    test::write_file(dir / "file", "x");
    CHECK(error("file").find("is not a folder") != std::string::npos);
    fs::create_directories(dir / "empty");
    CHECK(error("empty").find("is not a run folder: it has no metrics.jsonl") != std::string::npos);
    write_run(dir / "fresh", "");
    CHECK(error("fresh").find("has no metrics yet") != std::string::npos);
    write_run(dir / "broken", "{\"step\":1,\"loss\":2}\nnot json\n{\"step\":3}\n");
    CHECK(error("broken").find("metrics.jsonl:2: not a JSON object") != std::string::npos);
    write_run(dir / "stepless", "{\"loss\":2}\n");
    CHECK(error("stepless").find("metrics.jsonl:1: a metrics line needs an integer \"step\"") != std::string::npos);
    write_run(dir / "evaluated", "", R"({"steps": 0, "zero_shot_top1": 0.25})");  // no step, only the evaluation
    CHECK(report::run_report_html(report::read_run(dir / "evaluated")).find("No curves: no training step was taken.") !=
          std::string::npos);
    write_run(dir / "bad_results", "{\"step\":1,\"loss\":2}\n", "{");
    CHECK(error("bad_results").find("results.json: not valid JSON") != std::string::npos);
    write_run(dir / "bad_examples", "{\"step\":1,\"loss\":2}\n", "", R"({"source": "x", "examples": [{"image": "http://x/y.png"}]})");
    CHECK(error("bad_examples").find("example 0's image is not a PNG data URI") != std::string::npos);
    write_run(dir / "odd_examples", "{\"step\":1,\"loss\":2}\n", "", R"({"source": 3})");
    CHECK(error("odd_examples").find("zero_shot_examples.json: not a zero-shot example list") != std::string::npos);
}
