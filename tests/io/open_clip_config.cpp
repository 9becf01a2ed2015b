// open_clip checkpoints: the architecture that the tensor shapes cannot tell (activation, heads)
// read from the open_clip_config.json beside the weights, any MLP width and head width, and every
// file that would be read as something it is not refused by name.
#include <doctest/doctest.h>

#include <contra/io/export.hpp>
#include <contra/io/pretrained.hpp>
#include <contra/nn/nn.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../support/compare.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace open_clip_test {
using GeluModel = model::ClipWithActivation<nn::Gelu, double, cpu>;

const fs::path kGolden = CONTRA_SOURCE_DIR "/tests/golden/tiny_open_clip";

const io::SafetensorsFile& golden_io() {
    static const auto file = io::SafetensorsFile::read(CONTRA_SOURCE_DIR "/tests/golden/tiny_open_clip_io.safetensors");
    return file;
}

fs::path scratch(const std::string& name) {
    const auto dir = fs::temp_directory_path() / ("contra_open_clip_" + std::to_string(::getpid())) / name;
    fs::create_directories(dir);
    return dir;
}

nlohmann::json golden_config() {
    std::ifstream f(kGolden / "open_clip_config.json");
    return nlohmann::json::parse(f);
}

// The golden weights copied into their own folder beside `config` as open_clip_config.json.
fs::path golden_with_config(const std::string& folder, const nlohmann::json& config) {
    const auto dir = scratch(folder);
    fs::copy_file(kGolden / "open_clip_model.safetensors", dir / "open_clip_model.safetensors",
                  fs::copy_options::overwrite_existing);
    std::ofstream(dir / "open_clip_config.json") << config.dump(2);
    return dir / "open_clip_model.safetensors";
}

// Image and text features of the model on the golden batch match PyTorch's.
template <class Model>
void check_golden_features(const Model& model, double tolerance) {
    NoGrad no_grad;
    const auto image = model.encode_image(golden_io().get<double>("batch/images")).value();
    const auto text = model.encode_text(golden_io().get<std::int32_t>("batch/tokens")).value();
    CHECK(test::max_abs_diff(image, golden_io().get<double>("out/image_features")) <= tolerance);
    CHECK(test::max_abs_diff(text, golden_io().get<double>("out/text_features")) <= tolerance);
}

// An OpenAI-layout file with the real names and widths of a large model and zero-size tensors
// (its vocabulary cut to 10 rows), beside the given open_clip_config.json.
struct Skeleton {
    std::int64_t embed, image_width, image_layers, image_mlp, patch, text_width, text_layers, text_mlp;
};
fs::path write_skeleton(const std::string& folder, const Skeleton& s, const std::string& config_text) {
    using U8 = Tensor<std::uint8_t, cpu>;
    io::SafetensorsWriter w;
    w.add("token_embedding.weight", U8::zeros(Shape{10, s.text_width}));
    w.add("positional_embedding", U8::zeros(Shape{77, 0}));
    w.add("transformer.resblocks.0.mlp.c_fc.weight", U8::zeros(Shape{s.text_mlp, 0}));
    w.add("transformer.resblocks." + std::to_string(s.text_layers - 1) + ".ln_1.weight", U8::zeros(Shape{0}));
    w.add("text_projection", U8::zeros(Shape{0, s.embed}));
    w.add("visual.conv1.weight", U8::zeros(Shape{s.image_width, 3, s.patch, s.patch}));
    w.add("visual.positional_embedding", U8::zeros(Shape{(224 / s.patch) * (224 / s.patch) + 1, 0}));
    w.add("visual.transformer.resblocks.0.mlp.c_fc.weight", U8::zeros(Shape{s.image_mlp, 0}));
    w.add("visual.transformer.resblocks." + std::to_string(s.image_layers - 1) + ".ln_1.weight", U8::zeros(Shape{0}));
    const auto dir = scratch(folder);
    w.write(dir / "open_clip_model.safetensors");
    std::ofstream(dir / "open_clip_config.json") << config_text;
    return dir / "open_clip_model.safetensors";
}

