// examples/teach/zero_shot.cpp — zero-shot classification is a linear classifier whose weights
// are written in text: class c's weight row is the normalised mean of the embeddings of several
// prompts about c (prompt ensembling), and logits = 100 · x̂ · Wᵀ. The text encoder here is a toy
// (a prompt's embedding is the sum of its words' vectors) so every number can be followed by hand;
// contra's eval helpers do the rest exactly as they do for a trained CLIP.
#include <CLI/CLI.hpp>
#include <contra/eval/zero_shot.hpp>

#include <algorithm>
#include <sstream>

#include "batch.hpp"

using namespace contra;

// Embedding axes: cat, dog, car, "photo", "drawing".
struct BagOfWords {
    using value_type = double;
    std::vector<std::string> words{"<pad>", "a", "of", "photo", "drawing", "blurry", "toy", "cat", "dog", "car"};
    Tensor<double> vectors = Tensor<double>::from(Shape{10, 5}, {
        0, 0, 0, 0, 0,        0, 0, 0, 0, 0,        0, 0, 0, 0, 0,  // <pad>, a, of
        0, 0, 0, 1, 0,        0, 0, 0, 0, 1,                        // photo, drawing
        0, 0, 0.8, 0.3, 0,    0.3, 0.5, 0.2, 0, 0.3,                // blurry (motion: cars), toy
        1, 0.4, 0, 0, 0,      0.4, 1, 0, 0, 0,      0, 0, 1, 0, 0});  // cat, dog, car

    std::vector<std::int32_t> tokenize(const std::string& text) const {
        std::vector<std::int32_t> ids;
        std::istringstream in(text);
        for (std::string w; in >> w;) {
            if (w.back() == '.') w.pop_back();
            const auto at = std::find(words.begin(), words.end(), w);
            CONTRA_CHECK(at != words.end(), "BagOfWords: unknown word '", w, "'");
            ids.push_back(std::int32_t(at - words.begin()));
        }
        return ids;
    }
    // tokens [N, L] → [N, E]: the sum of each row's word vectors (padding is the zero vector)
    Var<double> encode_text(const Tensor<ops::Index, cpu>& tokens) const {
        auto out = Tensor<double>::zeros(Shape{tokens.size(0), vectors.size(1)});
        for (std::int64_t i = 0; i < tokens.size(0); ++i)
            for (std::int64_t t = 0; t < tokens.size(1); ++t)
                for (std::int64_t k = 0; k < vectors.size(1); ++k) out.at(i, k) += vectors.at(tokens.at(i, t), k);
        return Var<double>(out);
    }
};

int main(int argc, char** argv) {
    CLI::App app{"Zero-shot classification as a linear classifier written in text, with prompt ensembling"};
    std::string out = ".";
    std::vector<std::string> templates{"a photo of a {}.", "a blurry photo of a {}.", "a drawing of a {}.", "a toy {}."};
    app.add_option("--template", templates, "the prompt templates to ensemble (words: a of photo drawing blurry toy)");
    app.add_option("--out", out, "folder for the figure");
    CLI11_PARSE(app, argc, argv);

    const BagOfWords model;
    const auto tokenize = [&](const std::string& text) { return model.tokenize(text); };
    const std::vector<std::string> classes{"cat", "dog", "car"};

    // Six image embeddings, as an image tower might give them (not normalised), and their labels.
    const auto images = Tensor<double>::from(Shape{6, 5}, {
        0.9, 0.5, 0.1, 0.8, 0.0,   0.5, 0.8, 0.1, 0.6, 0.3,   0.1, 0.1, 0.9, 0.9, 0.0,   // cat, dog, car photos
        0.7, 0.6, 0.0, 0.0, 0.9,   0.3, 0.4, 0.5, 0.4, 0.0,   0.2, 0.1, 0.6, 0.2, 0.8});  // cat drawing, blurry dog, car drawing
    const std::vector<int> labels{0, 1, 2, 0, 1, 2};

    // The classifier W [C, E]: per class, the K prompts encoded, normalised, averaged, renormalised.
    const auto W = eval::zero_shot_classifier(model, tokenize, classes, templates);
    teach::print("W (one unit row per class: cat, dog, car):", W);
    const auto logits = eval::zero_shot_logits(images, W);  // 100 · normalise(images) · Wᵀ, [6, C]
    teach::print("logits = 100 * normalise(image) * W^T:", logits, " %8.2f");

    // Each image's class: the largest logit. Accuracy of each template alone, and of the ensemble.
    auto predict = [&](const Tensor<double>& classifier) {
        const auto z = eval::zero_shot_logits(images, classifier);  // [6, C]
        std::string guesses;
        int right = 0;
        for (std::int64_t i = 0; i < z.size(0); ++i) {
            std::int64_t best = 0;
            for (std::int64_t c = 1; c < z.size(1); ++c)
                if (z.at(i, c) > z.at(i, best)) best = c;
            right += best == labels[std::size_t(i)];
            guesses += " " + classes[std::size_t(best)];
        }
        std::printf("%d/6 right:%s\n", right, guesses.c_str());
        return right;
    };
    std::printf("%-43s cat dog car cat dog car (the labels)\n", "");
    int best_alone = 0;
    for (const auto& t : templates) {
        std::printf("%-32s ", ("\"" + t + "\" alone:").c_str());
        best_alone = std::max(best_alone, predict(eval::zero_shot_classifier(model, tokenize, classes, {t})));
    }
    std::printf("%-32s ", ("the ensemble of all " + std::to_string(templates.size()) + ":").c_str());
    const int ensemble = predict(W);

    // The figure: each image's cosine with each class row (logits / 100); the largest in a row wins.
    auto cosines = logits.clone();
    for (std::int64_t i = 0; i < cosines.numel(); ++i) cosines[i] /= 100;
    auto heatmap = teach::similarity_heatmap("Zero-shot: cosine of each image with each class", cosines);
    heatmap.rows = {"cat photo", "dog photo", "car photo", "cat drawing", "blurry dog", "car drawing"};
    heatmap.columns = classes;
    heatmap.x_label = "class (prompt ensemble)", heatmap.lo = 0, heatmap.hi = 1;
    teach::save(out, "zero_shot_cosines.svg", heatmap);
    std::printf("the ensemble does %s the best template alone\n", ensemble >= best_alone ? "as well as" : "WORSE than");
    return ensemble >= best_alone ? 0 : 1;
}
