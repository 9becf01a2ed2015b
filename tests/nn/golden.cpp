// The tiny CLIP against an independent PyTorch implementation of the OpenAI layout
// (tests/golden/make_golden.py): embeddings, logits, loss, every parameter gradient, and the
// losses and parameters of 5 AdamW steps with gradient clipping and the logit-scale clamp.
// float64 must match to 1e-10, float32 to 1e-4 (relative to each tensor's largest magnitude).
#include <doctest/doctest.h>

#include <contra/io/safetensors.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>

#include "../support/compare.hpp"

using namespace contra;

namespace {
const io::SafetensorsFile& tiny_clip_golden() {
    static const auto file = io::SafetensorsFile::read(CONTRA_SOURCE_DIR "/tests/golden/tiny_clip.safetensors");
    return file;
}

// |actual − expected| ≤ tol·max(1, max|expected|) element-wise; says where it fails.
template <class T, class D>
void check_matches(const std::string& what, const Tensor<T, D>& actual_any, const std::string& key, double tol) {
    const auto expected = tiny_clip_golden().get<double>(key);
    const auto actual = cast<double>(to_device<cpu>(actual_any));
    REQUIRE_MESSAGE(actual.numel() == expected.numel(), what, ": ", actual.shape(), " vs golden ", expected.shape());
    double scale = 1;
    for (std::int64_t i = 0; i < expected.numel(); ++i) scale = std::max(scale, std::abs(expected[i]));
    const double diff = test::max_abs_diff(actual, expected);
    INFO(what << ": max |contra − torch| = " << diff << " (scale " << scale << ")");
    CHECK(diff <= tol * scale);
}

template <class T, class B, class Impl>
void check_against_torch(double tol) {
    model::OpenAiClip<T, B, Impl> model(model::preset("tiny"));
    std::size_t loaded = 0;
    for_each_parameter(model, [&](const std::string& name, Parameter<T, B>& p) {
        const auto value = tiny_clip_golden().get<double>("params/" + name);
        REQUIRE_MESSAGE(value.shape() == p.shape(), name, ": contra ", p.shape(), " vs torch ", value.shape());
        copy(cast<T>(value), p.value());
        ++loaded;
    });
    std::size_t in_file = 0;
    for (const auto& n : tiny_clip_golden().names()) in_file += n.rfind("params/", 0) == 0;
    CHECK(loaded == in_file);  // the same parameter set, by name

    const auto images = to_device<device_of<B>>(cast<T>(tiny_clip_golden().get<double>("batch/images")));
    const auto tokens = tiny_clip_golden().get<std::int32_t>("batch/tokens");
    {
        Tape tape;
        Tape::Active recording(tape);
        const auto image_features = model.encode_image(images);
        const auto text_features = model.encode_text(tokens);
        const auto loss = model.loss_fn(image_features, text_features);
        check_matches("image features", image_features.value(), "out/image_features", tol);
        check_matches("text features", text_features.value(), "out/text_features", tol);
        check_matches("logits", model.loss_fn.logits(image_features, text_features).value(), "out/logits_per_image", tol);
        check_matches("loss", loss.value(), "out/loss", tol);
        backward(loss);
        for_each_parameter(model, [&](const std::string& name, Parameter<T, B>& p) {
            REQUIRE_MESSAGE(p.has_grad(), name, " received no gradient");
            check_matches("gradient of " + name, p.grad(), "grad/" + name, tol);
        });
    }

    // 5 AdamW steps (lr 1e-2, β (0.9, 0.98), eps 1e-6, wd 0.2 on decayed tensors), clip 1.0, clamp.
    optim::AdamW<T, B> optimizer(model, optim::AdamWOptions{0.9, 0.98, 1e-6, 0.2});
    auto losses = Tensor<double, cpu>::empty(Shape{5});
    for (int step = 0; step < 5; ++step) {
        Tape tape;
        Tape::Active recording(tape);
        optimizer.zero_grad();
        const auto loss = model.loss(images, tokens);
        losses[step] = double(to_device<cpu>(loss.value())[0]);
        backward(loss);
        optim::clip_grad_norm(model, 1.0);
        optimizer.step(1e-2);
        model.clamp_parameters();
    }
    check_matches("losses of 5 AdamW steps", losses, "adamw/losses", tol * 10);
    for_each_parameter(model, [&](const std::string& name, Parameter<T, B>& p) {
        check_matches("after 5 steps, " + name, p.value(), "adamw/final/" + name, tol * 10);
    });
}
}  // namespace

TEST_CASE_TEMPLATE("golden: the tiny CLIP matches PyTorch in float64 (fused and composite)", Impl, ad::Fused, ad::Composite) {
    check_against_torch<double, cpu, Impl>(1e-10);
    check_against_torch<double, reference, Impl>(1e-10);
}

TEST_CASE("golden: the tiny CLIP matches PyTorch in float32") {
    check_against_torch<float, cpu, ad::Fused>(1e-4);
}