TEST_CASE("open_clip: GELU, MLP widths 66 and 70, 8-wide heads, read from open_clip_config.json, reproduce PyTorch") {
    for (const auto& path : {kGolden / "open_clip_model.safetensors", kGolden}) {  // the file, or its folder
        const auto p = io::describe_pretrained(path);
        CHECK(p.layout == io::WeightLayout::openai);
        CHECK(p.activation == ops::Activation::gelu);  // quick_gelu absent: open_clip builds GELU
        CHECK(p.config.vision.heads == 3);             // width 24 / head_width 8
        CHECK(p.config.vision.mlp_hidden() == 66);     // int(24 · 2.75)
        CHECK(p.config.text.heads == 2);
        CHECK(p.config.text.mlp_hidden() == 70);       // int(20 · 3.5)
        GeluModel model(p.config, 1);
        io::load_pretrained(p, model);
        check_golden_features(model, 1e-10);
    }
}

TEST_CASE("open_clip: the same model through the Hugging Face layout and a contra export keeps every size") {
    const auto p = io::describe_pretrained(kGolden);
    GeluModel model(p.config, 1);
    io::load_pretrained(p, model);
    io::save_hf(model, p.config, p.activation, scratch("hf"));
    io::save_open_clip(model, p.config, p.activation, scratch("export") / "model.safetensors");
    for (const auto& path : {scratch("hf"), scratch("export") / "model.safetensors"}) {
        const auto back = io::describe_pretrained(path);
        CHECK(back.activation == ops::Activation::gelu);
        CHECK(io::to_json(back.config).at("vision") == io::to_json(p.config).at("vision"));
        CHECK(io::to_json(back.config).at("text") == io::to_json(p.config).at("text"));
        GeluModel loaded(back.config, 2);
        io::load_pretrained(back, loaded);
        check_golden_features(loaded, 1e-10);
    }
}

TEST_CASE("open_clip: ViT-H, ViT-g and ViT-bigG sizes are read, heads from head_width and any MLP ratio") {
    struct Case {
        const char* name;
        Skeleton sizes;
        const char* config;
        std::int64_t image_heads, text_heads;
    };
    const Case cases[] = {
        {"ViT-H-14", {1024, 1280, 32, 5120, 14, 1024, 24, 4096},
         R"({"model_cfg": {"embed_dim": 1024, "vision_cfg": {"image_size": 224, "layers": 32, "width": 1280, "head_width": 80,
             "patch_size": 14}, "text_cfg": {"context_length": 77, "vocab_size": 10, "width": 1024, "heads": 16, "layers": 24}}})",
         16, 16},
        {"ViT-g-14", {1024, 1408, 40, 6144, 14, 1024, 24, 4096},
         R"({"model_cfg": {"embed_dim": 1024, "vision_cfg": {"image_size": 224, "layers": 40, "width": 1408, "head_width": 88,
             "mlp_ratio": 4.3637, "patch_size": 14}, "text_cfg": {"context_length": 77, "vocab_size": 10, "width": 1024,
             "heads": 16, "layers": 24}}})",
         16, 16},
        {"ViT-bigG-14", {1280, 1664, 48, 8192, 14, 1280, 32, 5120},
         R"({"model_cfg": {"embed_dim": 1280, "vision_cfg": {"image_size": 224, "layers": 48, "width": 1664, "head_width": 104,
             "mlp_ratio": 4.9231, "patch_size": 14}, "text_cfg": {"context_length": 77, "vocab_size": 10, "width": 1280,
             "heads": 20, "layers": 32}}, "preprocess_cfg": {"mean": [0.5, 0.5, 0.5]}})",
         16, 20},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        const auto p = io::describe_pretrained(write_skeleton(c.name, c.sizes, c.config));
        CHECK(p.activation == ops::Activation::gelu);
        CHECK(p.config.vision.heads == c.image_heads);
        CHECK(p.config.vision.mlp_hidden() == c.sizes.image_mlp);
        CHECK(p.config.vision.layers == c.sizes.image_layers);
        CHECK(p.config.text.heads == c.text_heads);
        CHECK(p.config.text.mlp_hidden() == c.sizes.text_mlp);
        CHECK(p.config.embed_dim == c.sizes.embed);
    }
    // An OpenAI model as open_clip describes it (ViT-B-32-quickgelu): QuickGELU, 64-wide heads.
    const auto b32 = io::describe_pretrained(write_skeleton("ViT-B-32-quickgelu", {512, 768, 12, 3072, 32, 512, 12, 2048},
        R"({"model_cfg": {"embed_dim": 512, "quick_gelu": true, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768,
            "patch_size": 32}, "text_cfg": {"context_length": 77, "vocab_size": 10, "width": 512, "heads": 8, "layers": 12}}})"));
    CHECK(b32.activation == ops::Activation::quick_gelu);
    CHECK(b32.config.vision.heads == 12);
    CHECK(b32.config.text.heads == 8);
}

