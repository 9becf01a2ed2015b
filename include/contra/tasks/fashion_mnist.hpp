// contra/tasks/fashion_mnist.hpp — Fashion-MNIST as (image, caption) pairs: each image with a
// caption made from its class name and a training template drawn per (seed, epoch, image).
// defines: tasks::FashionMnistPairs, tasks::fashion_mnist_corpus, tasks::fashion_mnist_eval_prompts
#pragma once
#include "../data/captions.hpp"
#include "../data/fashion_mnist.hpp"
#include "../train/trainer.hpp"
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

class FashionMnistPairs {
public:
    // limit > 0: only the first `limit` images (small runs, tests).
    FashionMnistPairs(const data::FashionMnist& split, CaptionEncoder encoder, std::uint64_t seed, std::int64_t limit = 0)
        : split_(&split), encoder_(std::move(encoder)), seed_(seed),
          size_(limit > 0 ? std::min(limit, split.size()) : split.size()) {}

    std::int64_t size() const { return size_; }
    const CaptionEncoder& encoder() const { return encoder_; }

    train::PairBatch batch(std::span<const std::int64_t> indices, std::int64_t epoch) const {
        const RandomStream templates{seed_, stream_id("fashion-mnist.template")};
        std::vector<std::string> captions;
        captions.reserve(indices.size());
        for (auto i : indices)
            captions.push_back(data::training_caption(split_->class_name(i), templates, std::uint64_t(epoch * size_ + i)));
        return {split_->images_batch(indices), encoder_.rows(captions)};  // [B,1,28,28], [B,L]
    }

private:
    const data::FashionMnist* split_;
    CaptionEncoder encoder_;
    std::uint64_t seed_;
    std::int64_t size_;
};

}  // namespace contra::tasks
