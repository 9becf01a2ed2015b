// contra/data/captions.hpp — captions for class-labelled images: prompt templates for training
// and a disjoint set for zero-shot evaluation (Radford et al., 2021, §3.1.4 prompt ensembling).
// defines: contra::data::kTrainTemplates, kEvalTemplates, kPeerEvalTemplateCount, caption,
//          training_template, training_caption, eval_captions, read_templates,
//          has_one_slot
#pragma once
#include <array>
#include <cstdint>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../core/config.hpp"
#include "../core/random.hpp"

namespace contra::data {

// Templates contain "{}" exactly once, where the class name goes.
// kTrainTemplates: the only templates a training caption is made from. The same twelve as the
// PyTorch program benchmarks compare against (TRAIN_T in torch_fmnist_zeroshot.py).
inline constexpr std::array<std::string_view, 12> kTrainTemplates = {
    "a photo of a {}.",
    "a blurry photo of a {}.",
    "a black and white photo of a {}.",
    "a low contrast photo of a {}.",
    "a bad photo of a {}.",
    "a photo of the {}.",
    "a cropped photo of a {}.",
    "a close-up photo of a {}.",
    "a picture of a {}.",
    "an image of a {}.",
    "a product photo of a {}.",
    "a {}.",
};

// kEvalTemplates: zero-shot prompts, never seen in training. The first kPeerEvalTemplateCount
// are the PyTorch program's TEST_T, so span(kEvalTemplates).first(kPeerEvalTemplateCount)
// reproduces its ensemble exactly.
inline constexpr std::array<std::string_view, 8> kEvalTemplates = {
    "a good photo of a {}.",
    "a photo of a small {}.",
    "a photo of my {}.",
    "a low resolution photo of the {}.",
    "a grayscale picture of the {}.",
    "a good photo of the {}.",
    "a jpeg photo of a {}.",
    "a photo of a nice {}.",
};
inline constexpr std::size_t kPeerEvalTemplateCount = 5;

// has_one_slot(templ): templ contains "{}" exactly once (what every template must).
inline bool has_one_slot(std::string_view templ) {
    const auto at = templ.find("{}");
    return at != std::string_view::npos && templ.find("{}", at + 2) == std::string_view::npos;
}

// caption(class_name, templ): templ with its "{}" replaced by class_name.
//   requires: has_one_slot(templ).
inline std::string caption(std::string_view class_name, std::string_view templ) {
    CONTRA_CHECK(has_one_slot(templ), "caption template '", templ, "' must contain \"{}\" exactly once");
    const auto at = templ.find("{}");
    std::string out;
    out.reserve(templ.size() + class_name.size());
    out.append(templ.substr(0, at)).append(class_name).append(templ.substr(at + 2));
    return out;
}

// training_template(stream, sample): the training template of one sample, uniform over
// kTrainTemplates and a pure function of (stream.seed, stream.stream, sample). To draw fresh
// templates every epoch, pass sample = epoch · dataset_size + index (or one stream per epoch).
inline std::string_view training_template(const RandomStream& stream, std::uint64_t sample) {
    return kTrainTemplates[std::size_t(stream.below(sample, kTrainTemplates.size()))];
}

// training_caption(class_name, stream, sample): caption(class_name, training_template(stream, sample)).
inline std::string training_caption(std::string_view class_name, const RandomStream& stream, std::uint64_t sample) {
    return caption(class_name, training_template(stream, sample));
}

// eval_captions(class_name, templates): one caption per evaluation template, in template order
// (the prompts whose mean text embedding is the zero-shot classifier's weight for the class).
inline std::vector<std::string> eval_captions(std::string_view class_name,
                                              std::span<const std::string_view> templates = kEvalTemplates) {
    std::vector<std::string> out;
    out.reserve(templates.size());
    for (auto t : templates) out.push_back(caption(class_name, t));
    return out;
}

// Templates from a file: one per line, each with "{}" once; blank lines and "#" lines skipped.
inline std::vector<std::string> read_templates(const std::string& path) {
    std::ifstream in(path);
    CONTRA_CHECK(in.good(), path, ": cannot be read");
    std::vector<std::string> out;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
        CONTRA_CHECK(has_one_slot(line), path, ":", number, ": '", line, "' needs \"{}\" exactly once");
        out.push_back(line);
    }
    CONTRA_CHECK(!out.empty(), path, ": no templates");
    return out;
}

}  // namespace contra::data
