// Model configs to JSON and back (checkpoint metadata): every preset round-trips, and a ResNet
// tower's sizes too; a malformed ResNet config is one clear error naming what is wrong.
#include <doctest/doctest.h>

#include <contra/io/config_json.hpp>

using namespace contra;

TEST_CASE("ClipConfig and ResNetConfig round-trip through JSON") {
    for (const auto& name : model::preset_names()) {
        const auto c = model::preset(name);
        const auto back = io::config_from_json(nlohmann::json::parse(io::to_json(c).dump()));
        CHECK(io::to_json(back) == io::to_json(c));
    }
    for (const char* name : {"RN50", "RN101"}) {
        const auto r = model::resnet_preset(name).second;
        const auto back = io::resnet_config_from_json(nlohmann::json::parse(io::to_json(r).dump()));
        CHECK(back.layers == r.layers);
        CHECK(back.width == r.width);
        CHECK(back.heads == r.heads);
        CHECK(back.image_size == r.image_size);
        CHECK(back.channels == r.channels);
    }
    CHECK(io::to_json(model::resnet_preset("RN101").second)["layers"] == nlohmann::json::array({3, 4, 23, 3}));
}

TEST_CASE("a malformed ResNet config is a contra::Error naming the field") {
    const auto good = io::to_json(nn::ResNetConfig{});
    const auto with = [&](const char* key, nlohmann::json value) {
        auto j = good;
        j[key] = std::move(value);
        return j;
    };
    CHECK_THROWS_WITH_AS(io::resnet_config_from_json(with("layers", {3, 4, 6})), doctest::Contains("4 stage depths"), Error);
    CHECK_THROWS_WITH_AS(io::resnet_config_from_json(with("layers", {3, 0, 6, 3})), doctest::Contains("stage 2 has no blocks"), Error);
    CHECK_THROWS_WITH_AS(io::resnet_config_from_json(with("image_size", 100)), doctest::Contains("multiple of 32"), Error);
    CHECK_THROWS_WITH_AS(io::resnet_config_from_json(with("width", 1.5)), doctest::Contains("\"width\" must be an integer"), Error);
    CHECK_THROWS_WITH_AS(io::resnet_config_from_json(with("heads", 0)), doctest::Contains("heads and channels"), Error);
    auto missing = good;
    missing.erase("width");
    CHECK_THROWS_WITH_AS(io::resnet_config_from_json(missing), doctest::Contains("ResNet config"), Error);
}

TEST_CASE("MLP widths: written as mlp_width, read from files that still say mlp_ratio, and never zero") {
    auto j = io::to_json(model::preset("ViT-L-14"));
    CHECK(j["vision"]["mlp_width"] == 4096);
    j["vision"].erase("mlp_width");
    j["vision"]["mlp_ratio"] = 4;  // a checkpoint written before any MLP width was allowed
    CHECK(io::config_from_json(j).vision.mlp_hidden() == 4096);
    j["vision"]["mlp_width"] = 0;
    CHECK_THROWS_WITH_AS(io::config_from_json(j), doctest::Contains("the MLP width must be positive"), Error);
}
