// contra/report/svg.hpp — plots as standalone SVG files: line charts (loss and accuracy curves),
// scatter plots (point clouds, e.g. projected embeddings), confusion-matrix heatmaps and heatmaps
// of real values (similarity matrices). Plain string building, no dependencies; open the file in a
// browser. Numbers are printed with fixed formats, so the same data gives the same bytes.
// defines: contra::report::{Series, LineChart, ScatterPlot, ConfusionMatrix, Heatmap, Ticks,
//          nice_ticks, log_ticks, xml_escape, confusion_counts, render_svg, write_svg}
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../core/atomic_file.hpp"
#include "../core/config.hpp"

namespace contra::report {

// Series: one curve. x empty means x = 0, 1, 2, ...; otherwise x.size() == y.size().
// Non-finite points (NaN, ±inf) are gaps: the line stops before them and starts again after.
struct Series {
    std::string name;
    std::vector<double> x, y;
};

struct LineChart {
    std::string title, x_label, y_label;
    std::vector<Series> series;
    std::optional<double> y_min, y_max;  // fix the y range (accuracy: 0 and 1); otherwise from the data
    int width = 720, height = 440;
    bool log_x = false;  // a logarithmic x axis (batch sizes, temperatures); x <= 0 is then a gap
};

// ScatterPlot: each series a cloud of dots in its own colour (no lines), axes and legend as a
// LineChart's. Series with empty x are placed at x = 0, 1, 2, ...
struct ScatterPlot {
    std::string title, x_label, y_label;
    std::vector<Series> series;
    int width = 640, height = 480;
};

// Heatmap: a matrix of real values, values[r · columns.size() + c] for row r and column c, each
// cell coloured on a diverging scale (blue at lo, white halfway, red at hi; values beyond are
// clipped to the ends) and labelled with its value to `decimals` places. NaN cells are grey.
struct Heatmap {
    std::string title, x_label, y_label;
    std::vector<std::string> rows, columns;
    std::vector<double> values;
    double lo = -1, hi = 1;  // the colour scale: cosine similarities by default
    int decimals = 2;
};

// ConfusionMatrix: counts[t · n + p] samples of true class t predicted as class p (n = classes.size()).
struct ConfusionMatrix {
    std::string title;
    std::vector<std::string> classes;
    std::vector<std::int64_t> counts;
};

// confusion_counts(truth, predicted, classes): the n × n counts of a ConfusionMatrix.
//   requires: equal lengths; every value in [0, classes). Works with any indexable container.
template <class Truth, class Predicted>
std::vector<std::int64_t> confusion_counts(const Truth& truth, const Predicted& predicted, int classes) {
    CONTRA_CHECK(std::size(truth) == std::size(predicted), "confusion_counts: ", std::size(truth), " labels but ",
                 std::size(predicted), " predictions");
    CONTRA_CHECK(classes > 0, "confusion_counts: need at least one class, got ", classes);
    std::vector<std::int64_t> counts(std::size_t(classes) * std::size_t(classes), 0);
    for (std::size_t i = 0; i < std::size(truth); ++i) {
        const auto t = std::int64_t(truth[i]), p = std::int64_t(predicted[i]);
        CONTRA_CHECK(0 <= t && t < classes && 0 <= p && p < classes, "confusion_counts: sample ", i, " has label ", t,
                     " and prediction ", p, ", expected both in [0, ", classes, ")");
        ++counts[std::size_t(t * classes + p)];
    }
    return counts;
}

// xml_escape(text): text safe inside an element or a quoted attribute. Control characters,
// which XML 1.0 forbids, become spaces.
inline std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        switch (ch) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default:
                if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
                    out += ' ';
                else
                    out += ch;
        }
    }
    return out;
}

// Ticks: round axis values covering [lo, hi] (lo and hi are the first and last tick).
struct Ticks {
    double lo = 0, hi = 1, step = 1;
    std::vector<double> values;
};

