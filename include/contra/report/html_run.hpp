// contra/report/html_run.hpp — report.html of a run folder, and one page comparing runs, built
// from the files a run writes alone (metrics.jsonl, results.json, confusion.svg and
// zero_shot_examples.json), so a page can be made again at any time without the model:
// the curves of every metric, the confusion matrix, the results and options as tables, and test
// images with the model's top zero-shot guesses.
//   report::write_run_report("runs/mine");                                   // runs/mine/report.html
//   report::write_compare_page({read_run("runs/a"), read_run("runs/b")}, "compare.html");
// defines: contra::report::{Guess, ZeroShotExample, ExampleGrid, example_grid_json,
//          write_example_grid, example_grid_from_json, Curve, RunRecord, read_run, run_report_html,
//          write_run_report, compare_html, write_compare_page}
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/atomic_file.hpp"
#include "../core/config.hpp"
#include "html.hpp"
#include "svg.hpp"

namespace contra::report {

// ─── zero-shot examples: test images and the model's top guesses ───────────────────────────────

struct Guess {
    std::string class_name;
    double probability = 0;  // softmax of the zero-shot logits
};

struct ZeroShotExample {
    std::string image;           // a PNG data URI (png_data_uri)
    std::string truth;           // the true class's name
    std::vector<Guess> guesses;  // the most probable classes, most probable first
    bool correct = false;        // the first guess is the true class
};

// ExampleGrid: what a run writes as zero_shot_examples.json for its report.
struct ExampleGrid {
    std::string source;  // what the images are, e.g. "shapes test images"
    std::vector<ZeroShotExample> examples;
};

inline constexpr std::string_view kExamplesFile = "zero_shot_examples.json";

inline nlohmann::json example_grid_json(const ExampleGrid& grid) {
    nlohmann::json examples = nlohmann::json::array();
    for (const auto& e : grid.examples) {
        nlohmann::json guesses = nlohmann::json::array();
        for (const auto& g : e.guesses) guesses.push_back({{"class", g.class_name}, {"probability", g.probability}});
        examples.push_back({{"image", e.image}, {"truth", e.truth}, {"correct", e.correct}, {"guesses", guesses}});
    }
    return {{"source", grid.source}, {"examples", examples}};
}

// write_example_grid(folder, grid): folder/zero_shot_examples.json, written atomically.
inline void write_example_grid(const std::filesystem::path& folder, const ExampleGrid& grid) {
    write_file_atomically(folder / kExamplesFile, example_grid_json(grid).dump(1) + "\n");
}

// example_grid_from_json(j, where): the grid example_grid_json wrote.
//   throws: Error naming `where` for a missing or mistyped field, or an image that is not a PNG data URI.
inline ExampleGrid example_grid_from_json(const nlohmann::json& j, const std::string& where) {
    try {
        ExampleGrid grid;
        grid.source = j.at("source").get<std::string>();
        for (const auto& e : j.at("examples")) {
            ZeroShotExample example;
            example.image = e.at("image").get<std::string>();
            CONTRA_CHECK(example.image.rfind("data:image/png;base64,", 0) == 0, where, ": example ", grid.examples.size(),
                         "'s image is not a PNG data URI");
            example.truth = e.at("truth").get<std::string>();
            example.correct = e.at("correct").get<bool>();
            for (const auto& g : e.at("guesses"))
                example.guesses.push_back({g.at("class").get<std::string>(), g.at("probability").get<double>()});
            grid.examples.push_back(std::move(example));
        }
        return grid;
    } catch (const nlohmann::json::exception& e) {
        throw Error(where + ": not a zero-shot example list (" + e.what() + ")");
    }
}

// ─── a run folder, read ────────────────────────────────────────────────────────────────────────

struct Curve {
    std::vector<double> steps, values;
};

struct RunRecord {
    std::filesystem::path folder;
    std::string name;  // the folder's own name
    std::vector<std::pair<std::string, Curve>> metrics;  // each numeric key of metrics.jsonl but "step", first seen first
    std::int64_t last_step = 0;
    nlohmann::json results;     // results.json; null while the run has not finished
    std::string confusion_svg;  // confusion.svg's text; empty when there is none
    std::optional<ExampleGrid> examples;

