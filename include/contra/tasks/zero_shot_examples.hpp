// contra/tasks/zero_shot_examples.hpp — a few test images with a model's most probable zero-shot
// classes, for a run's report (report::ExampleGrid, drawn by report/html_run.hpp): from labelled
// images (Fashion-MNIST, shapes) or from an image folder.
//   report::write_example_grid(run_folder, tasks::zero_shot_examples(model, encoder, names, templates,
//                                                                    test, normalization, "shapes test images"));
// defines: tasks::example_indices, tasks::picture_of, tasks::zero_shot_examples
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "../data/idx.hpp"
#include "../data/image_resize.hpp"
#include "../report/html_run.hpp"
#include "benchmark.hpp"
#include "evaluate.hpp"

namespace contra::tasks {

// example_indices(total, count): min(total, count) indices spread evenly over [0, total), so
// that a class-sorted folder shows several classes.
inline std::vector<std::int64_t> example_indices(std::int64_t total, std::int64_t count) {
    std::vector<std::int64_t> out;
    const std::int64_t n = std::min(total, count);
    for (std::int64_t k = 0; k < n; ++k) out.push_back(k * total / n);
    return out;
}

// picture_of(image, norm): an image [C, S, S] normalised as (p / 255 − mean) / std (every channel),
// back in 8-bit pixels, as a PNG data URI.
//   requires: image has rank 3 and 1 or 3 channels.
inline std::string picture_of(const Tensor<float, cpu>& image, data::Normalization norm) {
    CONTRA_CHECK(image.rank() == 3 && (image.size(0) == 1 || image.size(0) == 3), "picture_of: expected an image [C, S, S] "
                 "with 1 or 3 channels, got ", image.shape());
    const int channels = int(image.size(0)), height = int(image.size(1)), width = int(image.size(2));
    std::vector<std::uint8_t> pixels(std::size_t(channels) * std::size_t(height) * std::size_t(width));  // HWC
    for (int c = 0; c < channels; ++c)
        for (std::int64_t p = 0; p < std::int64_t(height) * width; ++p) {
            const double value = (double(image.data()[c * height * width + p]) * norm.std + norm.mean) * 255.0;
            pixels[std::size_t(p * channels + c)] = std::uint8_t(std::clamp(std::lround(value), 0L, 255L));
        }
    return report::png_data_uri(width, height, channels, pixels);
}

namespace detail {

// The grid of K images: their embeddings [K, E], the classifier [C, E], their labels and pictures.
inline report::ExampleGrid example_grid(const Tensor<float, cpu>& embeddings, const Tensor<float, cpu>& classifier,
                                        std::span<const eval::Label> labels, const std::vector<std::string>& class_names,
                                        std::vector<std::string> pictures, int top, std::string source) {
    const auto probabilities = eval::class_probabilities(eval::zero_shot_logits(embeddings, classifier));  // K × C
    report::ExampleGrid grid{std::move(source), {}};
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        const auto& probability = probabilities[i];
        const auto classes = std::int64_t(probability.size());
        std::vector<std::int64_t> order(static_cast<std::size_t>(classes));
        std::iota(order.begin(), order.end(), 0);
        const auto shown = std::min<std::int64_t>(top, classes);
        std::partial_sort(order.begin(), order.begin() + shown, order.end(),
                          [&](std::int64_t a, std::int64_t b) { return probability[std::size_t(a)] > probability[std::size_t(b)]; });
        report::ZeroShotExample example{std::move(pictures[i]), class_names[std::size_t(labels[i])], {}, order[0] == labels[i]};
        for (std::int64_t k = 0; k < shown; ++k) {
            const auto c = std::size_t(order[std::size_t(k)]);
            example.guesses.push_back({class_names[c], probability[c]});
        }
        grid.examples.push_back(std::move(example));
    }
    return grid;
}

}  // namespace detail

// zero_shot_examples(model, encoder, class_names, templates, test, norm, source, count, top):
// `count` of the test images (spread over them), each with its `top` most probable classes
// under zero-shot classification with prompt ensembling over `templates`; `norm` says how the
// images were normalised (to show them).
template <class Model>
report::ExampleGrid zero_shot_examples(const Model& model, const CaptionEncoder& encoder, const std::vector<std::string>& class_names,
                                       const std::vector<std::string>& templates, const LabelledImages& test,
                                       data::Normalization norm, std::string source, std::int64_t count = 24, int top = 3) {
    const auto indices = example_indices(test.size(), count);
    CONTRA_CHECK(!indices.empty(), "zero_shot_examples: no test images");
    const auto first = test.images(indices[0], indices[0] + 1);  // [1, C, S, S]
    const std::int64_t k = std::int64_t(indices.size()), pixels = first.numel();
    auto images = Tensor<float, cpu>::empty(Shape{k, first.size(1), first.size(2), first.size(3)});  // [K, C, S, S]
    std::vector<eval::Label> labels;
    std::vector<std::string> pictures;
    for (std::int64_t j = 0; j < k; ++j) {
        const auto i = indices[std::size_t(j)];
        const auto image = j == 0 ? first : test.images(i, i + 1);
        std::copy(image.data(), image.data() + pixels, images.data() + j * pixels);
        labels.push_back(test.labels[std::size_t(i)]);
        pictures.push_back(picture_of(images.rows(j, j + 1).reshape(Shape{first.size(1), first.size(2), first.size(3)}), norm));
    }
    const auto embeddings = embed_images(model, [&](std::int64_t b, std::int64_t e) { return images.rows(b, e); }, k);  // [K, E]
    return detail::example_grid(embeddings, zero_shot_classifier(model, encoder, class_names, templates), labels, class_names,
                                std::move(pictures), top, std::move(source));
}

// zero_shot_examples(model, encoder, folder, class_names, templates, source, count, top): the same
// for an image folder (class_names empty: folder_class_names); images that cannot be read are left out.
template <class Model>
report::ExampleGrid zero_shot_examples(const Model& model, const CaptionEncoder& encoder, const ImageFolder& folder,
                                       const std::vector<std::string>& class_names, const std::vector<std::string>& templates,
                                       std::string source, std::int64_t count = 24, int top = 3) {
    const auto names = class_names.empty() ? folder_class_names(folder) : class_names;
    const auto indices = example_indices(std::int64_t(folder.images.size()), count);
    BenchmarkOptions options;
    options.broken = BrokenImages::skip;
    const auto embedded = embed_decoded_images(
        model, indices.size(), [&](std::size_t k) { return data::read_image(folder.images[std::size_t(indices[k])]); },
        [&](std::size_t k) { return folder.images[std::size_t(indices[k])].string(); }, options);
    std::vector<eval::Label> labels;
    std::vector<std::string> pictures;
    for (auto k : embedded.kept) {
        const auto index = std::size_t(indices[k]);
        labels.push_back(folder.labels[index]);
        const auto thumbnail = data::resize_center_crop(data::read_image(folder.images[index]), 96);
        pictures.push_back(report::png_data_uri(thumbnail.width, thumbnail.height, thumbnail.channels, thumbnail.pixels));
    }
    return detail::example_grid(embedded.embeddings, zero_shot_classifier(model, encoder, names, templates), labels, names,
                                std::move(pictures), top, std::move(source));
}

}  // namespace contra::tasks
