// contra/eval/metrics.hpp — classification metrics on host tensors: arg-max per row, top-k
// accuracy, and a confusion matrix with per-class recall.
//
// Ties: equal scores are ordered by index, lower first (a stable sort by descending score), so
// every metric here is a deterministic function of the scores. NaN never ranks above a number.
// defines: eval::Label, eval::argmax_rows, eval::topk_accuracy, eval::ConfusionMatrix
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "../backend/ops.hpp"
#include "../core/tensor.hpp"

namespace contra::eval {

using Label = ops::Index;  // a class index in [0, C)

namespace detail {

// Every label in [0, classes), else an Error naming the first bad one.
inline void check_labels(const char* where, std::span<const Label> labels, std::int64_t classes) {
    for (std::size_t i = 0; i < labels.size(); ++i)
        CONTRA_CHECK(labels[i] >= 0 && labels[i] < classes, where, ": label ", labels[i], " at position ", i,
                     " is outside [0, ", classes, ")");
}

// a ranks ahead of b (index ia < ib when the scores are equal); NaN ranks behind every number.
template <class S>
bool ranks_ahead(S a, std::int64_t ia, S b, std::int64_t ib) {
    if (std::isnan(double(a))) return false;
    if (std::isnan(double(b))) return true;
    return a > b || (a == b && ia < ib);
}

}  // namespace detail

// argmax_rows(scores [N,C]): for each row the column of its largest score (the lowest such column
// on ties; a row of NaN gives 0).
//   requires: rank 2, C ≥ 1.
template <class T>
std::vector<Label> argmax_rows(const Tensor<T, cpu>& scores) {
    CONTRA_CHECK(scores.rank() == 2 && scores.size(1) >= 1, "argmax_rows: scores ", scores.shape(),
                 " must be [N, C] with C ≥ 1");
    const std::int64_t n = scores.size(0), c = scores.size(1);
    std::vector<Label> best(std::size_t(n), 0);
    for (std::int64_t i = 0; i < n; ++i) {
        const T* row = scores.data() + i * c;  // [C]
        std::int64_t b = 0;
        for (std::int64_t j = 1; j < c; ++j)
            if (detail::ranks_ahead(row[j], j, row[b], b)) b = j;
        best[std::size_t(i)] = Label(b);
    }
    return best;
}

// topk_accuracy(scores [N,C], labels (N), k): the fraction of rows whose label is among the k
// best-ranked columns (ties ordered by index, as above). top-1 accuracy is k = 1.
//   requires: 1 ≤ k ≤ C; N labels, each in [0, C); N ≥ 1.
//   ensures:  a value in [0, 1], non-decreasing in k, equal to 1 for k = C.
template <class T>
double topk_accuracy(const Tensor<T, cpu>& scores, std::span<const Label> labels, std::int64_t k) {
    CONTRA_CHECK(scores.rank() == 2 && scores.size(0) >= 1 && scores.size(1) >= 1, "topk_accuracy: scores ",
                 scores.shape(), " must be [N, C] with N, C ≥ 1");
    const std::int64_t n = scores.size(0), c = scores.size(1);
    CONTRA_CHECK(std::int64_t(labels.size()) == n, "topk_accuracy: ", labels.size(), " labels for scores ",
                 scores.shape(), " (one per row)");
    CONTRA_CHECK(k >= 1 && k <= c, "topk_accuracy: k = ", k, " must be in [1, ", c, "] for scores ", scores.shape());
    detail::check_labels("topk_accuracy", labels, c);
    std::int64_t hits = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const T* row = scores.data() + i * c;  // [C]
        const std::int64_t y = labels[std::size_t(i)];
        std::int64_t ahead = 0;  // columns ranked before the label's column
        for (std::int64_t j = 0; j < c && ahead < k; ++j) ahead += detail::ranks_ahead(row[j], j, row[y], y);
        hits += ahead < k;
    }
    return double(hits) / double(n);
}

// ConfusionMatrix: counts[actual][predicted] over C classes (rows are the true labels, as
// sklearn's confusion_matrix).
class ConfusionMatrix {
public:
    // requires: classes ≥ 1.
    explicit ConfusionMatrix(std::int64_t classes) : classes_(classes) {
        CONTRA_CHECK(classes >= 1, "ConfusionMatrix: needs at least one class, got ", classes);
        counts_.assign(std::size_t(classes * classes), 0);
    }

    std::int64_t classes() const { return classes_; }

    // add(predicted, actual): one more sample. requires: both in [0, C).
    void add(Label predicted, Label actual) {
        CONTRA_CHECK(predicted >= 0 && predicted < classes_ && actual >= 0 && actual < classes_,
                     "ConfusionMatrix::add: predicted ", predicted, " / actual ", actual, " outside [0, ", classes_, ")");
        ++counts_[std::size_t(actual * classes_ + predicted)];
    }
    // add(predicted, actual) for equally long lists of samples.
    void add(std::span<const Label> predicted, std::span<const Label> actual) {
        CONTRA_CHECK(predicted.size() == actual.size(), "ConfusionMatrix::add: ", predicted.size(), " predictions for ",
                     actual.size(), " labels");
        for (std::size_t i = 0; i < predicted.size(); ++i) add(predicted[i], actual[i]);
    }

    // count(actual, predicted): samples of class `actual` predicted as `predicted`.
    std::int64_t count(Label actual, Label predicted) const {
        CONTRA_CHECK(predicted >= 0 && predicted < classes_ && actual >= 0 && actual < classes_,
                     "ConfusionMatrix::count: actual ", actual, " / predicted ", predicted, " outside [0, ", classes_, ")");
        return counts_[std::size_t(actual * classes_ + predicted)];
    }
    std::int64_t total() const {
        std::int64_t t = 0;
        for (auto v : counts_) t += v;
        return t;
    }
    // support(c): samples whose true class is c (row sum).
    std::int64_t support(Label c) const {
        std::int64_t t = 0;
        for (std::int64_t p = 0; p < classes_; ++p) t += count(c, Label(p));
        return t;
    }

    // accuracy(): correct / total (the trace over the sum); NaN when empty.
    double accuracy() const {
        std::int64_t correct = 0;
        for (std::int64_t c = 0; c < classes_; ++c) correct += counts_[std::size_t(c * classes_ + c)];
        const std::int64_t t = total();
        return t ? double(correct) / double(t) : std::numeric_limits<double>::quiet_NaN();
    }
    // recall(): per class c, correct predictions of c / samples of class c; NaN for a class with
    // no samples.
    std::vector<double> recall() const {
        std::vector<double> r(static_cast<std::size_t>(classes_));
        for (std::int64_t c = 0; c < classes_; ++c) {
            const std::int64_t s = support(Label(c));
            r[std::size_t(c)] = s ? double(count(Label(c), Label(c))) / double(s) : std::numeric_limits<double>::quiet_NaN();
        }
        return r;
    }
    // mean_per_class_recall(): the mean of recall() over classes that have samples (the "mean
    // per class" accuracy CLIP reports for some datasets); NaN when empty.
    double mean_per_class_recall() const {
        double sum = 0;
        std::int64_t present = 0;
        for (double r : recall())
            if (!std::isnan(r)) sum += r, ++present;
        return present ? sum / double(present) : std::numeric_limits<double>::quiet_NaN();
    }

private:
    std::int64_t classes_;
    std::vector<std::int64_t> counts_;  // [C, C], row = actual, column = predicted
};

}  // namespace contra::eval
