// Parameter counts and names of the presets equal the reference's.
#include <doctest/doctest.h>

#include <contra/nn/nn.hpp>
#include <map>

#include "../support/compare.hpp"

using namespace contra;

namespace {
// Counts without allocating: a ViT-L/14 in float would be 1.7 GB, so count a double-free shape walk.
template <class Model>
std::map<std::string, Shape> shapes_of(Model& m) {
    std::map<std::string, Shape> out;
    m.visit_parameters([&](const std::string& name, auto& p) { out[name] = p.shape(); });
    return out;
}
}  // namespace

TEST_CASE("ViT-B-32 has exactly the reference's 151,277,313 parameters, 87,849,216 in the image tower") {
    model::OpenAiClip<float, cpu> model(model::preset("ViT-B-32"), model::uninitialized);  // shapes and counts only
    CHECK(model.parameter_count() == 151277313);
    std::int64_t visual = 0;
    model.visual.visit_parameters([&](const std::string&, auto& p) { visual += p.numel(); }, "visual");
    CHECK(visual == 87849216);
    const auto shapes = shapes_of(model);
    CHECK(shapes.size() == 302);  // the OpenAI state dict's tensor count
    CHECK(shapes.at("visual.transformer.resblocks.3.attn.in_proj_weight") == Shape{2304, 768});
    CHECK(shapes.at("transformer.resblocks.11.mlp.c_fc.weight") == Shape{2048, 512});
    CHECK(shapes.at("token_embedding.weight") == Shape{49408, 512});
    CHECK(shapes.at("visual.conv1.weight") == Shape{768, 3, 32, 32});
    CHECK(shapes.at("visual.positional_embedding") == Shape{50, 768});
    CHECK(shapes.at("visual.proj") == Shape{768, 512});
    CHECK(shapes.at("text_projection") == Shape{512, 512});
    CHECK(shapes.at("logit_scale") == Shape{});
    CHECK(shapes.count("ln_final.bias") == 1);
}

TEST_CASE("unknown presets name the known ones") {
    CHECK_THROWS_WITH_AS(model::preset("ViT-X"), doctest::Contains("ViT-B-32"), Error);
}

TEST_CASE("counts from the sizes alone equal the built models and the reference's totals") {
    for (const char* name : {"tiny", "fmnist", "ViT-B-32"}) {
        model::OpenAiClip<float, cpu> model(model::preset(name), model::uninitialized);
        CHECK_MESSAGE(model::count_parameters(model::preset(name)).total() == model.parameter_count(), name);
    }
    const auto b32 = model::count_parameters(model::preset("ViT-B-32"));
    CHECK(b32.visual == 87849216);
    CHECK(b32.total() == 151277313);
    CHECK(model::count_parameters(model::preset("ViT-B-16")).total() == 149620737);  // OpenAI ViT-B/16
    CHECK(model::count_parameters(model::preset("ViT-L-14")).total() == 427616513);  // OpenAI ViT-L/14
    // ViT-B/32's image forward: the 4.4 G multiply-adds usually quoted, 2 FLOPs each.
    const auto flops = model::forward_flops(model::preset("ViT-B-32"));
    CHECK(flops.per_image == doctest::Approx(8.8e9).epsilon(0.02));
}

TEST_CASE("model::uninitialized builds the same model with every parameter 0, for weights loaded next") {
    const auto config = model::preset("tiny");
    model::OpenAiClip<float, cpu> drawn(config, 3), blank(config, model::uninitialized);
    CHECK(blank.parameter_count() == drawn.parameter_count());
    for_each_parameter(blank, [](const std::string& name, Parameter<float, cpu>& p) {
        CAPTURE(name);
        CHECK(test::max_abs_diff(p.value(), Tensor<float, cpu>::zeros(p.shape())) == 0.0);
    });
    copy_parameters(drawn, blank);
    CHECK(blank.scale() == drawn.scale());
}
