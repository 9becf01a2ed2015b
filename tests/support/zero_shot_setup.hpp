// tests/support/zero_shot_setup.hpp — what a training test that checks zero-shot accuracy sets up
// as the `contra` program does: a BPE vocabulary learned from the training captions, a context
// that fits every caption and prompt, a preset sized to them, AdamW with weight decay 0.1.
#pragma once
#include <contra/model/model.hpp>
#include <contra/optim/adamw.hpp>
#include <contra/tasks/captions.hpp>
#include <string>
#include <vector>

namespace contra::test {

struct ZeroShotSetup {
    std::vector<std::string> names, templates;  // class names, prompt templates with {}
    tasks::CaptionEncoder encoder;
    model::ClipConfig config;
};

// zero_shot_setup(corpus, names, templates, preset): the vocabulary (1,000 tokens) from corpus,
// the context fitting corpus and every prompt, the preset with that vocabulary and context.
inline ZeroShotSetup zero_shot_setup(std::vector<std::string> corpus, std::vector<std::string> names,
                                     std::vector<std::string> templates, const std::string& preset) {
    auto tokenizer = data::learn_bpe(corpus, 1000);
    for (const auto& n : names)
        for (const auto& t : templates) corpus.push_back(data::caption(n, t));
    const int context = tasks::CaptionEncoder::fitting_context(tokenizer, corpus);
    ZeroShotSetup s{std::move(names), std::move(templates), tasks::CaptionEncoder(std::move(tokenizer), context),
                    model::preset(preset)};
    s.config.text.vocab_size = s.encoder.vocab_size();
    s.config.text.context_length = s.encoder.context_length();
    return s;
}

// AdamW as `contra train` makes it (weight decay 0.1).
template <class Model>
optim::AdamW<float, cpu> adamw_for(Model& model) {
    optim::AdamWOptions adamw;
    adamw.weight_decay = 0.1;
    return optim::AdamW<float, cpu>(model, adamw);
}

}  // namespace contra::test