TEST_CASE("open_clip: a config that does not describe a model contra builds, or not these weights, is refused by name") {
    const auto refused = [](const std::string& folder, const std::function<void(nlohmann::json&)>& change, const std::string& message) {
        auto config = golden_config();
        change(config);
        const auto path = golden_with_config(folder, config);
        CHECK_THROWS_WITH_AS(io::describe_pretrained(path), doctest::Contains(message.c_str()), Error);
    };
    refused("ls", [](auto& c) { c["model_cfg"]["vision_cfg"]["ls_init_value"] = 1e-5; },
            "model_cfg.vision_cfg.ls_init_value = 1e-05: contra builds only null");
    refused("timm", [](auto& c) { c["model_cfg"]["vision_cfg"]["timm_model_name"] = "vit_base_patch16_224"; },
            "vision_cfg.timm_model_name = \"vit_base_patch16_224\"");
    refused("hf_text", [](auto& c) { c["model_cfg"]["text_cfg"]["hf_model_name"] = "xlm-roberta-base"; },
            "text_cfg.hf_model_name");
    refused("bidirectional", [](auto& c) { c["model_cfg"]["text_cfg"]["no_causal_mask"] = true; },
            "text_cfg.no_causal_mask = true");
    refused("eps", [](auto& c) { c["model_cfg"]["text_cfg"]["norm_kwargs"] = {{"eps", 1e-6}}; }, "text_cfg.norm_kwargs");
    refused("unknown", [](auto& c) { c["model_cfg"]["vision_cfg"]["rope"] = true; },
            "vision_cfg.rope is not a setting contra knows");
    refused("custom_text", [](auto& c) { c["model_cfg"]["custom_text"] = true; }, "model_cfg.custom_text = true");
    refused("quick", [](auto& c) { c["model_cfg"]["quick_gelu"] = "yes"; }, "quick_gelu must be true or false");
    refused("width", [](auto& c) { c["model_cfg"]["vision_cfg"]["width"] = 32; },
            "says the image width 32, the weights have 24");
    refused("ratio", [](auto& c) { c["model_cfg"]["text_cfg"]["mlp_ratio"] = 4.0; },
            "says the text MLP width 80, the weights have 70");
    refused("head_width", [](auto& c) { c["model_cfg"]["vision_cfg"]["head_width"] = 7; },
            "width 24 is not a multiple of head_width 7");
    refused("not_json", [](auto& c) { c = nlohmann::json::array(); }, "no \"model_cfg\" object");
    // Settings that leave the architecture alone are accepted.
    auto harmless = golden_config();
    harmless["model_cfg"]["vision_cfg"]["patch_dropout"] = 0.5;
    harmless["model_cfg"]["text_cfg"]["pool_type"] = "argmax";
    harmless["model_cfg"]["init_logit_scale"] = 2.3;
    CHECK(io::describe_pretrained(golden_with_config("harmless", harmless)).config.vision.heads == 3);

    // An option that contradicts the description is an error, one that agrees is accepted.
    io::PretrainedOptions quick;
    quick.activation = ops::Activation::quick_gelu;
    CHECK_THROWS_WITH_AS(io::describe_pretrained(kGolden, quick),
                         doctest::Contains("the activation quick_gelu contradicts"), Error);
    io::PretrainedOptions heads;
    heads.vision_heads = 3;
    heads.text_heads = 4;
    CHECK_THROWS_WITH_AS(io::describe_pretrained(kGolden, heads), doctest::Contains("text heads 4 contradicts"), Error);
    heads.text_heads = 2;
    CHECK(io::describe_pretrained(kGolden, heads).config.text.heads == 2);

    // Without the config, the same weights say nothing of their activation or heads: refused.
    const auto alone = scratch("alone") / "open_clip_model.safetensors";
    fs::copy_file(kGolden / "open_clip_model.safetensors", alone, fs::copy_options::overwrite_existing);
    CHECK_THROWS_WITH_AS(io::describe_pretrained(alone), doctest::Contains("--activation quick_gelu|gelu"), Error);
    fs::remove_all(scratch("").parent_path());
}

}  // namespace open_clip_test