// nice_ticks(lo, hi, target): about `target` ticks at multiples of 1, 2 or 5 × 10^k.
//   requires: lo < hi, both finite. ensures: ticks.lo <= lo, ticks.hi >= hi.
inline Ticks nice_ticks(double lo, double hi, int target = 6) {
    const double span = hi - lo;
    Ticks t;
    if (!(span > 0) || !std::isfinite(span) || target < 2) {  // cannot subdivide: the two ends
        t.lo = lo, t.hi = hi, t.step = span, t.values = {lo, hi};
        return t;
    }
    const double rough = span / target;
    const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
    const double unit = rough / magnitude;
    t.step = (unit < 1.5 ? 1 : unit < 3 ? 2 : unit < 7 ? 5 : 10) * magnitude;
    t.lo = std::floor(lo / t.step) * t.step;
    t.hi = std::ceil(hi / t.step) * t.step;
    const auto count = std::int64_t(std::llround((t.hi - t.lo) / t.step));
    for (std::int64_t k = 0; k <= count && k <= 1000; ++k) {
        double v = t.lo + double(k) * t.step;
        if (std::abs(v) < t.step * 1e-9) v = 0;  // no "-0" or "5.55e-17" at the origin
        t.values.push_back(v);
    }
    return t;
}

// log_ticks(lo, hi): ticks at 1, 2 and 5 × 10^k (only at 10^k when [lo, hi] spans more than three
// decades), from the last one at or below lo to the first one at or above hi.
//   requires: 0 < lo <= hi, both finite. ensures: at least two values, ascending, values.front() <= lo,
//   values.back() >= hi; the result's lo and hi are the log10 of the first and last value, step 1.
inline Ticks log_ticks(double lo, double hi) {
    CONTRA_CHECK(lo > 0 && lo <= hi && std::isfinite(hi), "log_ticks: need 0 < lo <= hi, got ", lo, " and ", hi);
    const double first = std::floor(std::log10(lo) + 1e-9), last = std::ceil(std::log10(hi) - 1e-9) + 1;
    const bool fine = last - first <= 4;
    std::vector<double> candidates;
    for (double k = first; k <= last; ++k)
        for (double mantissa : {1.0, 2.0, 5.0})
            if (mantissa == 1.0 || fine) candidates.push_back(mantissa * std::pow(10.0, k));
    std::size_t begin = 0, end = 1;
    while (begin + 2 < candidates.size() && candidates[begin + 1] <= lo * (1 + 1e-12)) ++begin;
    end = begin + 1;
    while (end + 1 < candidates.size() && candidates[end] < hi * (1 - 1e-12)) ++end;
    Ticks t;
    t.values.assign(candidates.begin() + std::ptrdiff_t(begin), candidates.begin() + std::ptrdiff_t(end) + 1);
    t.lo = std::log10(t.values.front()), t.hi = std::log10(t.values.back()), t.step = 1;  // a decade
    return t;
}

