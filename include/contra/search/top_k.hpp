// contra/search/top_k.hpp — exact nearest neighbours by inner product: stored vectors (fp32, or
// int8 with one float scale per vector) against query vectors, in blocks of rows, threaded over
// the cores, each thread keeping the best k per query (a partial sort), merged at the end.
// defines: search::Encoding, search::encoding_name, search::quantize_int8, search::Vectors,
//          search::Hit, search::better, search::top_k
//
// For unit vectors the inner product is the cosine similarity. Results are exact: the same hits
// as scoring every row and sorting them all by `better` (score, then row), for any thread count.
#pragma once
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../core/parallel.hpp"

namespace contra::search {

enum class Encoding { f32, int8 };

inline const char* encoding_name(Encoding e) { return e == Encoding::f32 ? "f32" : "int8"; }

// quantize_int8(x, dim, codes): codes[j] = round(x[j] / scale) with scale = max_j |x[j]| / 127,
// returned; a zero vector has scale 0 and codes 0.
//   requires: x finite.  ensures: |x[j] − scale·codes[j]| ≤ scale / 2 and |codes[j]| ≤ 127.
inline float quantize_int8(const float* x, std::int64_t dim, std::int8_t* codes) {
    float largest = 0;
    for (std::int64_t j = 0; j < dim; ++j) largest = std::max(largest, std::abs(x[j]));
    const float scale = largest / 127.0f;
    for (std::int64_t j = 0; j < dim; ++j)
        codes[j] = scale > 0 ? std::int8_t(std::clamp(std::lround(x[j] / scale), -127L, 127L)) : std::int8_t(0);
    return scale;
}

// Vectors: rows of `dim` values, stored as fp32, or as int8 codes with one scale a row
// (quantize_int8: 4× smaller; the value of element j of row r is scale[r]·code[r·dim + j]).
class Vectors {
public:
    Vectors() = default;
    // requires: dim ≥ 1.
    Vectors(Encoding encoding, std::int64_t dim) : encoding_(encoding), dim_(dim) {
        CONTRA_CHECK(dim >= 1, "search::Vectors: the dimension must be ≥ 1, got ", dim);
    }

    Encoding encoding() const { return encoding_; }
    std::int64_t dim() const { return dim_; }
    std::int64_t size() const { return dim_ == 0 ? 0 : std::int64_t(encoding_ == Encoding::f32 ? values_.size() : codes_.size()) / dim_; }
    bool empty() const { return size() == 0; }
    // The bytes one row takes (fp32: 4·dim; int8: dim + 4).
    std::int64_t row_bytes() const { return encoding_ == Encoding::f32 ? 4 * dim_ : dim_ + 4; }

    // push_back(x): a row of dim values (int8: quantised here).
    void push_back(const float* x) {
        if (encoding_ == Encoding::f32) {
            values_.insert(values_.end(), x, x + dim_);
            return;
        }
        codes_.resize(codes_.size() + std::size_t(dim_));
        scales_.push_back(quantize_int8(x, dim_, codes_.data() + codes_.size() - std::size_t(dim_)));
    }
    // push_back_row(other, r): other's row r as stored (no second quantisation).
    //   requires: the same encoding and dimension; 0 ≤ r < other.size().
    void push_back_row(const Vectors& other, std::int64_t r) {
        CONTRA_CHECK(other.encoding_ == encoding_ && other.dim_ == dim_ && r >= 0 && r < other.size(),
                     "search::Vectors::push_back_row: row ", r, " of ", other.size(), " ", encoding_name(other.encoding_),
                     " rows of ", other.dim_, " values into ", encoding_name(encoding_), " rows of ", dim_);
        const std::size_t at = std::size_t(r * dim_), n = std::size_t(dim_);
        if (encoding_ == Encoding::f32) {
            values_.insert(values_.end(), other.values_.begin() + long(at), other.values_.begin() + long(at + n));
        } else {
            codes_.insert(codes_.end(), other.codes_.begin() + long(at), other.codes_.begin() + long(at + n));
            scales_.push_back(other.scales_[std::size_t(r)]);
        }
    }
    // row(r, out): row r as dim floats (int8: scale·codes).
    void row(std::int64_t r, float* out) const {
        CONTRA_CHECK(r >= 0 && r < size(), "search::Vectors::row: row ", r, " of ", size());
        const std::size_t at = std::size_t(r * dim_);
        for (std::int64_t j = 0; j < dim_; ++j)
            out[j] = encoding_ == Encoding::f32 ? values_[at + std::size_t(j)] : scales_[std::size_t(r)] * float(codes_[at + std::size_t(j)]);
    }

    // The storage, for reading and writing files: fp32 values [size, dim], or int8 codes
    // [size, dim] and scales [size]. Whoever fills them keeps codes and scales the same length.
    std::vector<float>& values() { return values_; }
    std::vector<std::int8_t>& codes() { return codes_; }
    std::vector<float>& scales() { return scales_; }
    const std::vector<float>& values() const { return values_; }
    const std::vector<std::int8_t>& codes() const { return codes_; }
    const std::vector<float>& scales() const { return scales_; }

