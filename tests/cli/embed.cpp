// contra embed and contra grad on the tiny CLIP in the HF layout: the files they write hold the
// PyTorch golden embeddings, logits, loss and gradients (HF names); bad inputs are one clear error.
#include <doctest/doctest.h>

#include <filesystem>

#include <contra/io/safetensors.hpp>

#include "../../examples/contra/commands.hpp"
#include "../support/compare.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {
const std::string kGolden = CONTRA_SOURCE_DIR "/tests/golden/";

Tensor<double, cpu> normalized_rows(const Tensor<double, cpu>& x) {
    auto out = x.clone();
    const std::int64_t cols = x.size(1);
    for (std::int64_t r = 0; r < x.size(0); ++r) {
        double norm = 0;
        for (std::int64_t c = 0; c < cols; ++c) norm += x[r * cols + c] * x[r * cols + c];
        for (std::int64_t c = 0; c < cols; ++c) out[r * cols + c] /= std::sqrt(norm);
    }
    return out;
}

cli::EmbedOptions options(const std::string& inputs, const fs::path& out) {
    cli::EmbedOptions o;
    o.model.path = kGolden + "tiny_clip_hf";
    o.inputs = inputs;
    o.out = out.string();
    o.dtype = "f64";
    return o;
}
}  // namespace

TEST_CASE("contra embed: normalised embeddings and logits of the golden batch") {
    const auto golden = io::SafetensorsFile::read(kGolden + "tiny_clip.safetensors");
    const fs::path out = fs::temp_directory_path() / ("contra_embed_" + std::to_string(::getpid()) + ".safetensors");
    cli::embed_command(options(kGolden + "tiny_clip_hf_inputs.safetensors", out), /*gradients=*/false);
    const auto result = io::SafetensorsFile::read(out);
    CHECK(test::max_abs_diff(result.get<double>("image_embeds"), normalized_rows(golden.get<double>("out/image_features"))) < 1e-12);
    CHECK(test::max_abs_diff(result.get<double>("text_embeds"), normalized_rows(golden.get<double>("out/text_features"))) < 1e-12);
    CHECK(test::max_abs_diff(result.get<double>("logits_per_image"), golden.get<double>("out/logits_per_image")) < 1e-10);
    fs::remove(out);
}

TEST_CASE("contra grad: the loss and every gradient under the HF names") {
    const auto golden = io::SafetensorsFile::read(kGolden + "tiny_clip.safetensors");
    const auto grads = io::SafetensorsFile::read(kGolden + "tiny_clip_hf_grads.safetensors");
    const fs::path out = fs::temp_directory_path() / ("contra_grad_" + std::to_string(::getpid()) + ".safetensors");
    cli::embed_command(options(kGolden + "tiny_clip_hf_inputs.safetensors", out), /*gradients=*/true);
    const auto result = io::SafetensorsFile::read(out);
    CHECK(std::abs(result.get<double>("loss")[0] - golden.get<double>("out/loss")[0]) < 1e-10);
    CHECK(result.names().size() == grads.names().size() + 1);
    for (const auto& name : grads.names()) {
        REQUIRE_MESSAGE(result.contains(name), name);
        CHECK_MESSAGE(result.info(name).shape == grads.info(name).shape, name);
        CHECK_MESSAGE(test::max_abs_diff(result.get<double>(name), grads.get<double>(name)) < 1e-10, name);
    }
    fs::remove(out);
}

TEST_CASE("contra embed: bad inputs are one clear error, and no output is written") {
    const auto dir = fs::temp_directory_path() / ("contra_embed_bad_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto write = [&](const std::string& name, auto&& fill) {
        io::SafetensorsWriter w;
        fill(w);
        w.write(dir / name);
        return (dir / name).string();
    };
    const auto wrong_size = write("wrong_size.safetensors", [](auto& w) { w.add("pixel_values", Tensor<float, cpu>::zeros(Shape{2, 3, 9, 9})); });
    CHECK_THROWS_WITH_AS(cli::embed_command(options(wrong_size, dir / "out.safetensors"), false),
                         doctest::Contains("takes [N, 3, 8, 8]"), Error);
    const auto nothing = write("nothing.safetensors", [](auto& w) { w.add("other", Tensor<float, cpu>::zeros(Shape{1})); });
    CHECK_THROWS_WITH_AS(cli::embed_command(options(nothing, dir / "out.safetensors"), false),
                         doctest::Contains("neither pixel_values nor input_ids"), Error);
    const auto bad_id = write("bad_id.safetensors", [](auto& w) {
        auto ids = Tensor<std::int64_t, cpu>::zeros(Shape{1, 3});
        ids[1] = 24;  // the vocabulary is 24 ids
        w.add("input_ids", ids);
    });
    CHECK_THROWS_WITH_AS(cli::embed_command(options(bad_id, dir / "out.safetensors"), false),
                         doctest::Contains("outside the vocabulary"), Error);
    const auto texts_only = write("texts_only.safetensors", [](auto& w) { w.add("input_ids", Tensor<std::int64_t, cpu>::zeros(Shape{1, 3})); });
    CHECK_THROWS_WITH_AS(cli::embed_command(options(texts_only, dir / "out.safetensors"), true),
                         doctest::Contains("needs both"), Error);
    CHECK(!fs::exists(dir / "out.safetensors"));
    fs::remove_all(dir);
}
