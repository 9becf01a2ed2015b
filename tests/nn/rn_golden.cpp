// The ModifiedResNet image tower against an independent PyTorch implementation of OpenAI's
// (tests/golden/make_rn_golden.py), under InfoNCE against fixed text embeddings: features and loss
// in evaluation mode (running statistics) and in training mode (batch statistics), every
// parameter gradient, and the running statistics after the training-mode step. float64, 1e-10.
#include <doctest/doctest.h>

#include <contra/io/safetensors.hpp>
#include <contra/nn/nn.hpp>
#include <map>

#include "../support/compare.hpp"

using namespace contra;

namespace {
const io::SafetensorsFile& tiny_rn_golden() {
    static const auto file = io::SafetensorsFile::read(CONTRA_SOURCE_DIR "/tests/golden/tiny_rn.safetensors");
    return file;
}
Tensor<double, cpu> stored(const std::string& key) { return tiny_rn_golden().get<double>(key, io::Convert::allow); }

// |actual − expected| ≤ tol·max(1, max|expected|) element-wise.
template <class D>
void check_matches(const std::string& what, const Tensor<double, D>& actual_any, const std::string& key, double tol) {
    const auto expected = stored(key);
    const auto actual = to_device<cpu>(actual_any);
    REQUIRE_MESSAGE(actual.numel() == expected.numel(), what, ": ", actual.shape(), " vs golden ", expected.shape());
    double scale = 1;
    for (std::int64_t i = 0; i < expected.numel(); ++i) scale = std::max(scale, std::abs(expected[i]));
    const double diff = test::max_abs_diff(actual, expected);
    INFO(what << ": max |contra − torch| = " << diff << " (scale " << scale << ")");
    CHECK(diff <= tol * scale);
}

// The sizes of make_rn_golden.py: layers (1,1,1,1), width 2, 2 heads, image 64, embedding 8.
nn::ResNetConfig tiny_resnet() { return nn::ResNetConfig{64, 3, 2, 2, {1, 1, 1, 1}}; }

template <class B>
void check_against_torch(double tol) {
    using D = device_of<B>;
    model::OpenAiResNetClip<double, B> model(model::preset("tiny"), tiny_resnet());  // the text tower is unused here
    std::size_t loaded = 0, in_file = 0, buffers = 0, buffers_in_file = 0;
    for_each_parameter(model, [&](const std::string& name, Parameter<double, B>& p) {
        if (name.rfind("visual.", 0) != 0 && name != "logit_scale") return;
        const auto value = stored("params/" + name);
        REQUIRE_MESSAGE(value.shape() == p.shape(), name, ": contra ", p.shape(), " vs torch ", value.shape());
        copy(value, p.value());
        ++loaded;
    });
    model.visit_buffers([&](const std::string& name, Tensor<double, D>& t) {
        const auto value = stored("buffers/" + name);
        REQUIRE_MESSAGE(value.shape() == t.shape(), name, ": contra ", t.shape(), " vs torch ", value.shape());
        copy(value, t);
        ++buffers;
    });
    for (const auto& n : tiny_rn_golden().names()) {
        in_file += n.rfind("params/", 0) == 0;
        buffers_in_file += n.rfind("buffers/", 0) == 0;
    }
    CHECK(loaded == in_file);  // the same parameter and buffer sets, by name
    CHECK(buffers == buffers_in_file);

    const auto images = to_device<D>(stored("batch/images"));
    const Var<double, B> text_features(to_device<D>(stored("batch/text_features")));
    {
        model.visual.eval();
        Tape tape;
        Tape::Active recording(tape);
        const auto features = model.encode_image(images);
        const auto loss = model.loss_fn(features, text_features);
        check_matches("eval: image features", features.value(), "eval/image_features", tol);
        check_matches("eval: loss", loss.value(), "eval/loss", tol);
        backward(loss);
        check_matches("eval: gradient of visual.conv1.weight", model.visual.conv1.weight.grad(),
                      "eval/grad/visual.conv1.weight", tol);
        model.visit_buffers([&](const std::string& name, Tensor<double, D>& t) {
            check_matches("eval leaves " + name + " alone", t, "buffers/" + name, 0.0);
        });
    }
    model.zero_grad();
    {
        model.visual.train();
        Tape tape;
        Tape::Active recording(tape);
        const auto features = model.encode_image(images);
        const auto loss = model.loss_fn(features, text_features);
        check_matches("train: image features", features.value(), "train/image_features", tol);
        check_matches("train: loss", loss.value(), "train/loss", tol);
        backward(loss);
        for_each_parameter(model, [&](const std::string& name, Parameter<double, B>& p) {
            if (name.rfind("visual.", 0) != 0 && name != "logit_scale") return;
            REQUIRE_MESSAGE(p.has_grad(), name, " received no gradient");
            check_matches("train: gradient of " + name, p.grad(), "train/grad/" + name, tol);
        });
        model.visit_buffers([&](const std::string& name, Tensor<double, D>& t) {
            check_matches("train: updated " + name, t, "train/buffers/" + name, tol);
        });
    }
}
}  // namespace