    // scores(begin, end, queries, count, buffer, out): out [end − begin, count] (row-major) =
    // rows begin..end−1 · queries [count, dim]ᵀ; buffer: scratch, reused between calls.
    void scores(std::int64_t begin, std::int64_t end, const float* queries, std::int64_t count, std::vector<float>& buffer,
                float* out) const {
        using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        const std::int64_t n = end - begin;
        const Eigen::Map<const RowMajor> q(queries, count, dim_);
        Eigen::Map<RowMajor> result(out, n, count);
        if (encoding_ == Encoding::f32) {
            result.noalias() = Eigen::Map<const RowMajor>(values_.data() + begin * dim_, n, dim_) * q.transpose();
            return;
        }
        const std::int8_t* codes = codes_.data() + begin * dim_;
        buffer.resize(std::size_t(n * dim_));
        for (std::int64_t i = 0; i < n * dim_; ++i) buffer[std::size_t(i)] = float(codes[i]);
        result.noalias() = Eigen::Map<const RowMajor>(buffer.data(), n, dim_) * q.transpose();
        for (std::int64_t i = 0; i < n; ++i) result.row(i) *= scales_[std::size_t(begin + i)];
    }

private:
    Encoding encoding_ = Encoding::f32;
    std::int64_t dim_ = 0;
    std::vector<float> values_;
    std::vector<std::int8_t> codes_;
    std::vector<float> scales_;
};

// Hit: a row and its score against one query.
struct Hit {
    std::int64_t row = 0;
    float score = 0;
    bool operator==(const Hit&) const = default;
};

// better(a, b): a ranks before b: a higher score, or the same score and a lower row.
inline bool better(const Hit& a, const Hit& b) { return a.score > b.score || (a.score == b.score && a.row < b.row); }

namespace detail {
// Rows scored together: an int8 block widened to floats (256 KB a thread at 512 values) stays in L2.
inline constexpr std::int64_t kBlockRows = 128;

// BestK: the k best hits seen, as a heap with the worst on top.
struct BestK {
    std::size_t k = 0;
    std::vector<Hit> heap;
    void offer(const Hit& h) {
        if (heap.size() < k) {
            heap.push_back(h);
            std::push_heap(heap.begin(), heap.end(), better);
        } else if (better(h, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), better);
            heap.back() = h;
            std::push_heap(heap.begin(), heap.end(), better);
        }
    }
};
}  // namespace detail

// top_k(vectors, queries, count, k): for each of the `count` queries (row-major [count, dim]),
// the min(k, vectors.size()) rows of highest inner product, best first (`better` order).
//   requires: k ≥ 1; queries finite, count ≥ 0.  ensures: exact (see the file header); an empty
//   index gives empty lists.
inline std::vector<std::vector<Hit>> top_k(const Vectors& vectors, const float* queries, std::int64_t count, std::int64_t k) {
    CONTRA_CHECK(k >= 1, "search::top_k: k must be ≥ 1, got ", k);
    CONTRA_CHECK(count >= 0, "search::top_k: a negative number of queries (", count, ")");
    for (std::int64_t i = 0; i < count * vectors.dim(); ++i)
        CONTRA_CHECK(std::isfinite(queries[i]), "search::top_k: query ", i / vectors.dim(), " holds a non-finite value");
    const std::int64_t n = vectors.size();
    std::vector<std::vector<Hit>> out(static_cast<std::size_t>(count));
    if (n == 0 || count == 0) return out;
    const std::size_t keep = std::size_t(std::min(k, n));
    for (auto& hits : out) hits.reserve(keep);
    std::mutex merging;
    const std::int64_t blocks = (n + detail::kBlockRows - 1) / detail::kBlockRows;
    parallel_for(blocks, detail::kBlockRows * vectors.dim() * count, [&](std::int64_t b0, std::int64_t b1) {
        std::vector<detail::BestK> best(std::size_t(count), detail::BestK{keep, {}});
        std::vector<float> buffer, scores(std::size_t(detail::kBlockRows * count));
        for (std::int64_t b = b0; b < b1; ++b) {
            const std::int64_t begin = b * detail::kBlockRows, end = std::min(n, begin + detail::kBlockRows);
            vectors.scores(begin, end, queries, count, buffer, scores.data());  // [end − begin, count]
            for (std::int64_t i = begin; i < end; ++i)
                for (std::int64_t q = 0; q < count; ++q)
                    best[std::size_t(q)].offer({i, scores[std::size_t((i - begin) * count + q)]});
        }
        std::lock_guard lock(merging);
        for (std::int64_t q = 0; q < count; ++q) {
            auto& hits = out[std::size_t(q)];
            hits.insert(hits.end(), best[std::size_t(q)].heap.begin(), best[std::size_t(q)].heap.end());
        }
    });
    for (auto& hits : out) {
        const std::size_t m = std::min(keep, hits.size());
        std::partial_sort(hits.begin(), hits.begin() + long(m), hits.end(), better);
        hits.resize(m);
    }
    return out;
}

}  // namespace contra::search
