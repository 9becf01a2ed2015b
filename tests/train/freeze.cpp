// Locked towers (LiT): freeze() on a tower keeps its weights bit-identical through training, the
// tower records nothing on the tape, and AdamW keeps no state for it; unfreeze() trains it again.
#include <doctest/doctest.h>

#include <contra/model/model.hpp>
#include <contra/optim/adamw.hpp>
#include <contra/train/trainer.hpp>

#include <cmath>

#include "../support/compare.hpp"

using namespace contra;

namespace freeze_test {

using Model = model::OpenAiClip<double, cpu>;

// A fixed batch of images and captions of the tiny preset.
struct Batch {
    Tensor<double, cpu> images = test::random_tensor(Shape{4, 3, 8, 8}, 3);
    Tensor<ops::Index, cpu> tokens = Tensor<ops::Index, cpu>::from(Shape{4, 3}, {22, 5, 23, 22, 7, 23, 22, 9, 23, 22, 11, 23});
};

std::vector<double> values_of(Model& m, const std::string& prefix) {
    std::vector<double> out;
    for_each_parameter(m, [&](const std::string& name, Parameter<double, cpu>& p) {
        if (name.rfind(prefix, 0) == 0) out.insert(out.end(), p.value().data(), p.value().data() + p.numel());
    });
    return out;
}

// Runs `steps` AdamW steps on the batch; returns the tape's node count of the last step.
std::size_t train(Model& model, optim::AdamW<double, cpu>& optimizer, int steps) {
    const Batch b;
    std::size_t nodes = 0;
    for (int i = 0; i < steps; ++i) {
        Tape tape;
        Tape::Active on(tape);
        const auto loss = model.loss(b.images, b.tokens);
        nodes = tape.size();
        backward(loss);
        optimizer.step(1e-2);
        optimizer.zero_grad();
    }
    return nodes;
}

TEST_CASE("freeze: a locked image tower stays bit-identical, records no tape and has no AdamW state") {
    Model open(model::preset("tiny"), 1), locked(model::preset("tiny"), 1);
    freeze(locked.visual);
    optim::AdamW<double, cpu> open_optimizer(open), locked_optimizer(locked);
    int open_states = 0, locked_states = 0;
    open_optimizer.visit_state([&](const std::string&, auto&) { ++open_states; });
    locked_optimizer.visit_state([&](const std::string& name, auto&) {
        ++locked_states;
        CHECK(name.find("visual.") == std::string::npos);
    });
    CHECK(locked_states < open_states);

    const auto image_before = values_of(locked, "visual."), text_before = values_of(locked, "transformer.");
    const std::size_t open_nodes = train(open, open_optimizer, 3), locked_nodes = train(locked, locked_optimizer, 3);
    CHECK(values_of(locked, "visual.") == image_before);  // bit-identical: no update, no weight decay
    CHECK(values_of(locked, "transformer.") != text_before);
    CHECK(locked_nodes < open_nodes);                     // the image tower recorded nothing
    for_each_parameter(locked.visual, [](const std::string& name, Parameter<double, cpu>& p) {
        CAPTURE(name);
        CHECK(p.frozen());
        CHECK(!p.has_grad());
    });

    // The text tower's gradients are the same as with the image tower trainable.
    Model a(model::preset("tiny"), 2), c(model::preset("tiny"), 2);
    freeze(c.visual);
    const Batch b;
    for (auto* m : {&a, &c}) {
        Tape tape;
        Tape::Active on(tape);
        backward(m->loss(b.images, b.tokens));
    }
    for_each_parameter(a.text, [&](const std::string& name, Parameter<double, cpu>& p) {
        std::vector<double> other;
        for_each_parameter(c.text, [&](const std::string& n, Parameter<double, cpu>& q) {
            if (n == name) other.assign(q.grad().data(), q.grad().data() + q.numel());
        });
        CAPTURE(name);
        CHECK(std::vector<double>(p.grad().data(), p.grad().data() + p.numel()) == other);
    });

    // unfreeze(): trained again, its AdamW moments made when its first gradient arrives.
    unfreeze(locked.visual);
    train(locked, locked_optimizer, 1);
    CHECK(values_of(locked, "visual.") != image_before);
    int states_after = 0;
    locked_optimizer.visit_state([&](const std::string&, auto&) { ++states_after; });
    CHECK(states_after == open_states);
}

// Eight fixed pairs of the tiny preset, for train::fit.
struct TinyPairs {
    std::int64_t size() const { return 8; }
    train::PairBatch batch(std::span<const std::int64_t> indices, std::int64_t) const {
        const auto n = std::int64_t(indices.size());
        train::PairBatch b{Tensor<float, cpu>::empty(Shape{n, 3, 8, 8}), Tensor<ops::Index, cpu>::empty(Shape{n, 3})};
        for (std::int64_t i = 0; i < n; ++i) {
            const auto k = indices[std::size_t(i)];
            for (std::int64_t j = 0; j < 3 * 64; ++j) b.images[i * 3 * 64 + j] = float(std::sin(double(k * 191 + j)));
            b.tokens[i * 3] = 22, b.tokens[i * 3 + 1] = ops::Index(k), b.tokens[i * 3 + 2] = 23;
        }
        return b;
    }
};

TEST_CASE("freeze: train::fit with a locked text tower (clipping, weight decay) leaves it bit-identical") {
    Model model(model::preset("tiny"), 4);
    freeze(model.text);
    optim::AdamW<double, cpu> optimizer(model);
    const auto text_before = values_of(model, "transformer."), image_before = values_of(model, "visual.");
    train::Options options;
    options.batch_size = 4;
    options.epochs = 3;
    options.warmup_steps = 1;
    const auto state = train::fit(model, optimizer, TinyPairs{}, options, train::Hooks{});
    CHECK(state.step == 6);
    CHECK(values_of(model, "transformer.") == text_before);
    CHECK(values_of(model, "visual.") != image_before);
    CHECK(model.text.token_embedding.weight.frozen());
}

TEST_CASE("freeze: the lines docs/variants.md quotes") {
    const model::ClipConfig config = model::preset("tiny");
    model::OpenAiClip<float, cpu> model(config, /*seed=*/0);
    freeze(model.visual);                                   // LiT: train the text tower only
    unfreeze(model.visual.transformer.resblocks.back());    // ... or all but the last block
    optim::AdamW<float, cpu> optimizer(model);
    CHECK(model.visual.conv1.frozen());
    CHECK(!model.visual.transformer.resblocks.back().attn.in_proj_weight.frozen());
    CHECK(!model.text.text_projection.frozen());
    int frozen_states = 0;
    optimizer.visit_state([&](const std::string& name, auto&) { frozen_states += name.find("visual.conv1") != std::string::npos; });
    CHECK(frozen_states == 0);
}

}  // namespace freeze_test