    const Curve* metric(std::string_view key) const {
        for (const auto& [name, curve] : metrics)
            if (name == key) return &curve;
        return nullptr;
    }
};

namespace detail {

inline std::optional<std::string> read_if_present(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    CONTRA_CHECK(!in.bad(), "cannot read ", path.string());
    return text.str();
}

inline nlohmann::json parse_json_file(const std::filesystem::path& path, const std::string& text) {
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
    }
}

// The metrics of metrics.jsonl: one JSON object a line, each with an integer "step". A last line
// without its newline is one the run is writing now; it is left for the next reading.
inline void read_metrics(const std::filesystem::path& path, const std::string& text, RunRecord& run) {
    std::size_t begin = 0, line_number = 0;
    while (begin < text.size()) {
        std::size_t end = text.find('\n', begin);
        const bool complete = end != std::string::npos;
        if (!complete) end = text.size();
        ++line_number;
        const std::string_view line(text.data() + begin, end - begin);
        begin = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        nlohmann::json record;
        try {
            record = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            if (!complete) break;
            throw Error(path.string() + ":" + std::to_string(line_number) + ": not a JSON object (" + e.what() + ")");
        }
        CONTRA_CHECK(record.is_object() && record.contains("step") && record["step"].is_number_integer(), path.string(), ":",
                     line_number, ": a metrics line needs an integer \"step\"");
        const auto step = record["step"].get<std::int64_t>();
        run.last_step = std::max(run.last_step, step);
        for (const auto& [key, value] : record.items()) {
            if (key == "step" || !value.is_number()) continue;
            auto it = std::find_if(run.metrics.begin(), run.metrics.end(), [&](const auto& m) { return m.first == key; });
            if (it == run.metrics.end()) it = run.metrics.insert(run.metrics.end(), {key, Curve{}});
            it->second.steps.push_back(double(step));
            it->second.values.push_back(value.get<double>());
        }
    }
}

}  // namespace detail

// read_run(folder): what a run folder holds for its report.
//   throws: Error when folder is not a folder, has no metrics.jsonl (not a run), has neither a
//           metric nor results yet (the first step has not ended), or a file is malformed (naming
//           it and the line). A finished run of no step (evaluation only) has results, no metric.
inline RunRecord read_run(const std::filesystem::path& folder) {
    namespace fs = std::filesystem;
    std::error_code ec;
    CONTRA_CHECK(fs::exists(folder, ec), "'", folder.string(), "' does not exist");
    CONTRA_CHECK(fs::is_directory(folder, ec), "'", folder.string(), "' is not a folder; give a run folder (contra train --out)");
    RunRecord run;
    run.folder = folder;
    const auto normal = folder.lexically_normal();
    run.name = (normal.filename().empty() ? normal.parent_path() : normal).filename().string();
    if (run.name.empty() || run.name == ".") run.name = fs::absolute(folder, ec).lexically_normal().filename().string();

    const auto metrics_path = folder / "metrics.jsonl";
    const auto metrics = detail::read_if_present(metrics_path);
    CONTRA_CHECK(metrics, "'", folder.string(), "' is not a run folder: it has no metrics.jsonl (contra train writes one)");
    detail::read_metrics(metrics_path, *metrics, run);
    if (const auto results = detail::read_if_present(folder / "results.json")) {
        run.results = detail::parse_json_file(folder / "results.json", *results);
        CONTRA_CHECK(run.results.is_object(), (folder / "results.json").string(), ": expected a JSON object");
    }
    CONTRA_CHECK(!run.metrics.empty() || !run.results.is_null(), "'", folder.string(),
                 "' has no metrics yet (metrics.jsonl is empty until the first step ends)");
    if (auto confusion = detail::read_if_present(folder / "confusion.svg")) run.confusion_svg = std::move(*confusion);
    const auto examples_path = folder / kExamplesFile;
    if (const auto examples = detail::read_if_present(examples_path))
        run.examples = example_grid_from_json(detail::parse_json_file(examples_path, *examples), examples_path.string());
    return run;
}

