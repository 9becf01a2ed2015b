// contra/tasks/evaluate.hpp — evaluating a trained CLIP on labelled images: zero-shot
// classification from class-name prompts, a linear probe on frozen image features, and
// image↔text retrieval.
// defines: tasks::embed_images, tasks::ZeroShotResult, tasks::zero_shot, tasks::linear_probe_accuracy,
//          tasks::retrieval, tasks::LabelledImages, tasks::LabelledEvaluation, tasks::evaluate_labelled
#pragma once
#include <functional>
#include <optional>

#include "../eval/eval.hpp"
#include "captions.hpp"

namespace contra::tasks {

// images(begin, end) → normalised images [end − begin, C, S, S] on the host.
using ImageSource = std::function<Tensor<float, cpu>(std::int64_t begin, std::int64_t end)>;

// Image embeddings [N, E] (not normalised) of images 0..count−1, batch by batch, without a tape.
template <class Model>
Tensor<float, cpu> embed_images(const Model& model, const ImageSource& images, std::int64_t count, std::int64_t batch = 500) {
    using T = typename Model::value_type;
    Tensor<float, cpu> out;
    for (std::int64_t b0 = 0; b0 < count; b0 += batch) {
        const std::int64_t b1 = std::min(count, b0 + batch);
        const auto x = to_device<device_of<typename Model::backend>>(cast<T>(images(b0, b1)));  // [b, C, S, S]
        const auto part = cast<float>(eval::encode_images(model, x, batch));                   // [b, E]
        if (!out.defined()) out = Tensor<float, cpu>::empty(Shape{count, part.size(1)});
        std::copy(part.data(), part.data() + part.numel(), out.data() + b0 * part.size(1));
    }
    return out;
}

// The [C, E] zero-shot classifier: prompts of each class name through the text tower, averaged.
template <class Model>
Tensor<float, cpu> zero_shot_classifier(const Model& model, const CaptionEncoder& encoder,
                                        const std::vector<std::string>& class_names, const std::vector<std::string>& templates) {
    return cast<float>(eval::zero_shot_classifier(model, [&](const std::string& p) { return encoder.row(p); }, class_names,
                                                  templates));
}

struct ZeroShotResult {
    double top1 = 0, top5 = 0;
    eval::ConfusionMatrix confusion{1};
    std::vector<eval::Label> predictions;
};

// zero_shot(image embeddings [N,E], classifier [C,E], labels): logits 100·Î·Wᵀ, top-1/top-5, confusion.
inline ZeroShotResult zero_shot(const Tensor<float, cpu>& image_embeddings, const Tensor<float, cpu>& classifier,
                                std::span<const eval::Label> labels) {
    const auto logits = eval::zero_shot_logits(image_embeddings, classifier);  // [N, C]
    ZeroShotResult r;
    r.top1 = eval::topk_accuracy(logits, labels, 1);
    r.top5 = eval::topk_accuracy(logits, labels, std::min<std::int64_t>(5, classifier.size(0)));
    r.predictions = eval::argmax_rows(logits);
    r.confusion = eval::ConfusionMatrix(classifier.size(0));
    r.confusion.add(r.predictions, labels);
    return r;
}

// A logistic-regression probe on frozen features: trained on one split, scored on another.
inline double linear_probe_accuracy(const Tensor<float, cpu>& train_features, std::span<const eval::Label> train_labels,
                                    const Tensor<float, cpu>& test_features, std::span<const eval::Label> test_labels,
                                    std::int64_t classes, std::int64_t max_iterations = 300) {
    eval::LinearProbeOptions options;
    options.max_iterations = max_iterations;
    const auto probe = eval::LinearProbe::fit(train_features, train_labels, classes, options);
    return probe.accuracy(test_features, test_labels);
}

// Retrieval between images [N,E] and one caption per image (caption i describes image i).
template <class Model>
eval::RetrievalResult retrieval(const Model& model, const CaptionEncoder& encoder, const Tensor<float, cpu>& image_embeddings,
                                const std::vector<std::string>& captions) {
    const auto tokens = encoder.rows(captions);                                // [N, L]
    const auto texts = cast<float>(eval::encode_texts(model, tokens, 500));    // [N, E]
    std::vector<eval::Label> text_to_image(captions.size());
    for (std::size_t i = 0; i < captions.size(); ++i) text_to_image[i] = eval::Label(i);
    return eval::retrieval_metrics(image_embeddings, texts, text_to_image);
}

// Labelled images: images(begin, end) gives a batch; labels[i] is the class of image i.
struct LabelledImages {
    ImageSource images;
    std::vector<eval::Label> labels;
    std::int64_t size() const { return std::int64_t(labels.size()); }
};

// What evaluate_labelled measures.
struct LabelledEvaluation {
    ZeroShotResult zero_shot;
    std::optional<double> linear_probe_top1;  // when probe images were given
    eval::RetrievalResult retrieval;          // the first retrieval_images test images, one caption each
    std::int64_t retrieval_images = 0;
};

// evaluate_labelled(model, encoder, class_names, templates, test, probe_train): the evaluation
// that ends a run on labelled images, for any model:
//   zero-shot top-1/top-5 and confusion on `test` (prompt ensembling over `templates`);
//   a linear probe trained on `probe_train`'s frozen features (when given), scored on `test`;
//   image↔text retrieval between the first (up to) 1000 test images and one caption each, the
//   evaluation template cycled (caption i: templates[i % K] of image i's class).
template <class Model>
LabelledEvaluation evaluate_labelled(const Model& model, const CaptionEncoder& encoder, const std::vector<std::string>& class_names,
                                     const std::vector<std::string>& templates, const LabelledImages& test,
                                     const LabelledImages* probe_train) {
    LabelledEvaluation ev;
    const auto classifier = zero_shot_classifier(model, encoder, class_names, templates);  // [C, E]
    const auto features = embed_images(model, test.images, test.size());                   // [N, E]
    ev.zero_shot = zero_shot(features, classifier, test.labels);
    if (probe_train) {
        const auto train_features = embed_images(model, probe_train->images, probe_train->size());
        ev.linear_probe_top1 = linear_probe_accuracy(train_features, probe_train->labels, features, test.labels,
                                                     std::int64_t(class_names.size()));
    }
    ev.retrieval_images = std::min<std::int64_t>(1000, test.size());
    std::vector<std::string> captions;
    for (std::int64_t i = 0; i < ev.retrieval_images; ++i)
        captions.push_back(data::caption(class_names[std::size_t(test.labels[std::size_t(i)])],
                                         templates[std::size_t(i) % templates.size()]));
    ev.retrieval = retrieval(model, encoder, features.rows(0, ev.retrieval_images), captions);
    return ev;
}

}  // namespace contra::tasks
