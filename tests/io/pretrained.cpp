// Pretrained weights in the OpenAI/open_clip and Hugging Face layouts: the architecture read from
// the file, the tiny CLIP loaded from an HF folder (tests/golden/make_hf_golden.py) reproducing
// the PyTorch golden outputs and gradients, exports read back exactly, and every mismatch named.
#include <doctest/doctest.h>

#include <contra/io/export.hpp>
#include <contra/io/pretrained.hpp>
#include <contra/nn/nn.hpp>
#include <filesystem>

#include "../support/compare.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {
using Model = model::OpenAiClip<double, cpu>;

const io::SafetensorsFile& golden() {
    static const auto file = io::SafetensorsFile::read(CONTRA_SOURCE_DIR "/tests/golden/tiny_clip.safetensors");
    return file;
}
const fs::path kHfFolder = CONTRA_SOURCE_DIR "/tests/golden/tiny_clip_hf";

fs::path scratch(const std::string& name) {
    const auto dir = fs::temp_directory_path() / ("contra_pretrained_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

// The golden parameters written as an OpenAI-layout file, optionally with a "module." prefix and
// with changes: drop `without`, add `extra`, or store everything as float32 or bfloat16.
enum class Stored { f64, f32, bf16 };
fs::path write_openai_file(const std::string& file, const std::string& prefix = "", const std::string& without = "",
                           const std::string& extra = "", Stored stored = Stored::f64) {
    io::SafetensorsWriter out;
    for (const auto& name : golden().names()) {
        if (name.rfind("params/", 0) != 0 || name == "params/" + without) continue;
        const auto t = golden().get<double>(name);
        if (stored == Stored::f32) out.add(prefix + name.substr(7), cast<float>(t));
        if (stored == Stored::bf16) out.add(prefix + name.substr(7), cast<bf16>(t));
        if (stored == Stored::f64) out.add(prefix + name.substr(7), t);
    }
    if (!extra.empty()) out.add(extra, Tensor<double, cpu>::zeros(Shape{2}));
    out.write(scratch(file));
    return scratch(file);
}

void check_close(const std::string& what, const Tensor<double, cpu>& actual, const Tensor<double, cpu>& expected,
                 double tol) {
    REQUIRE_MESSAGE(actual.shape() == expected.shape(), what, ": ", actual.shape(), " vs ", expected.shape());
    INFO(what);
    CHECK(test::max_abs_diff(actual, expected) <= tol);
}

// logits, loss and (optionally) the gradient of every parameter match the PyTorch golden.
void check_golden_outputs(Model& model) {
    const auto images = golden().get<double>("batch/images");
    const auto tokens = golden().get<std::int32_t>("batch/tokens");
    Tape tape;
    Tape::Active recording(tape);
    model.zero_grad();
    const auto image = model.encode_image(images), text = model.encode_text(tokens);
    const auto loss = model.loss_fn(image, text);
    check_close("logits", model.loss_fn.logits(image, text).value(), golden().get<double>("out/logits_per_image"), 1e-10);
    check_close("loss", loss.value().reshape(Shape{}), golden().get<double>("out/loss"), 1e-10);
    backward(loss);
    for_each_parameter(model, [&](const std::string& name, Parameter<double, cpu>& p) {
        check_close("gradient of " + name, p.grad().reshape(golden().info("grad/" + name).shape),
                    golden().get<double>("grad/" + name), 1e-10);
    });
}
}  // namespace

TEST_CASE("pretrained: an HF CLIPModel folder, read and loaded, reproduces PyTorch") {
    const auto p = io::describe_pretrained(kHfFolder);
    CHECK(p.layout == io::WeightLayout::hf);
    CHECK(p.activation == ops::Activation::quick_gelu);
    const auto tiny = model::preset("tiny");
    CHECK(io::to_json(p.config).at("vision") == io::to_json(tiny).at("vision"));
    CHECK(io::to_json(p.config).at("text") == io::to_json(tiny).at("text"));
    CHECK(p.config.embed_dim == tiny.embed_dim);
    Model model(p.config, /*seed=*/99);
    io::load_pretrained(p, model);
    check_golden_outputs(model);

    SUBCASE("gradients in HF names are the golden gradients in HF names") {
        const auto images = golden().get<double>("batch/images");
        const auto tokens = golden().get<std::int32_t>("batch/tokens");
        Tape tape;
        Tape::Active recording(tape);
        model.zero_grad();
        backward(model.loss(images, tokens));
        const auto grads = io::layout_tensors(model, io::WeightLayout::hf, [](auto& q) { return q.grad(); });
        const auto expected = io::SafetensorsFile::read(CONTRA_SOURCE_DIR "/tests/golden/tiny_clip_hf_grads.safetensors");
        CHECK(grads.size() == expected.names().size());
        for (const auto& [name, g] : grads) {
            REQUIRE_MESSAGE(expected.contains(name), name, " is not an HF name of the golden file");
            check_close("HF gradient " + name, g, expected.get<double>(name), 1e-10);
        }
    }
}

TEST_CASE("pretrained: the OpenAI layout, with and without module., in float32, architecture from shapes") {
    const auto plain = write_openai_file("openai.safetensors");
    // Nothing beside the file says its heads or activation: describe_pretrained names the options.
    CHECK_THROWS_WITH_AS(io::describe_pretrained(plain),
                         doctest::Contains("pass --activation quick_gelu|gelu (quick_gelu for OpenAI's own models"), Error);
    CHECK_THROWS_WITH_AS(io::describe_pretrained(plain), doctest::Contains("--vision-heads N --text-heads N"), Error);
    io::PretrainedOptions heads;
    heads.vision_heads = 2;
    heads.text_heads = 3;
    CHECK_THROWS_WITH_AS(io::describe_pretrained(plain, heads), doctest::Contains("or pass --activation"), Error);
    heads.activation = ops::Activation::quick_gelu;
    for (const auto& file : {plain, write_openai_file("module.safetensors", "module.")}) {
        const auto p = io::describe_pretrained(file, heads);
        CHECK(p.layout == io::WeightLayout::openai);
        CHECK(io::to_json(p.config).at("vision") == io::to_json(model::preset("tiny")).at("vision"));
        CHECK(io::to_json(p.config).at("text") == io::to_json(model::preset("tiny")).at("text"));
        Model model(p.config, 5);
        io::load_pretrained(p, model);
        check_golden_outputs(model);
    }
    // float32 and bfloat16 storage is cast: the outputs agree to the stored precision only.
    for (const auto& [stored, tolerance] : {std::pair{Stored::f32, 1e-4}, std::pair{Stored::bf16, 0.5}}) {
        const auto p = io::describe_pretrained(write_openai_file("narrow.safetensors", "", "", "", stored), heads);
        Model model(p.config, 5);
        io::load_pretrained(p, model);
        const auto logits = model.logits(golden().get<double>("batch/images"), golden().get<std::int32_t>("batch/tokens"));
        const double diff = test::max_abs_diff(logits.value(), golden().get<double>("out/logits_per_image"));
        CHECK(diff < tolerance);
        CHECK(diff > 0);  // really went through the narrower type
        double param_diff = 0;  // and each parameter is the stored value exactly
        for_each_parameter(model, [&](const std::string& name, Parameter<double, cpu>& q) {
            const auto g = golden().get<double>("params/" + name);
            for (std::int64_t i = 0; i < g.numel(); ++i)
                param_diff = std::max(param_diff, std::abs(q.value()[i] - (stored == Stored::f32 ? double(float(g[i])) : double(bf16(g[i])))));
        });
        CHECK(param_diff == 0);
    }
}

TEST_CASE("pretrained: every mismatch is named") {
    io::PretrainedOptions heads;
    heads.vision_heads = 2;
    heads.text_heads = 3;
    heads.activation = ops::Activation::quick_gelu;
    Model model(model::preset("tiny"), 0);
    const auto missing = io::describe_pretrained(write_openai_file("missing.safetensors", "", "ln_final.bias"), heads);
    CHECK_THROWS_WITH_AS(io::load_pretrained(missing, model), doctest::Contains("1 missing: ln_final.bias"), Error);
    const auto extra = io::describe_pretrained(write_openai_file("extra.safetensors", "", "", "visual.bonus"), heads);
    CHECK_THROWS_WITH_AS(io::load_pretrained(extra, model), doctest::Contains("1 not in the model: visual.bonus"), Error);
    model::ClipConfig wider = model::preset("tiny");
    wider.vision.mlp_width = 64;
    model::OpenAiClip<double, cpu> other(wider, 0);
    const auto right = io::describe_pretrained(write_openai_file("right.safetensors"), heads);
    CHECK_THROWS_WITH_AS(io::load_pretrained(right, other), doctest::Contains("misshapen: visual.transformer.resblocks.0.mlp.c_fc.weight"),
                         Error);

    CHECK_THROWS_WITH_AS(io::describe_pretrained(scratch("absent.safetensors")), doctest::Contains("no such file"), Error);
    fs::create_directories(scratch("empty_folder"));
    CHECK_THROWS_WITH_AS(io::describe_pretrained(scratch("empty_folder")), doctest::Contains("config.json"), Error);
    io::SafetensorsWriter resnet;
    resnet.add("visual.layer1.0.conv1.weight", Tensor<float, cpu>::zeros(Shape{4, 4, 1, 1}));
    resnet.write(scratch("rn.safetensors"));
    CHECK_THROWS_WITH_AS(io::describe_pretrained(scratch("rn.safetensors")), doctest::Contains("token_embedding.weight is missing"), Error);
    io::SafetensorsWriter unrelated;
    unrelated.add("encoder.weight", Tensor<float, cpu>::zeros(Shape{4}));
    unrelated.write(scratch("unrelated.safetensors"));
    CHECK_THROWS_WITH_AS(io::describe_pretrained(scratch("unrelated.safetensors")),
                         doctest::Contains("token_embedding.weight is missing"), Error);
}

TEST_CASE("pretrained: HF config.json problems are named") {
    const auto folder = scratch("hf_bad");
    fs::create_directories(folder);
    fs::copy_file(kHfFolder / "model.safetensors", folder / "model.safetensors", fs::copy_options::overwrite_existing);
    const auto config_with = [&](const std::string& text) {
        std::ofstream(folder / "config.json") << text;
        return folder;
    };
    CHECK_THROWS_WITH_AS(io::describe_pretrained(config_with("{ not json")), doctest::Contains("not valid JSON"), Error);
    CHECK_THROWS_WITH_AS(io::describe_pretrained(config_with(R"({"text_config": {"hidden_act": "swish"}})")),
                         doctest::Contains("different activations"), Error);
    CHECK_THROWS_WITH_AS(
        io::describe_pretrained(config_with(R"({"text_config": {"eos_token_id": 7, "vocab_size": 24}})")),
        doctest::Contains("eos_token_id 7"), Error);
    CHECK_THROWS_WITH_AS(io::describe_pretrained(config_with(R"({"vision_config": {"intermediate_size": 0}})")),
                         doctest::Contains("intermediate_size must be positive"), Error);
    CHECK_THROWS_WITH_AS(io::describe_pretrained(config_with(R"({"text_config": {"hidden_size": 512, "num_attention_heads": 7}})")),
                         doctest::Contains("num_attention_heads must divide hidden_size"), Error);
    // A config that disagrees with the tensors: loading names the tensors.
    const auto p = io::describe_pretrained(config_with(R"({"projection_dim": 8})"));  // HF defaults: ViT-B/32 sizes
    Model model(model::preset("tiny"), 0);
    model::OpenAiClip<float, cpu> big(p.config, 0);
    CHECK_THROWS_WITH_AS(io::load_pretrained(p, big), doctest::Contains("missing: vision_model.encoder.layers.2"), Error);
}

TEST_CASE("export: HF folder and open_clip file read back exactly, with heads and activation") {
    model::ClipConfig config = model::preset("tiny");
    config.name = "exported";
    Model model(config, 7);
    io::save_hf(model, config, ops::Activation::quick_gelu, scratch("hf_out"));
    io::save_open_clip(model, config, ops::Activation::gelu, scratch("open_clip.safetensors"));
    for (const auto& path : {scratch("hf_out"), scratch("open_clip.safetensors")}) {
        const auto p = io::describe_pretrained(path);
        CHECK(io::to_json(p.config).at("vision") == io::to_json(config).at("vision"));
        CHECK(io::to_json(p.config).at("text") == io::to_json(config).at("text"));
        CHECK(p.activation == (path == scratch("hf_out") ? ops::Activation::quick_gelu : ops::Activation::gelu));
        Model back(p.config, 8);
        io::load_pretrained(p, back);
        std::vector<double> a, b;
        for_each_parameter(model, [&](const std::string&, Parameter<double, cpu>& q) { a.insert(a.end(), q.value().data(), q.value().data() + q.numel()); });
        for_each_parameter(back, [&](const std::string&, Parameter<double, cpu>& q) { b.insert(b.end(), q.value().data(), q.value().data() + q.numel()); });
        CHECK(a == b);
    }
    // The exported HF folder has HF's names and shapes.
    const auto weights = io::SafetensorsFile::read(scratch("hf_out") / "model.safetensors");
    CHECK(weights.info("visual_projection.weight").shape == Shape{8, 16});
    CHECK(weights.info("text_model.encoder.layers.1.self_attn.v_proj.bias").shape == Shape{12});
    CHECK(weights.info("logit_scale").shape == Shape{});
    CHECK(!weights.contains("visual.proj"));
    fs::remove_all(scratch("").parent_path());
}

TEST_CASE("pretrained: a ResNet CLIP (running statistics included) in the open_clip layout, read back") {
    model::ClipConfig config = model::preset("tiny");
    nn::ResNetConfig resnet;
    resnet.image_size = 32;
    resnet.width = 8;
    resnet.heads = 2;  // not OpenAI's width·32/64 rule: the file's metadata must carry it
    resnet.layers = {1, 2, 1, 1};
    using RnModel = model::OpenAiResNetClip<double, cpu>;
    RnModel model(config, resnet, 4);
    const auto images = test::random_tensor(Shape{3, 3, 32, 32}, 11);
    const auto tokens = golden().get<std::int32_t>("batch/tokens");
    {
        Tape tape;
        Tape::Active recording(tape);
        (void)model.encode_image(images);  // training mode: moves the running statistics off their start
    }
    model.visual.eval();
    io::save_open_clip(model, config, ops::Activation::quick_gelu, scratch("rn_open_clip.safetensors"));
    CHECK_THROWS_WITH_AS(io::save_hf(model, config, ops::Activation::quick_gelu, scratch("rn_hf")),
                         doctest::Contains("no ResNet image tower"), Error);

    const auto p = io::describe_pretrained(scratch("rn_open_clip.safetensors"));
    REQUIRE(p.resnet.has_value());
    CHECK(p.resnet->layers == resnet.layers);
    CHECK(p.resnet->width == 8);
    CHECK(p.resnet->image_size == 32);
    CHECK(p.config.vision.image_size == 32);  // what zeroshot, index and search preprocess images to
    CHECK(p.config.vision.channels == 3);
    CHECK(p.resnet->heads == 2);
    RnModel back(p.config, *p.resnet, 9);
    io::load_pretrained(p, back);
    back.visual.eval();
    const auto expected = model.logits(images, tokens).value(), actual = back.logits(images, tokens).value();
    CHECK(test::max_abs_diff(actual, expected) == 0);
    double stats = 0;
    back.visit_buffers([&](const std::string& name, Tensor<double, cpu>& t) {
        if (name.ends_with("running_var")) for (std::int64_t i = 0; i < t.numel(); ++i) stats += std::abs(t[i] - 1);
    });
    CHECK(stats > 0);  // the moved statistics, not the initial ones

    // A file without its running statistics is missing them by name.
    io::SafetensorsWriter partial;
    const auto file = io::SafetensorsFile::read(scratch("rn_open_clip.safetensors"));
    for (const auto& name : file.names())
        if (name != "visual.layer2.1.bn2.running_mean") partial.add(name, file.get<double>(name));
    for (const auto& [key, value] : file.metadata()) partial.set_metadata(key, value);
    partial.write(scratch("rn_partial.safetensors"));
    RnModel other(p.config, *p.resnet, 9);
    CHECK_THROWS_WITH_AS(io::load_pretrained(io::describe_pretrained(scratch("rn_partial.safetensors")), other),
                         doctest::Contains("1 missing: visual.layer2.1.bn2.running_mean"), Error);
}

TEST_CASE("checkpoint: a ResNet CLIP's running statistics are saved and restored with its weights") {
    model::ClipConfig config = model::preset("tiny");
    nn::ResNetConfig resnet;
    resnet.image_size = 32;
    resnet.width = 8;
    resnet.heads = 2;
    resnet.layers = {1, 1, 1, 1};
    using RnModel = model::OpenAiResNetClip<double, cpu>;
    RnModel model(config, resnet, 4);
    {
        Tape tape;
        Tape::Active recording(tape);
        (void)model.encode_image(test::random_tensor(Shape{2, 3, 32, 32}, 5));  // moves the running statistics
    }
    optim::AdamW<double, cpu> optimizer(model);
    io::save_checkpoint(scratch("rn_checkpoint.safetensors"), model, optimizer, {});
    RnModel back(config, resnet, 8);
    io::load_checkpoint(scratch("rn_checkpoint.safetensors"), back);
    std::vector<double> a, b;
    model.visit_buffers([&](const std::string&, Tensor<double, cpu>& t) { a.insert(a.end(), t.data(), t.data() + t.numel()); });
    back.visit_buffers([&](const std::string&, Tensor<double, cpu>& t) { b.insert(b.end(), t.data(), t.data() + t.numel()); });
    REQUIRE(!a.empty());
    CHECK(a == b);
    CHECK(std::any_of(a.begin(), a.end(), [](double v) { return v != 0.0 && v != 1.0; }));  // not the initial values
    fs::remove_all(scratch("").parent_path());
}
