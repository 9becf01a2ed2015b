// contra/tasks/fashion_mnist.hpp — Fashion-MNIST as (image, caption) pairs: each image with a
// caption made from its class name and a training template drawn per (seed, epoch, image).
// defines: tasks::FashionMnistPairs, tasks::fashion_mnist_corpus, tasks::fashion_mnist_eval_prompts
#pragma once
#include "../data/captions.hpp"
#include "../data/fashion_mnist.hpp"
#include "../train/data.hpp"
#include "captions.hpp"

namespace contra::tasks {

// Every caption training can produce (10 classes × the training templates): the BPE corpus.
inline std::vector<std::string> fashion_mnist_corpus() {
    std::vector<std::string> out;
    for (auto name : data::kFashionMnistClasses)
        for (auto t : data::kTrainTemplates) out.push_back(data::caption(name, t));
    return out;
}

// The zero-shot prompts of one class: the evaluation templates, which training never uses.
inline std::vector<std::string> fashion_mnist_eval_prompts(std::string_view class_name) {
    return data::eval_captions(class_name, data::kEvalTemplates);
}

// augment_image(image [1, S, S] normalised, stream, draw): a random horizontal flip and a shift
// of up to ±2 pixels (vacated pixels become background), a pure function of (stream, draw).
inline void augment_image(float* image, std::int64_t size, float background, const RandomStream& stream, std::uint64_t draw) {
    const bool flip = stream.below(3 * draw, 2) == 1;
    const auto dx = std::int64_t(stream.below(3 * draw + 1, 5)) - 2, dy = std::int64_t(stream.below(3 * draw + 2, 5)) - 2;
    std::vector<float> source(image, image + size * size);
    for (std::int64_t y = 0; y < size; ++y)
        for (std::int64_t x = 0; x < size; ++x) {
            const std::int64_t sy = y - dy, sx0 = x - dx, sx = flip ? size - 1 - sx0 : sx0;
            const bool inside = sy >= 0 && sy < size && sx0 >= 0 && sx0 < size;
            image[y * size + x] = inside ? source[std::size_t(sy * size + sx)] : background;
        }
}

class FashionMnistPairs {
public:
    // limit > 0: only the first `limit` images (small runs, tests); augment: random flips and
    // shifts of the training images (drawn per epoch and image).
    FashionMnistPairs(const data::FashionMnist& split, CaptionEncoder encoder, std::uint64_t seed, std::int64_t limit = 0,
                      bool augment = false)
        : split_(&split), encoder_(std::move(encoder)), seed_(seed),
          size_(limit > 0 ? std::min(limit, split.size()) : split.size()), augment_(augment) {}

    std::int64_t size() const { return size_; }
    const CaptionEncoder& encoder() const { return encoder_; }

    train::PairBatch batch(std::span<const std::int64_t> indices, std::int64_t epoch) const {
        const RandomStream templates{seed_, stream_id("fashion-mnist.template")};
        std::vector<std::string> captions;
        captions.reserve(indices.size());
        for (auto i : indices)
            captions.push_back(data::training_caption(split_->class_name(i), templates, std::uint64_t(epoch * size_ + i)));
        auto images = split_->images_batch(indices);  // [B, 1, 28, 28]
        if (augment_) {
            const RandomStream draws{seed_, stream_id("fashion-mnist.augment")};
            const auto norm = data::kFashionMnistNormalization;
            const std::int64_t s = data::kFashionMnistImageSize;
            for (std::size_t b = 0; b < indices.size(); ++b)
                augment_image(images.data() + std::int64_t(b) * s * s, s, (0.0f - norm.mean) / norm.std, draws,
                              std::uint64_t(epoch * size_ + indices[b]));
        }
        return {images, encoder_.rows(captions)};  // [B,1,28,28], [B,L]
    }

private:
    const data::FashionMnist* split_;
    CaptionEncoder encoder_;
    std::uint64_t seed_;
    std::int64_t size_;
    bool augment_;
};

}  // namespace contra::tasks
