// Activation checkpointing: a tower that recomputes its blocks in backward gives the same
// gradients as one that keeps its activations, and holds less memory on the tape.
#include <doctest/doctest.h>

#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <map>

#include "../support/compare.hpp"

using namespace contra;

TEST_CASE("checkpointed transformer blocks: identical loss and gradients, less tape memory") {
    auto config = model::preset("tiny");
    config.vision.layers = 3;
    config.text.layers = 3;
    const auto images = test::random_tensor<double>(Shape{6, 3, 8, 8}, 1);
    auto tokens = Tensor<ops::Index>::zeros(Shape{6, 6});
    for (std::int64_t i = 0; i < 6; ++i) {
        tokens[i * 6] = 21;
        tokens[i * 6 + 1] = ops::Index(1 + i);
        tokens[i * 6 + 2] = 23;
    }
    auto run = [&](bool image_tower, bool text_tower, std::size_t* peak) {
        model::OpenAiClip<double, cpu> model(config, 4);
        model.visual.transformer.checkpointing = image_tower;
        model.text.transformer.checkpointing = text_tower;
        Tape tape;
        Tape::Active on(tape);
        const auto loss = model.loss(images, tokens);
        backward(loss);
        *peak = tape.host_peak_bytes();
        std::map<std::string, Tensor<double>> grads;
        model.visit_parameters([&](const std::string& name, Parameter<double, cpu>& p) { grads[name] = p.grad().clone(); });
        grads["loss"] = loss.value().clone();
        return grads;
    };
    std::size_t plain_peak = 0, image_peak = 0, both_peak = 0;
    const auto plain = run(false, false, &plain_peak);
    const auto image_only = run(true, false, &image_peak);
    const auto both = run(true, true, &both_peak);
    for (const auto& entry : plain) {
        const auto& [name, g] = entry;
        INFO(entry.first);
        CHECK_CLOSE(image_only.at(name), g, 1e-12, 1e-14);
        CHECK_CLOSE(both.at(name), g, 1e-12, 1e-14);
    }
    CHECK(image_peak < plain_peak);
    CHECK(both_peak < image_peak);
}

TEST_CASE("checkpointing changes nothing without a tape (evaluation)") {
    model::OpenAiClip<double, cpu> a(model::preset("tiny"), 2), b(model::preset("tiny"), 2);
    b.visual.transformer.checkpointing = true;
    const auto images = test::random_tensor<double>(Shape{2, 3, 8, 8}, 3);
    NoGrad off;
    CHECK(test::max_abs_diff(a.encode_image(images).value(), b.encode_image(images).value()) == 0.0);
}
