// End to end on real data: a short contrastive training on a Fashion-MNIST subset must classify
// the test images zero-shot (from prompts training never used) far above chance (10%).
#include <doctest/doctest.h>

#include <contra/tasks/evaluate.hpp>
#include <contra/tasks/fashion_mnist.hpp>

#include "../support/skip.hpp"

using namespace contra;

TEST_CASE("a 2-epoch run on 8,192 Fashion-MNIST pairs classifies zero-shot far above chance") {
    if (!data::fashion_mnist_available()) {
        test::skip("Fashion-MNIST not found in /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)");
        return;
    }
    const auto train_split = data::load_fashion_mnist(data::Split::train);
    const auto test_split = data::load_fashion_mnist(data::Split::test);

    auto tokenizer = data::learn_bpe(tasks::fashion_mnist_corpus(), 1000);
    std::vector<std::string> names, templates;
    for (auto n : data::kFashionMnistClasses) names.emplace_back(n);
    for (auto t : data::kEvalTemplates) templates.emplace_back(t);
    auto everything = tasks::fashion_mnist_corpus();
    for (const auto& n : names)
        for (const auto& t : templates) everything.push_back(data::caption(n, t));
    const tasks::CaptionEncoder encoder(tokenizer, tasks::CaptionEncoder::fitting_context(tokenizer, everything));

    auto config = model::preset("fmnist");
    config.text.vocab_size = encoder.vocab_size();
    config.text.context_length = encoder.context_length();
    model::OpenAiClip<float, cpu> model(config, 0);
    optim::AdamWOptions adamw;
    adamw.weight_decay = 0.1;
    optim::AdamW<float, cpu> optimizer(model, adamw);

    const tasks::FashionMnistPairs pairs(train_split, encoder, 0, 8192);
    train::Options options;
    options.batch_size = 128;
    options.lr = 2e-3;
    options.warmup_steps = 10;
    options.epochs = 2;
    std::vector<double> losses;
    train::Hooks hooks;
    hooks.on_step = [&](const train::StepRecord& r, const train::State&) { losses.push_back(r.loss); };
    const auto state = train::fit(model, optimizer, pairs, options, hooks);
    CHECK(state.step == 128);
    CHECK(state.skipped_steps == 0);

    const std::int64_t n = 2000;
    const tasks::ImageSource images = [&](std::int64_t b, std::int64_t e) {
        std::vector<std::int64_t> idx;
        for (std::int64_t i = b; i < e; ++i) idx.push_back(i);
        return test_split.images_batch(idx);
    };
    std::vector<eval::Label> labels;
    for (std::int64_t i = 0; i < n; ++i) labels.push_back(test_split.label(i));
    const auto classifier = tasks::zero_shot_classifier(model, encoder, names, templates);
    const auto result = tasks::zero_shot(tasks::embed_images(model, images, n), classifier, labels);
    MESSAGE("zero-shot top-1 after 128 steps: ", result.top1, " (loss ", losses.front(), " -> ", losses.back(), ")");
    CHECK(result.top1 > 0.5);
    CHECK(result.top5 > 0.9);
    CHECK(losses.back() < losses.front() - 1.0);
}
