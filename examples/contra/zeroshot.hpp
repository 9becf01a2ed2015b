// contra zeroshot --model PATH [--bpe FILE] --labels "dog,cat,..." [--templates FILE] IMAGE...
// Class probabilities per image file: each label through every template, text embeddings
// averaged and renormalised (prompt ensembling), softmax of 100·image·classes.
#pragma once
#include <contra/data/hf_tokenizer.hpp>
#include <contra/data/image.hpp>
#include <contra/tasks/evaluate.hpp>
#include <cstdio>
#include <numeric>

#include "pretrained.hpp"

namespace contra::cli {

// OpenAI's short list of ImageNet prompts (the zero-shot notebook's selected subset).
inline const std::vector<std::string> kDefaultTemplates = {
    "itap of a {}.", "a bad photo of the {}.", "a origami {}.", "a photo of the large {}.",
    "a {} in a video game.", "art of the {}.", "a photo of the small {}."};

struct ZeroShotOptions {
    ModelOptions model;
    std::string bpe, labels, templates;
    std::vector<std::string> images;
    int top = 5;
};

inline std::vector<std::string> split_labels(const std::string& labels) {
    std::vector<std::string> out;
    std::size_t begin = 0;
    while (begin <= labels.size()) {
        auto end = labels.find(',', begin);
        if (end == std::string::npos) end = labels.size();
        auto label = labels.substr(begin, end - begin);
        label.erase(0, label.find_first_not_of(' '));
        label.erase(label.find_last_not_of(' ') + 1);
        CONTRA_CHECK(!label.empty(), "--labels: an empty label in '", labels, "'");
        out.push_back(label);
        begin = end + 1;
    }
    CONTRA_CHECK(out.size() >= 2, "--labels: at least two labels, comma-separated");
    return out;
}

// The tokenizer of a model: --bpe, else an HF folder's merges.txt + vocab.json, else a contra
// checkpoint's own.
inline data::Tokenizer tokenizer_for(const io::Pretrained& p, const std::string& bpe) {
    if (!bpe.empty()) return data::Tokenizer::from_merges_file(bpe);
    const auto folder = p.weights.parent_path();
    if (p.layout == io::WeightLayout::hf && std::filesystem::exists(folder / "merges.txt"))
        return data::tokenizer_from_hf_folder(folder);
    if (const auto it = p.metadata.find("tokenizer_merges"); it != p.metadata.end()) return tasks::merges_from_text(it->second);
    throw Error("no tokenizer for " + p.weights.string() + ": give --bpe (CLIP's bpe_simple_vocab_16e6.txt.gz)");
}

// zeroshot_probabilities(o): for each image file, the probability of each label (in o's order).
inline std::vector<std::vector<double>> zeroshot_probabilities(const ZeroShotOptions& o) {
    const auto p = o.model.describe();
    const auto labels = split_labels(o.labels);
    const auto templates = o.templates.empty() ? kDefaultTemplates : data::read_templates(o.templates);
    const auto tokenizer = tokenizer_for(p, o.bpe);
    CONTRA_CHECK(tokenizer.vocab_size() == p.config.text.vocab_size, "the tokenizer has ", tokenizer.vocab_size(),
                 " ids but the model's vocabulary is ", p.config.text.vocab_size);
    const auto& v = p.config.vision;
    CONTRA_CHECK(v.channels == 3, "zeroshot reads colour images; this model takes ", v.channels, " channel(s)");
    const std::int64_t size = v.image_size, pixels = 3 * size * size;
    const tasks::CaptionEncoder encoder(tokenizer, int(p.config.text.context_length));
    std::vector<std::vector<double>> out;
    with_pretrained<float>(p, [&](auto& model) {
        const auto classifier = tasks::zero_shot_classifier(model, encoder, labels, templates);  // [C, E]
        const auto load = [&](std::int64_t begin, std::int64_t end) {
            auto batch = Tensor<float, cpu>::empty(Shape{end - begin, 3, size, size});  // [b, 3, S, S]
            for (std::int64_t i = begin; i < end; ++i)
                data::preprocess_into<float>(data::read_image(o.images[std::size_t(i)]), int(size),
                                             batch.data() + (i - begin) * pixels);
            return batch;
        };
        const auto images = tasks::embed_images(model, load, std::int64_t(o.images.size()), 16);  // [N, E]
        const auto logits = eval::zero_shot_logits(images, classifier);                          // [N, C]
        const std::int64_t classes = logits.size(1);
        for (std::int64_t i = 0; i < logits.size(0); ++i) {
            const float* row = logits.data() + i * classes;
            const double top = *std::max_element(row, row + classes);
            std::vector<double> probs(std::size_t(classes), 0.0);
            double total = 0;
            for (std::int64_t c = 0; c < classes; ++c) total += probs[std::size_t(c)] = std::exp(double(row[c]) - top);
            for (auto& q : probs) q /= total;
            out.push_back(std::move(probs));
        }
    });
    return out;
}

inline void zeroshot_command(const ZeroShotOptions& o) {
    const auto labels = split_labels(o.labels);
    const auto probabilities = zeroshot_probabilities(o);
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        std::vector<std::size_t> order(labels.size());
        std::iota(order.begin(), order.end(), std::size_t(0));
        std::sort(order.begin(), order.end(), [&](auto a, auto b) { return probabilities[i][a] > probabilities[i][b]; });
        std::printf("%s\n", o.images[i].c_str());
        for (std::size_t k = 0; k < order.size() && k < std::size_t(o.top); ++k)
            std::printf("  %6.2f%%  %s\n", 100 * probabilities[i][order[k]], labels[order[k]].c_str());
    }
}

inline void add_zeroshot(CLI::App& app, ZeroShotOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("zeroshot", "Classify image files by label names alone");
    add_model_options(cmd, o.model);
    cmd->add_option("--bpe", o.bpe, "CLIP's merges file (not needed for HF folders with merges.txt or contra checkpoints)");
    cmd->add_option("--labels", o.labels, "Comma-separated class names")->required();
    cmd->add_option("--templates", o.templates, "A file of prompt templates, one per line with {} for the label");
    cmd->add_option("--top", o.top, "How many classes to print per image")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("images", o.images, "PNG or JPEG files")->required();
    cmd->callback([&] { run = [&] { zeroshot_command(o); }; });
}

}  // namespace contra::cli
