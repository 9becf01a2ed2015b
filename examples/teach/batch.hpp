// examples/teach/batch.hpp — the batch the teaching programs share: N = 4 image/text pairs with
// E = 4 features each, every row L2-normalised. Text i is image i plus noise, so each image is
// closest to its own caption; image 2 is also close to caption 3. Also what the programs share
// to draw their figures (contra/report/svg.hpp) into the folder given by --out.
#pragma once
#include <contra/contra.hpp>
#include <contra/report/svg.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

namespace teach {
using namespace contra;

// x with every row scaled to unit length (contra's l2_normalize primitive).
inline Tensor<double> normalised(const Tensor<double>& x) {
    auto y = Tensor<double>::empty(x.shape());             // [N, E]
    auto norms = Tensor<double>::empty(Shape{x.size(0)});  // [N]
    ops::l2_normalize(cpu{}, x, 1e-12, y, norms);
    return y;
}

// n random unit vectors in e dimensions, and a noisy copy of each (noise: the copy's spread).
struct Batch {
    Tensor<double> images, texts;  // [n, e] each, unit rows; row i of each is a matching pair
};
inline Batch random_batch(std::int64_t n, std::int64_t e, double noise, std::uint64_t seed) {
    Rng rng(seed, stream_id("teach.batch"));
    auto images = Tensor<double>::empty(Shape{n, e}), texts = Tensor<double>::empty(Shape{n, e});
    for (std::int64_t i = 0; i < n * e; ++i) images[i] = rng.normal();
    for (std::int64_t i = 0; i < n * e; ++i) texts[i] = images[i] + noise * rng.normal();
    return {normalised(images), normalised(texts)};
}
inline Batch batch() { return random_batch(4, 4, 0.5, 3); }  // the 4×4 batch of the tutorial

// I·Tᵀ: the cosine of every image with every caption (rows are unit vectors), [N, N].
inline Tensor<double> cosines(const Tensor<double>& images, const Tensor<double>& texts) {
    auto c = Tensor<double>::empty(Shape{images.size(0), texts.size(0)});
    ops::gemm(cpu{}, ops::Trans::N, ops::Trans::T, 1.0, images, texts, 0.0, c);
    return c;
}

// The fraction of images (rows) whose most similar caption is their own: I·Tᵀ's diagonal is the row maximum.
inline double matched(const Tensor<double>& images, const Tensor<double>& texts) {
    const auto c = cosines(images, texts);
    int right = 0;
    for (std::int64_t i = 0; i < c.size(0); ++i) {
        std::int64_t best = 0;
        for (std::int64_t j = 1; j < c.size(1); ++j)
            if (c.at(i, j) > c.at(i, best)) best = j;
        right += best == i;
    }
    return right / double(c.size(0));
}

inline void print(const char* name, const Tensor<double>& m, const char* format = " %8.4f") {
    std::printf("%s\n", name);
    for (std::int64_t i = 0; i < m.size(0); ++i) {
        for (std::int64_t j = 0; j < m.size(1); ++j) std::printf(format, m.at(i, j));
        std::printf("\n");
    }
}
// max |a − b| over all elements
inline double max_diff(const Tensor<double>& a, const Tensor<double>& b) {
    double worst = 0;
    for (std::int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst;
}

// The matrix m [rows, columns] as a heatmap: rows "image i", columns "caption j", cosines in [−1, 1].
inline report::Heatmap similarity_heatmap(const std::string& title, const Tensor<double>& m) {
    report::Heatmap h{title, "caption", "image", {}, {}, {}};
    for (std::int64_t i = 0; i < m.size(0); ++i) h.rows.push_back("image " + std::to_string(i));
    for (std::int64_t j = 0; j < m.size(1); ++j) h.columns.push_back(std::to_string(j));
    for (std::int64_t i = 0; i < m.numel(); ++i) h.values.push_back(m[i]);
    return h;
}

// A line chart with its title, axis labels and curves (y range from the data, linear x axis).
inline report::LineChart line_chart(std::string title, std::string x_label, std::string y_label,
                                    std::vector<report::Series> series) {
    report::LineChart chart;
    chart.title = std::move(title), chart.x_label = std::move(x_label), chart.y_label = std::move(y_label);
    chart.series = std::move(series);
    return chart;
}

// Writes a figure as folder/name and says so.
template <class Figure>
void save(const std::filesystem::path& folder, const std::string& name, const Figure& figure) {
    report::write_svg(folder / name, figure);
    std::printf("figure: %s\n", (folder / name).string().c_str());
}
}  // namespace teach