TEST_CASE_TEMPLATE("golden: the tiny ModifiedResNet matches PyTorch in float64, in eval and train mode", B, cpu,
                   reference) {
    check_against_torch<B>(1e-10);
}

TEST_CASE("golden: OpenAI's RN50 has the reference's 102,007,137 parameters, 38,316,896 in the image tower") {
    auto [config, resnet] = model::resnet_preset("RN50");
    model::OpenAiResNetClip<float, cpu> model(config, resnet, model::uninitialized);  // shapes and counts only
    CHECK(model.parameter_count() == tiny_rn_golden().get<std::int32_t>("count/rn50_total")[0]);
    std::int64_t visual = 0;
    model.visual.visit_parameters([&](const std::string&, auto& p) { visual += p.numel(); }, "visual");
    CHECK(visual == tiny_rn_golden().get<std::int32_t>("count/rn50_visual")[0]);
    CHECK(visual == 38316896);
    std::map<std::string, Shape> shapes;
    model.visit_parameters([&](const std::string& name, auto& p) { shapes[name] = p.shape(); });
    std::size_t buffers = 0;
    model.visit_buffers([&](const std::string& name, auto& t) {
        shapes[name] = t.shape();
        ++buffers;
    });
    CHECK(buffers == 110);                     // running_mean/var of 55 BatchNorms
    CHECK(shapes.size() + buffers / 2 == 489);  // the OpenAI state dict, with num_batches_tracked
    CHECK(shapes.at("visual.conv1.weight") == Shape{32, 3, 3, 3});
    CHECK(shapes.at("visual.conv3.weight") == Shape{64, 32, 3, 3});
    CHECK(shapes.at("visual.bn2.running_var") == Shape{32});
    CHECK(shapes.at("visual.layer1.0.downsample.0.weight") == Shape{256, 64, 1, 1});
    CHECK(shapes.at("visual.layer3.5.conv2.weight") == Shape{256, 256, 3, 3});
    CHECK(shapes.at("visual.layer4.0.downsample.1.running_mean") == Shape{2048});
    CHECK(shapes.count("visual.layer1.1.downsample.0.weight") == 0);
    CHECK(shapes.at("visual.attnpool.positional_embedding") == Shape{50, 2048});
    CHECK(shapes.at("visual.attnpool.q_proj.weight") == Shape{2048, 2048});
    CHECK(shapes.at("visual.attnpool.c_proj.weight") == Shape{1024, 2048});
    CHECK(shapes.at("visual.attnpool.c_proj.bias") == Shape{1024});
    CHECK(shapes.at("text_projection") == Shape{512, 1024});
    CHECK_THROWS_WITH_AS(model::resnet_preset("RN49"), doctest::Contains("RN50"), Error);
}