namespace detail {

// num(v): a coordinate with two decimals (SVG user units).
inline std::string num(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", v);
    return text;
}
// label(v): a tick label, shortest of up to six significant digits.
inline std::string label(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return text;
}
inline std::string svg_open(int width, int height) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
           std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) +
           " " + std::to_string(height) + "\" font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"" +
           std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" fill=\"white\"/>\n";
}
inline std::string text(double x, double y, std::string_view content, std::string_view attributes = {}) {
    return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"" + (attributes.empty() ? "" : " ") + std::string(attributes) +
           ">" + xml_escape(content) + "</text>\n";
}
// Tableau 10: distinguishable colours for up to ten series (then they repeat).
inline constexpr std::string_view kPalette[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                                  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

// widen_if_flat(lo, hi): a non-empty range around [lo, hi] (a single value gets room either side).
inline void widen_if_flat(double& lo, double& hi) {
    if (hi > lo) return;
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad, hi += pad;
}

// render_xy(chart, dots): a line chart, or with dots each series as a cloud of dots (a scatter plot).
inline std::string render_xy(const LineChart& chart, bool dots) {
    using detail::num;
    for (const auto& s : chart.series)
        CONTRA_CHECK(s.x.empty() || s.x.size() == s.y.size(), (dots ? "scatter plot '" : "line chart '"), chart.title,
                     "': series '", s.name, "' has ", s.x.size(), " x values for ", s.y.size(), " y values");
    const auto x_of = [](const Series& s, std::size_t i) { return s.x.empty() ? double(i) : s.x[i]; };
    const auto finite = [&](const Series& s, std::size_t i) {
        return std::isfinite(x_of(s, i)) && std::isfinite(s.y[i]) && (!chart.log_x || x_of(s, i) > 0);
    };

    // Data range over finite points, then fixed limits, then round ticks.
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    for (const auto& s : chart.series)
        for (std::size_t i = 0; i < s.y.size(); ++i)
            if (finite(s, i)) {
                x_lo = std::min(x_lo, x_of(s, i)), x_hi = std::max(x_hi, x_of(s, i));
                y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
            }
    if (!(x_lo <= x_hi)) x_lo = chart.log_x ? 1 : 0, x_hi = chart.log_x ? 10 : 1;
    if (!(y_lo <= y_hi)) y_lo = 0, y_hi = 1;
    if (chart.y_min && std::isfinite(*chart.y_min)) y_lo = *chart.y_min;
    if (chart.y_max && std::isfinite(*chart.y_max)) y_hi = *chart.y_max;
    if (y_hi < y_lo) std::swap(y_lo, y_hi);
    if (!chart.log_x) detail::widen_if_flat(x_lo, x_hi);
    detail::widen_if_flat(y_lo, y_hi);
    const Ticks xt = chart.log_x ? log_ticks(x_lo, x_hi) : nice_ticks(x_lo, x_hi), yt = nice_ticks(y_lo, y_hi);
    // With fixed limits the axis ends exactly there; otherwise at the outer round ticks.
    const double y0 = chart.y_min ? y_lo : yt.lo, y1 = chart.y_max ? y_hi : yt.hi;

    const int W = std::max(chart.width, 240), H = std::max(chart.height, 180);
    const bool legend = !chart.series.empty();
    const double left = 72, top = 48, right = W - (legend ? 190.0 : 24.0), bottom = H - 56.0;
    const auto px = [&](double x) {
        return left + ((chart.log_x ? std::log10(x) : x) - xt.lo) / (xt.hi - xt.lo) * (right - left);
    };
    const auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };

    std::string svg = detail::svg_open(W, H);
    svg += detail::text(W / 2.0, 28, chart.title, "text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\"");
    svg += "<defs><clipPath id=\"plot-area\"><rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" +
           num(right - left) + "\" height=\"" + num(bottom - top) + "\"/></clipPath></defs>\n";

    // Grid, ticks and tick labels.
    svg += "<g font-size=\"11\" fill=\"#333\">\n";
    for (double v : xt.values) {
        const double x = px(v);
        svg += "<line x1=\"" + num(x) + "\" y1=\"" + num(top) + "\" x2=\"" + num(x) + "\" y2=\"" + num(bottom) +
               "\" stroke=\"#e6e6e6\"/>\n";
        svg += detail::text(x, bottom + 16, detail::label(v), "text-anchor=\"middle\"");
    }
    for (double v : yt.values) {
        if (v < std::min(y0, y1) - 1e-12 * std::abs(y1 - y0) || v > std::max(y0, y1) + 1e-12 * std::abs(y1 - y0)) continue;
        const double y = py(v);
        svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(right) + "\" y2=\"" + num(y) +
               "\" stroke=\"#e6e6e6\"/>\n";
        svg += detail::text(left - 6, y + 4, detail::label(v), "text-anchor=\"end\"");
    }
    svg += "</g>\n";
    svg += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(right - left) + "\" height=\"" +
           num(bottom - top) + "\" fill=\"none\" stroke=\"#333\"/>\n";
    svg += detail::text((left + right) / 2, H - 14.0, chart.x_label, "text-anchor=\"middle\" font-size=\"13\"");
    svg += "<text x=\"18\" y=\"" + num((top + bottom) / 2) + "\" transform=\"rotate(-90 18 " + num((top + bottom) / 2) +
           ")\" text-anchor=\"middle\" font-size=\"13\">" + xml_escape(chart.y_label) + "</text>\n";

    // Curves: one path per series, a new "M" after every gap; lone points as dots.
    svg += "<g clip-path=\"url(#plot-area)\" fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\">\n";
    bool any_point = false;
    for (std::size_t k = 0; k < chart.series.size(); ++k) {
        const Series& s = chart.series[k];
        const std::string_view colour = detail::kPalette[k % 10];
        std::string path, lone_points;
        for (std::size_t i = 0; i < s.y.size(); ++i) {
            if (!finite(s, i)) continue;
            any_point = true;
            const bool starts = i == 0 || !finite(s, i - 1);
            const bool ends = i + 1 == s.y.size() || !finite(s, i + 1);
            const double x = px(x_of(s, i)), y = py(s.y[i]);
            if (dots || (starts && ends))
                lone_points += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + (dots ? "3.5" : "2.5") +
                               "\" fill=\"" + std::string(colour) + "\"/>\n";
            else
                path += (starts ? "M" : "L") + num(x) + " " + num(y) + " ";
        }
        if (!path.empty()) {
            path.pop_back();
            svg += "<path d=\"" + path + "\" stroke=\"" + std::string(colour) + "\"/>\n";
        }
        svg += lone_points;
    }
    svg += "</g>\n";
    if (!any_point)
        svg += detail::text((left + right) / 2, (top + bottom) / 2, "no data",
                            "text-anchor=\"middle\" font-size=\"14\" fill=\"#999\"");

    // Legend to the right of the plot.
    for (std::size_t k = 0; k < chart.series.size(); ++k) {
        const Series& s = chart.series[k];
        bool has_data = false;
        for (std::size_t i = 0; i < s.y.size() && !has_data; ++i) has_data = finite(s, i);
        const double y = top + 10 + 20.0 * double(k);
        if (dots)
            svg += "<circle cx=\"" + num(right + 26) + "\" cy=\"" + num(y) + "\" r=\"4\" fill=\"" +
                   std::string(detail::kPalette[k % 10]) + "\"/>\n";
        else
            svg += "<line x1=\"" + num(right + 14) + "\" y1=\"" + num(y) + "\" x2=\"" + num(right + 38) + "\" y2=\"" +
                   num(y) + "\" stroke=\"" + std::string(detail::kPalette[k % 10]) + "\" stroke-width=\"2\"/>\n";
        svg += detail::text(right + 44, y + 4, has_data ? s.name : s.name + " (no data)", "font-size=\"12\"");
    }
    svg += "</svg>\n";
    return svg;
}

}  // namespace detail

