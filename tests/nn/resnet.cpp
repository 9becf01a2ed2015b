// The ModifiedResNet tower: an ImageTower that composes into Clip; gradchecked in float64 with
// respect to every parameter, with batch statistics and with running statistics; the OpenAI
// initialisation (bn3.weight = 0: every block starts as its shortcut).
#include <doctest/doctest.h>

#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>

#include "../support/compare.hpp"

using namespace contra;
using test::random_tensor;

static_assert(nn::ImageTower<nn::ModifiedResNet<float, cpu>>);
static_assert(nn::ImageTower<nn::ModifiedResNet<double, reference>>);

namespace {
// Image 32 (a 1×1 grid), width 4, stage 2 with a second block (no downsample), 2 heads.
nn::ResNetConfig small() { return nn::ResNetConfig{32, 3, 4, 2, {1, 2, 1, 1}}; }

// Random parameters at scales that keep activations near 1 in both modes (convolutions and
// projections ~ N(0, 1/fan_in), BatchNorm gains near 1), so that no ReLU input sits within the
// finite-difference step of its kink; running variances positive.
template <class B>
void randomize(nn::ModifiedResNet<double, B>& m, std::uint64_t seed) {
    m.visit_parameters([&](const std::string& name, Parameter<double, B>& p) {
        const Shape& s = p.shape();
        const bool gain = (name.find("bn") != std::string::npos || name.find("downsample.1") != std::string::npos) &&
                          name.ends_with("weight");
        const double fan_in = s.rank() >= 2 ? double(p.numel() / s[0]) : 1.0;
        init_normal(p, s.rank() >= 2 ? 1.0 / std::sqrt(fan_in) : 0.3, seed, name);
        if (gain) ops::affine(B{}, p.value(), 1.0, 1.0, p.value());
    }, "");
    m.visit_buffers([&](const std::string& name, TensorOn<double, B>& t) {
        auto host = random_tensor(t.shape(), seed + std::uint64_t(t.numel()), 0.3);
        if (name.ends_with("running_var"))
            for (std::int64_t i = 0; i < host.numel(); ++i) host[i] = 0.6 + std::abs(host[i]);
        copy(host, t);
    }, "");
}
}  // namespace

TEST_CASE_TEMPLATE("gradcheck: ModifiedResNet in training and in evaluation mode", B, reference, cpu) {
    nn::ModifiedResNet<double, B> tower(small(), 5);
    randomize(tower, 3);
    const auto images = to_device<device_of<B>>(random_tensor(Shape{3, 3, 32, 32}, 4));
    GradcheckOptions options;
    options.max_checks_per_input = 12;
    for (bool training : {true, false}) {
        tower.train(training);
        const auto report = gradcheck_module<B>(tower, [&](auto& m) { return m.encode(images); }, options);
        INFO(std::string(training ? "training: " : "evaluation: ") << report.detail);
        CHECK(report.ok);
    }
}

TEST_CASE("ModifiedResNet: initialisation, modes, shapes and errors") {
    nn::ModifiedResNet<double, cpu> tower(small(), 6);
    tower.initialize(1, "visual");
    CHECK(tower.output_dim() == 6);
    CHECK(tower.training());
    for (const auto& stage : tower.layers)
        for (const auto& block : stage) CHECK(to_device<cpu>(block.bn3.weight.value()).to_vector() == std::vector<double>(std::size_t(block.bn3.weight.numel()), 0.0));
    CHECK(tower.layers[1][0].has_downsample);
    CHECK(!tower.layers[1][1].has_downsample);
    CHECK(tower.layers[0][0].has_downsample);  // width 4 → 16 channels, stride 1
    CHECK(tower.layers[0][0].stride == 1);

    const auto images = random_tensor(Shape{2, 3, 32, 32}, 7);
    const auto before = tower.bn1.running_mean.clone();
    const auto trained = tower.encode(images);
    CHECK(trained.shape() == Shape{2, 6});
    CHECK(test::max_abs_diff(before, tower.bn1.running_mean) > 0);  // training mode moved the statistics
    tower.eval();
    const auto after = tower.bn1.running_mean.clone();
    const auto evaluated = tower.encode(images);
    CHECK(test::max_abs_diff(after, tower.bn1.running_mean) == 0);
    CHECK(test::max_abs_diff(trained.value(), evaluated.value()) > 0);

    CHECK_THROWS_WITH_AS(tower.encode(random_tensor(Shape{2, 3, 64, 64}, 8)), doctest::Contains("ModifiedResNet"), Error);
    CHECK_THROWS_AS((nn::ModifiedResNet<double, cpu>(nn::ResNetConfig{40, 3, 4, 2, {1, 1, 1, 1}}, 6)), Error);
}

TEST_CASE("a ResNet CLIP trains: AdamW lowers the loss of a fixed batch, the running statistics are not parameters") {
    model::OpenAiResNetClip<double, cpu> model(model::preset("tiny"), nn::ResNetConfig{64, 3, 4, 2, {1, 1, 1, 1}}, 11);
    const auto images = random_tensor(Shape{3, 3, 64, 64}, 9);
    const auto tokens = Tensor<ops::Index, cpu>::from(Shape{3, 4}, {23, 5, 1, 0, 3, 23, 0, 0, 7, 7, 9, 23});
    optim::AdamW<double, cpu> optimizer(model, optim::AdamWOptions{});
    std::vector<double> losses;
    for (int step = 0; step < 6; ++step) {
        Tape tape;
        Tape::Active recording(tape);
        optimizer.zero_grad();
        const auto loss = model.loss(images, tokens);
        losses.push_back(to_device<cpu>(loss.value())[0]);
        backward(loss);
        optim::clip_grad_norm(model, 1.0);
        optimizer.step(1e-3);
        model.clamp_parameters();
    }
    INFO(losses[0] << " → " << losses.back());
    CHECK(losses.back() < losses[0]);
}
