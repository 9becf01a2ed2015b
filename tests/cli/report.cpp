// report.html of a contra train run (written by the run, and again by contra report), contra
// compare of two runs, text from the run folder escaped, and the errors of folders that are not runs.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <contra/report/html_run.hpp>

#include "../../examples/contra/commands.hpp"
#include "../support/temp_dir.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {

std::string text_of(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A short shapes run: every one of its 24 test images is in the report's examples.
cli::TrainOptions short_shapes_run(const fs::path& out, double lr) {
    cli::TrainOptions o;
    o.dataset = "shapes";
    o.steps = 2;
    o.train_subset = 32;
    o.batch = 8;
    o.lr = lr;
    o.eval_subset = 24;
    o.no_probe = true;
    o.eval_points = 1;
    o.out = out.string();
    return o;
}

// The cell after <td>key</td> in a results table row.
std::string report_cell(const std::string& html, const std::string& key) {
    const std::string start = "<tr><td>" + key + "</td><td>";
    const auto at = html.find(start);
    if (at == std::string::npos) return "(no row " + key + ")";
    const auto begin = at + start.size();
    return html.substr(begin, html.find("</td>", begin) - begin);
}

void check_results_in_page(const nlohmann::json& results, const std::string& html, const std::string& prefix = "") {
    for (const auto& [key, value] : results.items()) {
        if (prefix.empty() && key == "options") continue;
        const auto name = prefix.empty() ? key : prefix + "." + key;
        if (value.is_object()) {
            check_results_in_page(value, html, name);
            continue;
        }
        CAPTURE(name);
        const auto cell = report_cell(html, name);
        CAPTURE(cell);
        CHECK(nlohmann::json::parse(cell) == value);
    }
}

std::size_t count_of(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("contra train: report.html holds every section, results.json's numbers and the test images' guesses") {
    test::TempDir dir("cli_report");
    auto o = short_shapes_run(dir / "run", 2e-3);
    cli::train_command(o);
    const auto results = nlohmann::json::parse(text_of(dir / "run" / "results.json"));
    const auto html = text_of(dir / "run" / "report.html");

    for (const char* section : {"<h2>Results</h2>", "<h2>Training curves</h2>", "<h2>Confusion matrix</h2>",
                                "<h2>Zero-shot examples</h2>", "<h2>Options</h2>"})
        CHECK(html.find(section) != std::string::npos);
    for (const char* chart : {">Training loss<", ">Learning rate<", ">Logit scale<", ">eval_zero_shot_top1_1k<",
                              ">Zero-shot confusion (shapes test)<"})
        CHECK(html.find(chart) != std::string::npos);
    check_results_in_page(results, html);
    CHECK(report_cell(html, "batch") == "8");  // the options table

    // The 24 examples are the whole test set, so their share of right first guesses is zero-shot top-1.
    CHECK(count_of(html, "<figure class=") == 24);
    const auto right = count_of(html, "<figure class=\"correct\">");
    CHECK(double(right) / 24 == doctest::Approx(results["zero_shot_top1"].get<double>()).epsilon(1e-12));
    CHECK(html.find("the first guess is right for " + std::to_string(right) + " of 24 images") != std::string::npos);
    CHECK(count_of(html, "<img src=\"data:image/png;base64,") == 24);
    CHECK(html.find("src=\"http") == std::string::npos);
    CHECK(html.find("<script") == std::string::npos);

    // contra report writes the same page again from the folder alone.
    fs::remove(dir / "run" / "report.html");
    cli::report_command({(dir / "run").string()});
    CHECK(text_of(dir / "run" / "report.html") == html);

    // A run older than zero_shot_examples.json: contra report computes them from its checkpoint,
    // the same each time (24 of the 3,600 test images, as the checkpoint's model guesses).
    fs::remove(dir / "run" / "zero_shot_examples.json");
    fs::remove(dir / "run" / "report.html");
    cli::report_command({(dir / "run").string()});
    REQUIRE(fs::exists(dir / "run" / "zero_shot_examples.json"));
    const auto computed = text_of(dir / "run" / "zero_shot_examples.json");
    const auto page = text_of(dir / "run" / "report.html");
    CHECK(count_of(page, "<figure class=") == 24);
    CHECK(page.find("shapes test images (checkpoint") != std::string::npos);
    fs::remove(dir / "run" / "zero_shot_examples.json");
    cli::report_command({(dir / "run").string()});
    CHECK(text_of(dir / "run" / "zero_shot_examples.json") == computed);
}

TEST_CASE("contra train: a report.html that cannot be written does not stop the run") {
    test::TempDir dir("cli_report_blocked");
    fs::create_directories(dir / "run" / "report.html" / "in_the_way");  // a folder where the page goes
    auto o = short_shapes_run(dir / "run", 2e-3);
    CHECK_NOTHROW(cli::train_command(o));
    const auto results = nlohmann::json::parse(text_of(dir / "run" / "results.json"));
    CHECK(results["steps"] == 2);
    CHECK(fs::is_regular_file(dir / "run" / "checkpoint.safetensors"));
    CHECK(fs::is_directory(dir / "run" / "report.html"));
}

TEST_CASE("contra train --zeroshot-eval: the report shows the folder's images with their guesses") {
    test::TempDir dir("cli_report_folder");
    const char* const colours[] = {"red", "green", "blue", "yellow"};
    const std::uint8_t rgb[][3] = {{220, 30, 30}, {30, 200, 40}, {30, 60, 220}, {230, 220, 40}};
    std::string table = "filepath,title\n";
    for (int i = 0; i < 16; ++i) {  // 8×8 images: a colour square on grey; one class folder a colour
        std::vector<std::uint8_t> pixels;
        for (int p = 0; p < 64; ++p)
            for (int c = 0; c < 3; ++c) pixels.push_back(p % 8 >= 2 && p % 8 < 6 && p / 8 >= 2 && p / 8 < 6 ? rgb[i % 4][c] : 128);
        const auto png = report::png_bytes(8, 8, 3, pixels);
        fs::create_directories(dir / "folder" / colours[i % 4]);
        test::write_file(dir / "folder" / colours[i % 4] / (std::to_string(i) + ".png"), png);
        test::write_file(dir / (std::to_string(i) + ".png"), png);
        table += std::to_string(i) + ".png,a " + colours[i % 4] + " square\n";
    }
    test::write_file(dir / "train.csv", table);
    test::write_file(dir / "templates.txt", "a {} square\n");
    cli::TrainOptions o;
    o.dataset = "csv";
    o.train_data = (dir / "train.csv").string();
    o.arch = "tiny";
    o.steps = 2;
    o.batch = 8;
    o.vocab_size = 600;
    o.eval_points = 1;
    o.zeroshot_eval = (dir / "folder").string();
    o.zeroshot_templates = (dir / "templates.txt").string();
    o.out = (dir / "run").string();
    cli::train_command(o);
    const auto html = text_of(dir / "run" / "report.html");
    const auto top1 = nlohmann::json::parse(text_of(dir / "run" / "results.json"))["zeroshot_eval"]["metrics"]["acc1"].get<double>();
    // All 16 images are shown (fewer than 24), so the share of right first guesses is the folder's top-1.
    CHECK(count_of(html, "<img src=\"data:image/png;base64,") == 16);
    CHECK(double(count_of(html, "<figure class=\"correct\">")) / 16 == doctest::Approx(top1).epsilon(1e-12));
    CHECK(html.find("<p class=\"note\">" + o.zeroshot_eval + ": the first guess is right") != std::string::npos);
    CHECK(html.find("No confusion.svg in this run folder") != std::string::npos);
}

TEST_CASE("contra compare: two runs' curves in one chart, results side by side, the options that differ shaded") {
    test::TempDir dir("cli_compare");
    auto first = short_shapes_run(dir / "first", 2e-3), second = short_shapes_run(dir / "second", 1e-3);
    cli::train_command(first);
    cli::train_command(second);
    cli::CompareOptions c;
    c.runs = {first.out, second.out};
    c.out = (dir / "compare.html").string();
    cli::compare_command(c);
    const auto html = text_of(dir / "compare.html");
    const auto a = nlohmann::json::parse(text_of(dir / "first" / "results.json"));
    const auto b = nlohmann::json::parse(text_of(dir / "second" / "results.json"));
    CHECK(html.find("<th>result</th><th>first</th><th>second</th>") != std::string::npos);
    CHECK(html.find("<tr><td>zero_shot_top1</td><td>" + a["zero_shot_top1"].dump() + "</td><td>" + b["zero_shot_top1"].dump() +
                    "</td></tr>") != std::string::npos);
    CHECK(html.find("<tr class=\"differs\"><td>lr</td><td>0.002</td><td>0.001</td></tr>") != std::string::npos);
    CHECK(html.find("<tr><td>batch</td><td>8</td><td>8</td></tr>") != std::string::npos);
    const auto loss = html.find(">Training loss<");
    REQUIRE(loss != std::string::npos);
    const auto chart = html.substr(loss, html.find("</svg>", loss) - loss);
    CHECK(count_of(chart, "<path d=") == 2);
    CHECK(chart.find(">first<") != std::string::npos);
    CHECK(chart.find(">second<") != std::string::npos);
}

TEST_CASE("contra report: class names and captions from the run folder are text, never markup") {
    test::TempDir dir("cli_report_escape");
    fs::create_directories(dir / "run");
    test::write_file(dir / "run" / "metrics.jsonl", "{\"step\":1,\"loss\":2.0,\"lr\":0.001}\n");
    test::write_file(dir / "run" / "results.json", R"({"<b>key</b>": "<img src=x onerror=alert(1)>", "options": {"x": "</td>"}})");
    report::write_example_grid(dir / "run", {"a caption <script>alert(1)</script>",
                                             {{report::png_data_uri(1, 1, 1, std::vector<std::uint8_t>{200}),
                                               "<script>alert(2)</script>",
                                               {{"<script>alert(3)</script>", 1.0}},
                                               false}}});
    cli::report_command({(dir / "run").string()});
    const auto html = text_of(dir / "run" / "report.html");
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<b>") == std::string::npos);
    CHECK(html.find("<img src=x") == std::string::npos);
    for (const char* escaped : {"a caption &lt;script&gt;alert(1)&lt;/script&gt;", "true: &lt;script&gt;alert(2)&lt;/script&gt;",
                                "<li>&lt;script&gt;alert(3)&lt;/script&gt; 100.0%</li>", "<td>&lt;b&gt;key&lt;/b&gt;</td>",
                                "<td>&lt;img src=x onerror=alert(1)&gt;</td>", "<td>&lt;/td&gt;</td>"})
        CHECK(html.find(escaped) != std::string::npos);
}

TEST_CASE("contra report, contra compare: folders that are not runs are clear errors, and nothing is written") {
    test::TempDir dir("cli_report_errors");
    fs::create_directories(dir / "not_a_run");
    fs::create_directories(dir / "starting");
    test::write_file(dir / "starting" / "metrics.jsonl", "");
    fs::create_directories(dir / "run");
    test::write_file(dir / "run" / "metrics.jsonl", "{\"step\":1,\"loss\":2.0}\n");
    const auto report = [&](const char* name) { return test::error_of([&] { cli::report_command({(dir / name).string()}); }); };
    CHECK(report("missing").find("does not exist") != std::string::npos);
    CHECK(report("not_a_run").find("is not a run folder: it has no metrics.jsonl") != std::string::npos);
    CHECK(report("starting").find("has no metrics yet") != std::string::npos);
    CHECK(!fs::exists(dir / "not_a_run" / "report.html"));
    CHECK(!fs::exists(dir / "starting" / "report.html"));

    cli::CompareOptions c;
    c.out = (dir / "compare.html").string();
    c.runs = {(dir / "run").string()};
    CHECK(test::error_of([&] { cli::compare_command(c); }).find("needs at least two run folders, got 1") != std::string::npos);
    c.runs = {(dir / "run").string(), (dir / "not_a_run").string()};
    CHECK(test::error_of([&] { cli::compare_command(c); }).find("not_a_run' is not a run folder") != std::string::npos);
    CHECK(!fs::exists(dir / "compare.html"));
}