// ─── pages ─────────────────────────────────────────────────────────────────────────────────────

namespace detail {

// The charts of a page: the training loop's figures first, then every other metric (the
// probes: zero-shot accuracy and the like). Time and throughput are not drawn.
struct ChartSpec {
    std::string key, title;
};
inline std::vector<ChartSpec> chart_specs(const std::vector<const RunRecord*>& runs) {
    static const std::pair<std::string_view, std::string_view> kKnown[] = {
        {"loss", "Training loss"}, {"lr", "Learning rate"}, {"logit_scale", "Logit scale"}, {"grad_norm", "Gradient norm"}};
    static const std::string_view kNotDrawn[] = {"epoch", "elapsed_s", "pairs_per_s"};
    std::vector<ChartSpec> specs;
    const auto listed = [&](std::string_view key) {
        return std::any_of(specs.begin(), specs.end(), [&](const ChartSpec& s) { return s.key == key; });
    };
    for (const auto& [key, title] : kKnown)
        if (std::any_of(runs.begin(), runs.end(), [&](const RunRecord* r) { return r->metric(key) != nullptr; }))
            specs.push_back({std::string(key), std::string(title)});
    for (const auto* run : runs)
        for (const auto& [key, curve] : run->metrics)
            if (!listed(key) && std::find(std::begin(kNotDrawn), std::end(kNotDrawn), key) == std::end(kNotDrawn))
                specs.push_back({key, key});
    return specs;
}

// A series of at most max_points points: every k-th (and the last) of a longer curve.
inline Series thinned(const std::string& name, const Curve& curve, std::size_t max_points = 2000) {
    Series s{name, {}, {}};
    const std::size_t n = curve.values.size(), stride = std::max<std::size_t>(1, (n + max_points - 1) / max_points);
    for (std::size_t i = 0; i < n; ++i)
        if (i % stride == 0 || i + 1 == n) {
            s.x.push_back(curve.steps[i]);
            s.y.push_back(curve.values[i]);
        }
    return s;
}

// The chart of one metric over several runs (absent runs: "no data" in the legend).
inline std::string chart_html(const ChartSpec& spec, const std::vector<const RunRecord*>& runs, bool run_names,
                              std::size_t index) {
    LineChart chart;
    chart.title = spec.title, chart.x_label = "step", chart.y_label = spec.key;
    chart.width = 580, chart.height = 360;
    bool fraction = true, any = false;
    for (const auto* run : runs) {
        const Curve* curve = run->metric(spec.key);
        chart.series.push_back(curve ? thinned(run_names ? run->name : spec.key, *curve) : Series{run->name, {}, {}});
        if (curve)
            for (double v : curve->values) any = true, fraction = fraction && v >= 0 && v <= 1;
    }
    const bool accuracy = spec.key.find("top1") != std::string::npos || spec.key.find("top5") != std::string::npos;
    if (accuracy && any && fraction) chart.y_min = 0, chart.y_max = 1;
    return inline_svg(render_svg(chart), "chart" + std::to_string(index));
}

inline std::string charts_html(const std::vector<const RunRecord*>& runs, bool run_names) {
    const auto specs = chart_specs(runs);
    if (specs.empty()) return "<p class=\"note\">No curves: no training step was taken.</p>\n";
    std::string out = "<div class=\"charts\">\n";
    std::size_t index = 0, longest = 0;
    for (const auto& spec : specs) out += chart_html(spec, runs, run_names, index++);
    for (const auto* run : runs)
        for (const auto& [key, curve] : run->metrics) longest = std::max(longest, curve.values.size());
    out += "</div>\n";
    if (longest > 2000)
        out += "<p class=\"note\">Curves longer than 2,000 points are drawn with every k-th point (and the last); "
               "metrics.jsonl holds them all.</p>\n";
    return out;
}

// The results as (key, value) rows: nested objects flattened to "a.b", values as JSON writes
// them (so the digits are results.json's); "options" left out (a table of its own).
inline void flatten(const nlohmann::json& j, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& rows) {
    for (const auto& [key, value] : j.items()) {
        if (prefix.empty() && key == "options") continue;
        const std::string name = prefix.empty() ? key : prefix + "." + key;
        if (value.is_object()) flatten(value, name, rows);
        else rows.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
    }
}
inline std::vector<std::pair<std::string, std::string>> flat(const nlohmann::json& j) {
    std::vector<std::pair<std::string, std::string>> rows;
    if (j.is_object()) flatten(j, "", rows);
    return rows;
}

// "83.30%" for a fraction under a name of accuracy or recall (top1, top5, r1, r5, r10), else "".
inline std::string as_percent(const std::string& key, const std::string& value) {
    static const std::string_view kEndings[] = {"top1", "top5", "_r1", "_r5", "_r10", "top1_1k"};
    const bool named = std::any_of(std::begin(kEndings), std::end(kEndings), [&](std::string_view e) {
        return key.size() >= e.size() && key.compare(key.size() - e.size(), e.size(), e) == 0;
    });
    if (!named) return "";
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0' || !(v >= 0 && v <= 1)) return "";
    char text[32];
    std::snprintf(text, sizeof text, "%.2f%%", 100 * v);
    return text;
}

inline std::string gallery_html(const ExampleGrid& grid) {
    std::size_t correct = 0;
    for (const auto& e : grid.examples) correct += e.correct;
    std::string out = "<p class=\"note\">" + xml_escape(grid.source) + ": the first guess is right for " +
                      std::to_string(correct) + " of " + std::to_string(grid.examples.size()) +
                      " images (probabilities: the softmax of the zero-shot logits).</p>\n<div class=\"gallery\">\n";
    for (const auto& e : grid.examples) {
        out += std::string("<figure class=\"") + (e.correct ? "correct" : "wrong") + "\"><img src=\"" + xml_escape(e.image) +
               "\" alt=\"" + xml_escape("a test image of " + e.truth) + "\"><figcaption><span class=\"mark\">" +
               (e.correct ? "✓ right" : "✗ wrong") + "</span> true: " + xml_escape(e.truth) + "<ol>";
        for (const auto& g : e.guesses) {
            char p[32];
            std::snprintf(p, sizeof p, "%.1f%%", 100 * g.probability);
            out += "<li>" + xml_escape(g.class_name) + " " + p + "</li>";
        }
        out += "</ol></figcaption></figure>\n";
    }
    return out + "</div>\n";
}

inline std::string options_text(const nlohmann::json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace detail

// run_report_html(run): the run's page: results, curves, confusion matrix, zero-shot examples,
// options; each section says so when the run has not written its part.
inline std::string run_report_html(const RunRecord& run) {
    HtmlPage page;
    page.title = "contra run " + run.name;
    const bool finished = !run.results.is_null();
    page.subtitle = run.folder.string() + (finished ? " — finished after " : " — in progress at step ") +
                    std::to_string(finished ? run.results.value("steps", run.last_step) : run.last_step) +
                    (finished ? " steps" : " (no results.json yet)");
    if (finished) {
        HtmlTable table{{"result", "value", "as percent"}, {}, {}};
        for (const auto& [key, value] : detail::flat(run.results)) table.rows.push_back({key, value, detail::as_percent(key, value)});
        page.add("Results", render_html(table));
    } else {
        page.add("Results", "<p class=\"note\">The run has not finished: results.json is written after its evaluation.</p>\n");
    }
    page.add("Training curves", detail::charts_html({&run}, false));
    page.add("Confusion matrix", run.confusion_svg.empty()
                                     ? "<p class=\"note\">No confusion.svg in this run folder (runs on labelled images "
                                       "write one after their evaluation).</p>\n"
                                     : "<div class=\"charts\">" + inline_svg(run.confusion_svg, "confusion") + "</div>\n");
    page.add("Zero-shot examples", run.examples ? detail::gallery_html(*run.examples)
                                                : "<p class=\"note\">No zero_shot_examples.json in this run folder (runs "
                                                  "on labelled images write one after their evaluation).</p>\n");
    if (finished && run.results.contains("options")) {
        HtmlTable table{{"option", "value"}, {}, {}};
        for (const auto& [key, value] : run.results["options"].items()) table.rows.push_back({key, detail::options_text(value)});
        page.add("Options", render_html(table));
    }
    return page.render();
}

// write_run_report(folder): folder/report.html from read_run(folder), written atomically.
inline std::filesystem::path write_run_report(const std::filesystem::path& folder) {
    const auto path = folder / "report.html";
    write_file_atomically(path, run_report_html(read_run(folder)));
    return path;
}

// compare_html(runs): one page for several runs: every metric's curves overlaid (one colour a
// run, the legend naming it), the results side by side, and the options with the rows that
// differ between runs shaded. Runs of one name are told apart by their paths.
//   throws: Error for fewer than two runs.
inline std::string compare_html(std::vector<RunRecord> runs) {
    CONTRA_CHECK(runs.size() >= 2, "compare needs at least two run folders, got ", runs.size());
    std::vector<bool> shared_name(runs.size(), false);
    for (std::size_t i = 0; i < runs.size(); ++i)
        for (std::size_t k = 0; k < runs.size(); ++k) shared_name[i] = shared_name[i] || (i != k && runs[i].name == runs[k].name);
    for (std::size_t i = 0; i < runs.size(); ++i)
        if (shared_name[i]) runs[i].name = runs[i].folder.string();
    std::vector<const RunRecord*> all;
    for (const auto& r : runs) all.push_back(&r);
    HtmlPage page;
    page.title = "contra: " + std::to_string(runs.size()) + " runs compared";
    for (const auto& r : runs) page.subtitle += (page.subtitle.empty() ? "" : ", ") + r.name;

    HtmlTable results{{"result"}, {}, {}};
    HtmlTable options{{"option"}, {}, {}};
    std::vector<std::vector<std::pair<std::string, std::string>>> flats;
    for (const auto& r : runs) {
        results.header.push_back(r.name + (r.results.is_null() ? " (in progress)" : ""));
        options.header.push_back(r.name);
        flats.push_back(detail::flat(r.results));
    }
    std::vector<std::string> keys;  // in first-seen order over the runs
    for (const auto& f : flats)
        for (const auto& [key, value] : f)
            if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    for (const auto& key : keys) {
        std::vector<std::string> row{key};
        for (const auto& f : flats) {
            const auto it = std::find_if(f.begin(), f.end(), [&](const auto& kv) { return kv.first == key; });
            row.push_back(it == f.end() ? "—" : it->second);
        }
        results.rows.push_back(std::move(row));
    }
    std::vector<std::string> option_keys;
    for (const auto& r : runs)
        if (r.results.contains("options"))
            for (const auto& [key, value] : r.results["options"].items())
                if (std::find(option_keys.begin(), option_keys.end(), key) == option_keys.end()) option_keys.push_back(key);
    for (const auto& key : option_keys) {
        std::vector<std::string> row{key};
        for (const auto& r : runs) {
            const bool has = r.results.contains("options") && r.results["options"].contains(key);
            row.push_back(has ? detail::options_text(r.results["options"][key]) : "—");
        }
        options.highlighted.push_back(std::any_of(row.begin() + 2, row.end(), [&](const auto& v) { return v != row[1]; }));
        options.rows.push_back(std::move(row));
    }
    page.add("Results", keys.empty() ? "<p class=\"note\">None of these runs has finished (no results.json).</p>\n"
                                     : render_html(results));
    page.add("Training curves", detail::charts_html(all, true));
    if (!option_keys.empty())
        page.add("Options", "<p class=\"note\">Shaded: the options that differ between the runs.</p>\n" + render_html(options));
    return page.render();
}

// write_compare_page(runs, path): compare_html, written atomically.
inline void write_compare_page(std::vector<RunRecord> runs, const std::filesystem::path& path) {
    write_file_atomically(path, compare_html(std::move(runs)));
}

}  // namespace contra::report
