// contra/eval/zero_shot.hpp — zero-shot classification with prompt ensembling (Radford et al.,
// 2021, §3.1.4; the reference's zero-shot notebook and open_clip's zero_shot.py):
//   class c's prompts "a photo of a {c}.", … ─encode_text─▶ [K, E] ─normalise, mean, normalise─▶ w_c
//   image ─encode_image─▶ [E] ─normalise─▶ x;   logits = 100 · x · [w_1 … w_C]ᵀ
// Everything but the encoding works on embeddings the caller already has (float or double; the
// logits on any backend, the prompt averaging on the host); the encoding helpers take any model
// with encode_image / encode_text.
// defines: eval::class_embeddings, eval::zero_shot_logits, eval::encode_texts, eval::encode_images,
//          eval::class_probabilities, eval::tokenize_prompts, eval::zero_shot_classifier, eval::TextEncoder,
//          eval::ImageEncoder
#pragma once
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../autograd/tape.hpp"
#include "../backend/ops.hpp"
#include "../core/tensor.hpp"
#include "../data/captions.hpp"

namespace contra::eval {

namespace detail {

template <class T>
constexpr void require_host_float() {
    static_assert(std::same_as<T, float> || std::same_as<T, double>,
                  "contra::eval works on float or double embeddings; convert with cast<float>() first");
}

// The element type embeddings are returned in: double stays double, everything else becomes float.
template <class T> using host_float_t = std::conditional_t<std::same_as<T, double>, double, float>;

// A host copy of t in host_float_t<T>.
template <class T, class D>
Tensor<host_float_t<T>, cpu> to_host_float(const Tensor<T, D>& t) {
    if constexpr (std::same_as<T, host_float_t<T>>) return to_device<cpu>(t);
    else return cast<host_float_t<T>>(to_device<cpu>(t));
}

// out = v / max(‖v‖, 1e-12) for a vector of `n` doubles (torch's F.normalize).
inline void normalize_in_place(double* v, std::int64_t n) {
    double sq = 0;
    for (std::int64_t i = 0; i < n; ++i) sq += v[i] * v[i];
    const double inv = 1.0 / std::max(std::sqrt(sq), 1e-12);
    for (std::int64_t i = 0; i < n; ++i) v[i] *= inv;
}

}  // namespace detail

// class_embeddings(prompts [C, K, E]): the zero-shot classifier from K prompt embeddings per class.
//   ensures: row c = normalise(mean_k normalise(prompts[c, k])), so each row has unit norm
//            (or is zero, if its prompts average to zero); computed in double, returned as T.
template <class T>
Tensor<T, cpu> class_embeddings(const Tensor<T, cpu>& prompts) {
    detail::require_host_float<T>();
    CONTRA_CHECK(prompts.rank() == 3 && prompts.size(1) >= 1 && prompts.size(2) >= 1, "class_embeddings: prompt embeddings ",
                 prompts.shape(), " must be [C, K, E] with K, E ≥ 1");
    const std::int64_t classes = prompts.size(0), k = prompts.size(1), e = prompts.size(2);
    auto out = Tensor<T, cpu>::empty(Shape{classes, e});  // [C, E]
    std::vector<double> mean(static_cast<std::size_t>(e)), one(static_cast<std::size_t>(e));
    for (std::int64_t c = 0; c < classes; ++c) {
        std::fill(mean.begin(), mean.end(), 0.0);
        for (std::int64_t t = 0; t < k; ++t) {
            const T* row = prompts.data() + (c * k + t) * e;  // [E]
            for (std::int64_t i = 0; i < e; ++i) one[std::size_t(i)] = double(row[i]);
            detail::normalize_in_place(one.data(), e);
            for (std::int64_t i = 0; i < e; ++i) mean[std::size_t(i)] += one[std::size_t(i)] / double(k);
        }
        detail::normalize_in_place(mean.data(), e);
        for (std::int64_t i = 0; i < e; ++i) out.at(c, i) = T(mean[std::size_t(i)]);
    }
    return out;
}

// class_embeddings(per_class): the same from one [K_c, E] tensor per class (K_c may differ).
//   requires: at least one class; every tensor [K_c, E] with K_c ≥ 1 and the same E.
template <class T>
Tensor<T, cpu> class_embeddings(const std::vector<Tensor<T, cpu>>& per_class) {
    detail::require_host_float<T>();
    CONTRA_CHECK(!per_class.empty(), "class_embeddings: no classes");
    const std::int64_t e = per_class[0].rank() == 2 ? per_class[0].size(1) : 0;
    auto out = Tensor<T, cpu>::empty(Shape{std::int64_t(per_class.size()), e});  // [C, E]
    for (std::size_t c = 0; c < per_class.size(); ++c) {
        const auto& prompts = per_class[c];  // [K_c, E]
        CONTRA_CHECK(prompts.rank() == 2 && prompts.size(0) >= 1 && prompts.size(1) == e && e >= 1,
                     "class_embeddings: class ", c, " has prompt embeddings ", prompts.shape(), "; expected [K, ", e,
                     "] with K ≥ 1 (the shape of class 0 is ", per_class[0].shape(), ")");
        const auto row = class_embeddings(prompts.reshape(Shape{1, prompts.size(0), e}));  // [1, E]
        std::copy(row.data(), row.data() + e, out.data() + std::int64_t(c) * e);
    }
    return out;
}

// zero_shot_logits<B>(images [N,E], classifier [C,E], scale): scale · normalise(images) · classifierᵀ,
// on backend B (default cpu) and its device. The classifier rows are used as given
// (class_embeddings already normalised them).
//   ensures: [N, C]; with a normalised classifier every entry lies in [−scale, scale].
template <class B = cpu, class T>
TensorOn<T, B> zero_shot_logits(const TensorOn<T, B>& image_embeddings,
                                         const TensorOn<T, B>& classifier, double scale = 100.0) {
    detail::require_host_float<T>();
    CONTRA_CHECK(image_embeddings.rank() == 2 && classifier.rank() == 2 &&
                     image_embeddings.size(1) == classifier.size(1),
                 "zero_shot_logits: image embeddings ", image_embeddings.shape(), " and classifier ", classifier.shape(),
                 " must be [N, E] and [C, E] with the same E");
    const std::int64_t n = image_embeddings.size(0), c = classifier.size(0);
    auto normalised = TensorOn<T, B>::empty(image_embeddings.shape());  // [N, E]
    auto norms = TensorOn<T, B>::empty(Shape{n});                      // [N]
    ops::l2_normalize(B{}, image_embeddings, 1e-12, normalised, norms);
    auto logits = TensorOn<T, B>::empty(Shape{n, c});  // [N, C]
    ops::gemm(B{}, ops::Trans::N, ops::Trans::T, acc_t<T>(scale), normalised, classifier, acc_t<T>(0), logits);
    return logits;
}

// class_probabilities(logits [N, C] on the host): each row's softmax, in double (the zero-shot
// probabilities a program prints).
//   ensures: N rows of C values in [0, 1] summing to 1 (up to rounding).
template <class T>
std::vector<std::vector<double>> class_probabilities(const Tensor<T, cpu>& logits) {
    CONTRA_CHECK(logits.rank() == 2 && logits.size(1) > 0, "class_probabilities: logits ", logits.shape(), " must be [N, C], C > 0");
    const std::int64_t classes = logits.size(1);
    std::vector<std::vector<double>> out;
    for (std::int64_t i = 0; i < logits.size(0); ++i) {
        const T* row = logits.data() + i * classes;
        const double peak = double(*std::max_element(row, row + classes));
        std::vector<double> p(std::size_t(classes), 0.0);
        double total = 0;
        for (std::int64_t c = 0; c < classes; ++c) total += p[std::size_t(c)] = std::exp(double(row[c]) - peak);
        for (auto& q : p) q /= total;
        out.push_back(std::move(p));
    }
    return out;
}

// ─── encoding with a model ────────────────────────────────────────────────────────────────────

// A model that maps token ids [N, L] (host) to text embeddings [N, E] (a Var; .value() the tensor).
template <class M>
concept TextEncoder = requires(const M& m, const Tensor<ops::Index, cpu>& tokens) {
    typename M::value_type;
    { m.encode_text(tokens).value() };
};
// A model that maps images [N, ...] on its backend's device to image embeddings [N, E].
template <class M>
concept ImageEncoder = requires(const M& m, const TensorOn<typename M::value_type, typename M::backend>& images) {
    { m.encode_image(images).value() };
};

// encode_texts(model, tokens [N, L], batch): text embeddings [N, E] on the host, computed under
// NoGrad in batches of `batch` rows (float, or double for a double model). Not normalised.
//   requires: N ≥ 1, batch ≥ 1. Call it outside an active Tape: activations come from an
//             active tape's arena even though nothing is recorded.
template <TextEncoder Model>
auto encode_texts(const Model& model, const Tensor<ops::Index, cpu>& tokens, std::int64_t batch = 256) {
    using U = detail::host_float_t<typename Model::value_type>;
    CONTRA_CHECK(tokens.rank() == 2 && tokens.size(0) >= 1 && batch >= 1, "encode_texts: tokens ", tokens.shape(),
                 " must be [N, L] with N ≥ 1, and batch (", batch, ") ≥ 1");
    const std::int64_t n = tokens.size(0);
    NoGrad no_grad;
    Tensor<U, cpu> out;  // [N, E], allocated once E is known
    for (std::int64_t b0 = 0; b0 < n; b0 += batch) {
        const std::int64_t b1 = std::min(n, b0 + batch);
        const auto part = detail::to_host_float(model.encode_text(tokens.rows(b0, b1)).value());  // [b, E]
        CONTRA_CHECK(part.rank() == 2 && part.size(0) == b1 - b0, "encode_texts: the model returned ", part.shape(),
                     " for ", b1 - b0, " texts");
        if (!out.defined()) out = Tensor<U, cpu>::empty(Shape{n, part.size(1)});
        auto slot = out.rows(b0, b1);
        copy(part, slot);
    }
    return out;
}

// encode_images(model, images [N, ...], batch): image embeddings [N, E] on the host, as
// encode_texts. The images stay on the model's device; batches are views of them.
template <ImageEncoder Model>
auto encode_images(const Model& model, const TensorOn<typename Model::value_type, typename Model::backend>& images,
                   std::int64_t batch = 256) {
    using U = detail::host_float_t<typename Model::value_type>;
    CONTRA_CHECK(images.rank() >= 1 && images.size(0) >= 1 && batch >= 1, "encode_images: images ", images.shape(),
                 " must hold N ≥ 1 images, and batch (", batch, ") ≥ 1");
    const std::int64_t n = images.size(0);
    NoGrad no_grad;
    Tensor<U, cpu> out;  // [N, E]
    for (std::int64_t b0 = 0; b0 < n; b0 += batch) {
        const std::int64_t b1 = std::min(n, b0 + batch);
        const auto part = detail::to_host_float(model.encode_image(images.rows(b0, b1)).value());  // [b, E]
        CONTRA_CHECK(part.rank() == 2 && part.size(0) == b1 - b0, "encode_images: the model returned ", part.shape(),
                     " for ", b1 - b0, " images");
        if (!out.defined()) out = Tensor<U, cpu>::empty(Shape{n, part.size(1)});
        auto slot = out.rows(b0, b1);
        copy(part, slot);
    }
    return out;
}

// tokenize_prompts(tokenize, prompts): one row of ids per prompt, [P, L], where L is the longest
// row tokenize returned and shorter rows are padded with 0 (CLIP's pad id) at the end. A
// tokenizer that already pads to a fixed context length (data::Tokenizer::tokenize) gives L = it.
//   requires: at least one prompt; tokenize(prompt) returns at least one id.
template <class Tokenize>
    requires std::is_invocable_r_v<std::vector<std::int32_t>, Tokenize&, const std::string&>
Tensor<ops::Index, cpu> tokenize_prompts(Tokenize&& tokenize, const std::vector<std::string>& prompts) {
    CONTRA_CHECK(!prompts.empty(), "tokenize_prompts: no prompts");
    std::vector<std::vector<std::int32_t>> rows;
    rows.reserve(prompts.size());
    std::size_t longest = 0;
    for (const auto& p : prompts) {
        rows.push_back(tokenize(p));
        CONTRA_CHECK(!rows.back().empty(), "tokenize_prompts: the tokenizer returned no ids for '", p, "'");
        longest = std::max(longest, rows.back().size());
    }
    auto tokens = Tensor<ops::Index, cpu>::zeros(Shape{std::int64_t(rows.size()), std::int64_t(longest)});  // [P, L]
    for (std::size_t r = 0; r < rows.size(); ++r)
        std::copy(rows[r].begin(), rows[r].end(), tokens.data() + r * longest);
    return tokens;
}

// zero_shot_classifier(model, tokenize, class_names, templates, batch): the [C, E] classifier of
// prompt ensembling. Prompt (c, k) is templates[k] with its "{}" replaced by class_names[c]; the
// C·K prompts are tokenized (tokenize_prompts), encoded under NoGrad in batches (encode_texts),
// and combined per class by class_embeddings.
//   requires: C ≥ 1 class names, K ≥ 1 templates, each containing "{}" exactly once.
//   ensures:  [C, E] with unit rows (float, or double for a double model).
template <TextEncoder Model, class Tokenize>
    requires std::is_invocable_r_v<std::vector<std::int32_t>, Tokenize&, const std::string&>
auto zero_shot_classifier(const Model& model, Tokenize&& tokenize, const std::vector<std::string>& class_names,
                          const std::vector<std::string>& templates, std::int64_t batch = 256) {
    CONTRA_CHECK(!class_names.empty() && !templates.empty(), "zero_shot_classifier: needs at least one class and one "
                 "template, got ", class_names.size(), " classes and ", templates.size(), " templates");
    const auto classes = std::int64_t(class_names.size()), k = std::int64_t(templates.size());
    std::vector<std::string> prompts;  // class-major: prompt c·K + k
    prompts.reserve(std::size_t(classes * k));
    for (const auto& name : class_names)
        for (const auto& templ : templates) prompts.push_back(data::caption(name, templ));
    const auto tokens = tokenize_prompts(tokenize, prompts);        // [C·K, L]
    const auto embeddings = encode_texts(model, tokens, batch);     // [C·K, E]
    return class_embeddings(embeddings.reshape(Shape{classes, k, embeddings.size(1)}));  // [C, E]
}

}  // namespace contra::eval
