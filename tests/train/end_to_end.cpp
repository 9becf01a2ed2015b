// End to end on real data: a short contrastive training on a Fashion-MNIST subset must classify
// the test images zero-shot (from prompts training never used) far above chance (10%).
#include <doctest/doctest.h>

#include <contra/tasks/evaluate.hpp>
#include <contra/tasks/fashion_mnist.hpp>

#include "../support/skip.hpp"
#include "../support/zero_shot_setup.hpp"

using namespace contra;

TEST_CASE("a 2-epoch run on 8,192 Fashion-MNIST pairs classifies zero-shot far above chance") {
    if (!data::fashion_mnist_available()) {
        test::skip("Fashion-MNIST not found in /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)");
        return;
    }
    const auto train_split = data::load_fashion_mnist(data::Split::train);
    const auto test_split = data::load_fashion_mnist(data::Split::test);

    const auto setup = test::zero_shot_setup(tasks::fashion_mnist_corpus(), {data::kFashionMnistClasses.begin(), data::kFashionMnistClasses.end()},
                                             {data::kEvalTemplates.begin(), data::kEvalTemplates.end()}, "fmnist");
    const auto& [names, templates, encoder, config] = setup;
    model::OpenAiClip<float, cpu> model(config, 0);
    auto optimizer = test::adamw_for(model);

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