// render_svg(chart): the line chart as an SVG document.
//   Empty series and non-finite points are drawn as nothing (the legend says "no data");
//   a chart with no finite point at all still has axes over [0, 1].
//   throws: Error when a series has x values but not one per y value.
inline std::string render_svg(const LineChart& chart) { return detail::render_xy(chart, false); }

// render_svg(plot): the scatter plot as an SVG document; non-finite points are left out.
//   throws: Error when a series has x values but not one per y value.
inline std::string render_svg(const ScatterPlot& plot) {
    return detail::render_xy(LineChart{plot.title, plot.x_label, plot.y_label, plot.series, std::nullopt, std::nullopt,
                                       plot.width, plot.height, false},
                             true);
}

// render_svg(matrix): the confusion matrix as a heatmap: rows are true classes, columns
// predicted ones; each cell shows its count and its percent of the row, shaded by that percent.
//   throws: Error unless counts has classes.size()² non-negative entries and there is a class.
inline std::string render_svg(const ConfusionMatrix& matrix) {
    using detail::num;
    const std::size_t n = matrix.classes.size();
    CONTRA_CHECK(n > 0, "confusion matrix '", matrix.title, "': no classes");
    CONTRA_CHECK(matrix.counts.size() == n * n, "confusion matrix '", matrix.title, "': expected ", n * n,
                 " counts for ", n, " classes, found ", matrix.counts.size());
    std::int64_t total = 0, correct = 0;
    for (std::size_t i = 0; i < n * n; ++i) {
        CONTRA_CHECK(matrix.counts[i] >= 0, "confusion matrix '", matrix.title, "': negative count ", matrix.counts[i]);
        total += matrix.counts[i];
        if (i / n == i % n) correct += matrix.counts[i];
    }

    std::size_t longest = 1;
    for (const auto& c : matrix.classes) longest = std::max(longest, c.size());
    const double cell = std::clamp(640.0 / double(n), 22.0, 72.0);
    const double name_w = 7.0 * double(std::min<std::size_t>(longest, 40)) + 10;  // ~7 px per 12 px character
    const double left = 34 + name_w, top = 72;
    const double grid = cell * double(n);
    const int W = int(std::ceil(std::max(left + grid + 24, 360.0)));
    const int H = int(std::ceil(top + grid + name_w * 0.72 + 48));
    const double value_font = std::min(12.0, cell / 2.6);
    const bool show_percent = cell >= 36;

    std::string svg = detail::svg_open(W, H);
    svg += detail::text(W / 2.0, 26, matrix.title, "text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\"");
    char summary[160];
    std::snprintf(summary, sizeof summary, "accuracy %.2f%% (%lld of %lld); shade and percent: share of the true class",
                  total ? 100.0 * double(correct) / double(total) : 0.0, static_cast<long long>(correct),
                  static_cast<long long>(total));
    svg += detail::text(W / 2.0, 46, summary, "text-anchor=\"middle\" font-size=\"12\" fill=\"#555\"");

    for (std::size_t t = 0; t < n; ++t) {
        std::int64_t row_total = 0;
        for (std::size_t p = 0; p < n; ++p) row_total += matrix.counts[t * n + p];
        for (std::size_t p = 0; p < n; ++p) {
            const std::int64_t count = matrix.counts[t * n + p];
            const double share = row_total ? double(count) / double(row_total) : 0.0;
            // white → dark blue (#08306b) with the share of the row
            const int r = int(std::lround(255 + (8 - 255) * share)), g = int(std::lround(255 + (48 - 255) * share)),
                      b = int(std::lround(255 + (107 - 255) * share));
            char fill[8];
            std::snprintf(fill, sizeof fill, "#%02x%02x%02x", r, g, b);
            const double x = left + cell * double(p), y = top + cell * double(t);
            char percent[16];
            std::snprintf(percent, sizeof percent, "%.1f%%", 100.0 * share);
            svg += "<g><title>" + xml_escape("true " + matrix.classes[t] + ", predicted " + matrix.classes[p] + ": " +
                                             std::to_string(count) + " (" + percent + ")") +
                   "</title>";
            svg += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(cell) + "\" height=\"" + num(cell) +
                   "\" fill=\"" + fill + "\" stroke=\"#ccc\" stroke-width=\"0.5\"/>\n";
            const std::string ink = share > 0.5 ? "white" : count == 0 ? "#bbb" : "#222";
            const std::string style = "text-anchor=\"middle\" font-size=\"" + num(value_font) + "\" fill=\"" + ink + "\"";
            if (show_percent) {
                svg += detail::text(x + cell / 2, y + cell / 2 - 2, std::to_string(count), style);
                svg += detail::text(x + cell / 2, y + cell / 2 + value_font, percent, style);
            } else {
                svg += detail::text(x + cell / 2, y + cell / 2 + value_font / 3, std::to_string(count), style);
            }
            svg += "</g>\n";
        }
    }
    svg += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(grid) + "\" height=\"" + num(grid) +
           "\" fill=\"none\" stroke=\"#333\"/>\n";

    // Class names: true classes left of the rows, predicted classes slanted under the columns.
    svg += "<g font-size=\"12\" fill=\"#222\">\n";
    for (std::size_t i = 0; i < n; ++i) {
        const double mid = cell * (double(i) + 0.5);
        svg += detail::text(left - 6, top + mid + 4, matrix.classes[i], "text-anchor=\"end\"");
        const double x = left + mid, y = top + grid + 12;
        svg += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" transform=\"rotate(-45 " + num(x) + " " + num(y) +
               ")\" text-anchor=\"end\">" + xml_escape(matrix.classes[i]) + "</text>\n";
    }
    svg += "</g>\n";
    svg += detail::text(left + grid / 2, H - 12.0, "predicted class", "text-anchor=\"middle\" font-size=\"13\"");
    svg += "<text x=\"16\" y=\"" + num(top + grid / 2) + "\" transform=\"rotate(-90 16 " + num(top + grid / 2) +
           ")\" text-anchor=\"middle\" font-size=\"13\">true class</text>\n";
    svg += "</svg>\n";
    return svg;
}

