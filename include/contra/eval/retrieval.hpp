// contra/eval/retrieval.hpp — image↔text retrieval: recall@1/5/10, mean and median rank, as
// open_clip's validation metrics, extended to several captions per image (COCO, Flickr30k).
//
//   similarity s(i, j) = normalise(image_i) · normalise(text_j)
//   image → text: the rank of image i is the best rank any of its captions reaches among all M
//                 texts (a hit at K when one of its captions is in the top K).
//   text → image: the rank of text j is the rank of its image among all N images.
// Ranks start at 1. Equal similarities are ordered by index, lower first (a stable sort by
// descending similarity), so every number here is a deterministic function of the embeddings.
// defines: eval::RetrievalResult, eval::retrieval_metrics, eval::recall_at_k
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "../backend/ops.hpp"
#include "../core/parallel.hpp"
#include "../core/tensor.hpp"
#include "metrics.hpp"

namespace contra::eval {

struct RetrievalResult {
    // Fractions of queries (in [0, 1]) whose match ranks within the top 1, 5 or 10.
    double image_to_text_r1 = 0, image_to_text_r5 = 0, image_to_text_r10 = 0;
    double text_to_image_r1 = 0, text_to_image_r5 = 0, text_to_image_r10 = 0;
    // Mean rank, and open_clip's median rank (the floor of the median).
    double image_to_text_mean_rank = 0, image_to_text_median_rank = 0;
    double text_to_image_mean_rank = 0, text_to_image_median_rank = 0;
    // The rank of every query: [N] for images, [M] for texts.
    std::vector<std::int64_t> image_to_text_ranks, text_to_image_ranks;
};

// recall_at_k(ranks, k): the fraction of ranks ≤ k. requires: at least one rank.
inline double recall_at_k(std::span<const std::int64_t> ranks, std::int64_t k) {
    CONTRA_CHECK(!ranks.empty(), "recall_at_k: no ranks");
    return double(std::count_if(ranks.begin(), ranks.end(), [k](std::int64_t r) { return r <= k; })) / double(ranks.size());
}

namespace detail {

// Normalised copy of rows [R, E] on B's device; throws if an element is NaN or infinite.
template <class B, class T>
TensorOn<T, B> normalised_rows(const char* what, const TensorOn<T, B>& x) {
    CONTRA_CHECK(ops::reduce_all(B{}, ops::ReduceOp::count_nonfinite, x) == 0, "retrieval_metrics: the ", what,
                 " embeddings ", x.shape(), " contain NaN or infinite values");
    auto y = TensorOn<T, B>::empty(x.shape());        // [R, E]
    auto norms = TensorOn<T, B>::empty(Shape{x.rows()});  // [R]
    ops::l2_normalize(B{}, x, 1e-12, y, norms);
    return y;
}

// For queries [Q, E] against candidates [K, E]: rank[q] = 1 + the number of candidates ranked
// ahead of target(q, row), where row [K] holds q's similarities and target picks the candidate
// that counts for q. Similarities are computed on B a block of queries at a time ([b, K], bounded
// memory) and ranked on the host; a query's whole row comes from one product, so ties compare
// like with like.
template <class B, class T, class Target, class Counts>
std::vector<std::int64_t> rank_queries(const TensorOn<T, B>& queries, const TensorOn<T, B>& candidates,
                                       std::int64_t block_rows, Target&& target, Counts&& counts_against) {
    const std::int64_t q = queries.size(0), k = candidates.size(0);
    const std::int64_t automatic = (std::int64_t(1) << 24) / std::max<std::int64_t>(1, k);  // ≤ 16M similarities
    const std::int64_t block = std::clamp<std::int64_t>(block_rows > 0 ? block_rows : automatic, 1, q);
    std::vector<std::int64_t> rank(static_cast<std::size_t>(q));
    for (std::int64_t b0 = 0; b0 < q; b0 += block) {
        const std::int64_t b1 = std::min(q, b0 + block);
        auto block_sim = TensorOn<T, B>::empty(Shape{b1 - b0, k});  // [b, K]
        ops::gemm(B{}, ops::Trans::N, ops::Trans::T, acc_t<T>(1), queries.rows(b0, b1), candidates, acc_t<T>(0), block_sim);
        const auto sim = to_device<cpu>(block_sim);                        // [b, K] on the host
        parallel_for(b1 - b0, 2 * k, [&](std::int64_t r0, std::int64_t r1) {
            for (std::int64_t r = r0; r < r1; ++r) {
                const T* row = sim.data() + r * k;  // [K]
                const std::int64_t best = target(b0 + r, row);
                std::int64_t ahead = 0;
                for (std::int64_t j = 0; j < k; ++j)
                    ahead += counts_against(b0 + r, j) && ranks_ahead(row[j], j, row[best], best);
                rank[std::size_t(b0 + r)] = 1 + ahead;
            }
        });
    }
    return rank;
}

inline double mean_of(const std::vector<std::int64_t>& v) {
    double s = 0;
    for (auto x : v) s += double(x);
    return s / double(v.size());
}
// floor(median): the mean of the two middle values when the count is even, then rounded down.
inline double floor_median_of(std::vector<std::int64_t> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    const double m = n % 2 ? double(v[n / 2]) : 0.5 * (double(v[n / 2 - 1]) + double(v[n / 2]));
    return std::floor(m);
}

}  // namespace detail

// retrieval_metrics<B>(images [N,E], texts [M,E], text_to_image (M), block_rows): both directions of
// retrieval, the similarities computed on backend B (default cpu) from embeddings on its device.
// text_to_image[j] is the index of the image text j describes; an image may have several texts.
// Similarities are computed block_rows queries at a time (0: as many as keep a block at
// 16M similarities); the result does not depend on it.
//   requires: N, M ≥ 1; equal E; every text_to_image[j] in [0, N); every image has ≥ 1 text;
//             finite embeddings.
//   ensures:  ranks in [1, M] (image → text) and [1, N] (text → image); recalls in [0, 1].
template <class B = cpu, class T>
RetrievalResult retrieval_metrics(const TensorOn<T, B>& image_embeddings, const TensorOn<T, B>& text_embeddings,
                                  std::span<const Label> text_to_image, std::int64_t block_rows = 0) {
    static_assert(std::same_as<T, float> || std::same_as<T, double>, "retrieval_metrics: float or double embeddings");
    CONTRA_CHECK(image_embeddings.rank() == 2 && text_embeddings.rank() == 2 && image_embeddings.size(0) >= 1 &&
                     text_embeddings.size(0) >= 1 && image_embeddings.size(1) == text_embeddings.size(1),
                 "retrieval_metrics: image embeddings ", image_embeddings.shape(), " and text embeddings ",
                 text_embeddings.shape(), " must be [N, E] and [M, E] with N, M ≥ 1 and the same E");
    const std::int64_t n = image_embeddings.size(0), m = text_embeddings.size(0);
    CONTRA_CHECK(std::int64_t(text_to_image.size()) == m, "retrieval_metrics: ", text_to_image.size(),
                 " image indices for text embeddings ", text_embeddings.shape(), " (one per text)");
    detail::check_labels("retrieval_metrics: text_to_image", text_to_image, n);

    // captions[i]: the texts of image i, in increasing order.
    std::vector<std::vector<std::int64_t>> captions(static_cast<std::size_t>(n));
    for (std::int64_t j = 0; j < m; ++j) captions[std::size_t(text_to_image[std::size_t(j)])].push_back(j);
    for (std::int64_t i = 0; i < n; ++i)
        CONTRA_CHECK(!captions[std::size_t(i)].empty(), "retrieval_metrics: image ", i, " of ", n,
                     " has no text; every image needs at least one");

    const auto images = detail::normalised_rows<B>("image", image_embeddings);  // [N, E]
    const auto texts = detail::normalised_rows<B>("text", text_embeddings);     // [M, E]

    RetrievalResult r;
    // image → text: the image's best-ranked caption; only other images' texts can be ahead of it.
    r.image_to_text_ranks = detail::rank_queries<B>(
        images, texts, block_rows,
        [&](std::int64_t i, const T* row) {
            std::int64_t best = -1;
            for (std::int64_t j : captions[std::size_t(i)])
                if (best < 0 || detail::ranks_ahead(row[j], j, row[best], best)) best = j;
            return best;
        },
        [&](std::int64_t i, std::int64_t j) { return text_to_image[std::size_t(j)] != i; });
    // text → image: the text's own image among all images.
    r.text_to_image_ranks = detail::rank_queries<B>(
        texts, images, block_rows, [&](std::int64_t j, const T*) { return std::int64_t(text_to_image[std::size_t(j)]); },
        [](std::int64_t, std::int64_t) { return true; });

    r.image_to_text_r1 = recall_at_k(r.image_to_text_ranks, 1);
    r.image_to_text_r5 = recall_at_k(r.image_to_text_ranks, 5);
    r.image_to_text_r10 = recall_at_k(r.image_to_text_ranks, 10);
    r.text_to_image_r1 = recall_at_k(r.text_to_image_ranks, 1);
    r.text_to_image_r5 = recall_at_k(r.text_to_image_ranks, 5);
    r.text_to_image_r10 = recall_at_k(r.text_to_image_ranks, 10);
    r.image_to_text_mean_rank = detail::mean_of(r.image_to_text_ranks);
    r.image_to_text_median_rank = detail::floor_median_of(r.image_to_text_ranks);
    r.text_to_image_mean_rank = detail::mean_of(r.text_to_image_ranks);
    r.text_to_image_median_rank = detail::floor_median_of(r.text_to_image_ranks);
    return r;
}

}  // namespace contra::eval
