// contra/tasks/shapes.hpp — the built-in shapes dataset as (image, caption) pairs. Training only
// ever sees the 30 seen colour–shape combinations; evaluation asks for all 36 by name.
// defines: tasks::ShapesPairs, tasks::shapes_corpus, tasks::shapes_eval_prompts
#pragma once
#include "../core/parallel.hpp"
#include "../data/captions.hpp"
#include "../data/shapes.hpp"
#include "../train/data.hpp"
#include "captions.hpp"

namespace contra::tasks {

// Every caption the training generator can write: seen combinations × frames × sizes and
// positions, each named or not × colour, shape or both named.
inline std::vector<std::string> shapes_corpus() {
    namespace sh = data::shapes;
    std::vector<std::string> out;
    for (const auto& c : sh::classes()) {
        if (c.held_out) continue;
        for (int frame = 0; frame < int(sh::kTrainFrames.size()); ++frame)
            for (int size = -1; size < int(sh::kSizeNames.size()); ++size)  // −1: not named
                for (int position = -1; position < int(sh::kPositionPhrases.size()); ++position)
                    for (int named = 0; named < 3; ++named) {  // colour, shape, both
                        sh::Attributes a;
                        a.colour = c.colour;
                        a.shape = c.shape;
                        a.frame = frame;
                        a.names_size = size >= 0;
                        a.size = sh::Size(std::max(size, 0));
                        a.names_position = position >= 0;
                        a.position = sh::Position(std::max(position, 0));
                        a.names_colour = named != 1;
                        a.names_shape = named != 0;
                        out.push_back(sh::describe(a));
                    }
    }
    return out;
}

// The zero-shot prompts of one class ("red triangle"): the shapes evaluation templates.
inline std::vector<std::string> shapes_eval_prompts(const std::string& class_name) {
    return data::eval_captions(class_name, data::shapes::kEvalTemplates);
}

class ShapesPairs {
public:
    // size: how many distinct training samples an epoch holds (sample i is the same every epoch).
    ShapesPairs(std::int64_t size, CaptionEncoder encoder, std::uint64_t seed, data::shapes::Config config = {})
        : size_(size), encoder_(std::move(encoder)), seed_(seed), config_(config) {}

    std::int64_t size() const { return size_; }
    const data::shapes::Config& config() const { return config_; }

    train::PairBatch batch(std::span<const std::int64_t> indices, std::int64_t) const {
        const std::int64_t n = std::int64_t(indices.size()), s = config_.image_size, pixels = 3 * s * s;
        auto images = Tensor<float, cpu>::empty(Shape{n, 3, s, s});  // [B, 3, S, S]
        std::vector<std::string> captions(indices.size());
        parallel_for(n, 1 << 16, [&](std::int64_t first, std::int64_t last) {
            for (std::int64_t b = first; b < last; ++b) {
                const auto sample = data::shapes::make_sample(std::uint64_t(indices[std::size_t(b)]), seed_,
                                                              data::shapes::Split::train, config_);
                std::copy(sample.image.data(), sample.image.data() + pixels, images.data() + b * pixels);
                captions[std::size_t(b)] = sample.caption;
            }
        });
        return {images, encoder_.rows(captions)};  // [B,3,S,S], [B,L]
    }

private:
    std::int64_t size_;
    CaptionEncoder encoder_;
    std::uint64_t seed_;
    data::shapes::Config config_;
};

}  // namespace contra::tasks