// render_svg(heatmap): the matrix as coloured cells, each labelled with its value; row labels
// left, column labels above, and a colour bar from lo to hi.
//   throws: Error unless values has rows.size() · columns.size() entries, there is a cell, and lo < hi.
inline std::string render_svg(const Heatmap& heatmap) {
    using detail::num;
    const std::size_t rows = heatmap.rows.size(), columns = heatmap.columns.size();
    CONTRA_CHECK(rows > 0 && columns > 0, "heatmap '", heatmap.title, "': no rows or no columns");
    CONTRA_CHECK(heatmap.values.size() == rows * columns, "heatmap '", heatmap.title, "': expected ", rows * columns,
                 " values for ", rows, " rows and ", columns, " columns, found ", heatmap.values.size());
    CONTRA_CHECK(heatmap.lo < heatmap.hi, "heatmap '", heatmap.title, "': colour scale needs lo < hi, got ", heatmap.lo,
                 " and ", heatmap.hi);
    CONTRA_CHECK(0 <= heatmap.decimals && heatmap.decimals <= 6, "heatmap '", heatmap.title,
                 "': decimals must be in [0, 6], got ", heatmap.decimals);
    // t in [0, 1] → blue (#2166ac) → white → red (#b2182b)
    const auto colour = [](double t) {
        const double a = std::abs(2 * t - 1);
        const bool high = t > 0.5;
        const auto mix = [&](int end) { return int(std::lround(255 + (end - 255) * a)); };
        char fill[8];
        std::snprintf(fill, sizeof fill, "#%02x%02x%02x", mix(high ? 178 : 33), mix(high ? 24 : 102), mix(high ? 43 : 172));
        return std::string(fill);
    };
    std::size_t longest = 1;
    for (const auto& r : heatmap.rows) longest = std::max(longest, r.size());
    const double cell = std::clamp(480.0 / double(std::max(rows, columns)), 18.0, 64.0);
    const double left = 40 + 7.0 * double(std::min<std::size_t>(longest, 30)), top = 84;
    const double grid_w = cell * double(columns), grid_h = cell * double(rows);
    const double title_w = 10.0 * double(heatmap.title.size()) + 40;  // ~10 px per 18 px bold character
    const int W = int(std::ceil(std::max({left + grid_w + 110, 360.0, title_w}))), H = int(std::ceil(top + grid_h + 48));
    const double font = std::min(12.0, cell / 3.2);

    std::string svg = detail::svg_open(W, H);
    svg += detail::text(W / 2.0, 26, heatmap.title, "text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\"");
    svg += detail::text(left + grid_w / 2, 50, heatmap.x_label, "text-anchor=\"middle\" font-size=\"13\"");
    for (std::size_t c = 0; c < columns; ++c)
        svg += detail::text(left + cell * (double(c) + 0.5), top - 8, heatmap.columns[c], "text-anchor=\"middle\" font-size=\"12\"");
    for (std::size_t r = 0; r < rows; ++r) {
        const double y = top + cell * double(r);
        svg += detail::text(left - 6, y + cell / 2 + 4, heatmap.rows[r], "text-anchor=\"end\" font-size=\"12\"");
        for (std::size_t c = 0; c < columns; ++c) {
            const double v = heatmap.values[r * columns + c], x = left + cell * double(c);
            const double t = std::clamp((v - heatmap.lo) / (heatmap.hi - heatmap.lo), 0.0, 1.0);
            char value[32];
            std::snprintf(value, sizeof value, "%.*f", heatmap.decimals, v);
            const bool known = std::isfinite(v);
            svg += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(cell) + "\" height=\"" + num(cell) +
                   "\" fill=\"" + (known ? colour(t) : std::string("#cccccc")) + "\" stroke=\"#fff\" stroke-width=\"0.5\"/>\n";
            svg += detail::text(x + cell / 2, y + cell / 2 + font / 3, known ? value : "?",
                                "text-anchor=\"middle\" font-size=\"" + num(font) + "\" fill=\"" +
                                    (known && std::abs(2 * t - 1) > 0.6 ? "white" : "#222") + "\"");
        }
    }
    svg += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(grid_w) + "\" height=\"" + num(grid_h) +
           "\" fill=\"none\" stroke=\"#333\"/>\n";
    svg += "<text x=\"16\" y=\"" + num(top + grid_h / 2) + "\" transform=\"rotate(-90 16 " + num(top + grid_h / 2) +
           ")\" text-anchor=\"middle\" font-size=\"13\">" + xml_escape(heatmap.y_label) + "</text>\n";

    // Colour bar: eleven steps from hi (top) to lo (bottom), labelled at both ends and halfway.
    const double bar_x = left + grid_w + 24, bar_h = std::min(grid_h, 220.0), step_h = bar_h / 11;
    for (int k = 0; k < 11; ++k)
        svg += "<rect x=\"" + num(bar_x) + "\" y=\"" + num(top + step_h * k) + "\" width=\"16\" height=\"" + num(step_h) +
               "\" fill=\"" + colour(1 - k / 10.0) + "\"/>\n";
    svg += "<rect x=\"" + num(bar_x) + "\" y=\"" + num(top) + "\" width=\"16\" height=\"" + num(bar_h) +
           "\" fill=\"none\" stroke=\"#333\"/>\n";
    const double ends[3] = {heatmap.hi, (heatmap.lo + heatmap.hi) / 2, heatmap.lo};
    for (int k = 0; k < 3; ++k)
        svg += detail::text(bar_x + 22, top + step_h * (0.5 + 5 * k) + 4, detail::label(ends[k]), "font-size=\"11\"");
    svg += "</svg>\n";
    return svg;
}

// write_svg(path, chart or matrix): render_svg, then write_file_atomically.
inline void write_svg(const std::filesystem::path& path, const LineChart& chart) {
    write_file_atomically(path, render_svg(chart));
}
inline void write_svg(const std::filesystem::path& path, const ConfusionMatrix& matrix) {
    write_file_atomically(path, render_svg(matrix));
}
inline void write_svg(const std::filesystem::path& path, const ScatterPlot& plot) {
    write_file_atomically(path, render_svg(plot));
}
inline void write_svg(const std::filesystem::path& path, const Heatmap& heatmap) {
    write_file_atomically(path, render_svg(heatmap));
}

}  // namespace contra::report
