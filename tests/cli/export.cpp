// contra export: the golden HF model written as open_clip and read back to the same parameters;
// a contra checkpoint written as an HF folder that carries its tokenizer.
#include <doctest/doctest.h>
#include <unistd.h>

#include <contra/data/hf_tokenizer.hpp>
#include <contra/io/checkpoint.hpp>
#include <contra/io/config_json.hpp>
#include <contra/io/pretrained.hpp>
#include <contra/tasks/captions.hpp>
#include <filesystem>

#include "../../examples/contra/commands.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {
std::vector<double> parameters_of(const std::string& path) {
    const auto p = io::describe_pretrained(path);
    model::OpenAiClip<double, cpu> model(p.config, 1);
    io::load_pretrained(p, model);
    std::vector<double> out;
    for_each_parameter(model, [&](const std::string&, Parameter<double, cpu>& q) {
        out.insert(out.end(), q.value().data(), q.value().data() + q.numel());
    });
    return out;
}

// A fresh model of `config` saved as a contra checkpoint that carries its byte-level tokenizer.
std::string save_fresh_checkpoint(model::ClipConfig config, const fs::path& path) {
    const data::Tokenizer bytes_only;
    config.text.vocab_size = bytes_only.vocab_size();
    model::OpenAiClip<float, cpu> model(config, 3);
    optim::AdamW<float, cpu> optimizer(model);
    io::save_checkpoint(path, model, optimizer,
                        {{"config", io::to_json(config).dump()}, {"tokenizer_merges", tasks::merges_to_text(bytes_only)}});
    return path.string();
}
}  // namespace

TEST_CASE("contra export: HF → open_clip → the same parameters; a checkpoint → HF with its tokenizer") {
    const auto dir = fs::temp_directory_path() / ("contra_export_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    cli::ExportOptions o;
    o.model.path = CONTRA_SOURCE_DIR "/tests/golden/tiny_clip_hf";
    o.to = "open_clip";
    o.out = (dir / "tiny_open_clip.safetensors").string();
    cli::export_command(o);
    CHECK(io::describe_pretrained(o.out).layout == io::WeightLayout::openai);
    // contra computes in float here: the exported values are the float32 roundings of the golden's
    const auto golden = parameters_of(o.model.path), exported = parameters_of(o.out);
    REQUIRE(golden.size() == exported.size());
    for (std::size_t i = 0; i < golden.size(); ++i) CHECK(exported[i] == double(float(golden[i])));

    o.model.path = save_fresh_checkpoint(model::preset("tiny"), dir / "checkpoint.safetensors");
    o.to = "hf";
    o.out = (dir / "hf").string();
    cli::export_command(o);
    CHECK(io::describe_pretrained(dir / "hf").layout == io::WeightLayout::hf);
    CHECK(data::tokenizer_from_hf_folder(dir / "hf").vocab_size() == data::Tokenizer().vocab_size());
    CHECK(parameters_of((dir / "hf").string()) == parameters_of(o.model.path));

    // A model with the fmnist preset's convolution stem: HF has no place for it, open_clip has.
    o.model.path = save_fresh_checkpoint(model::preset("fmnist"), dir / "stem.safetensors");
    o.out = (dir / "stem_hf").string();
    CHECK_THROWS_WITH_AS(cli::export_command(o), doctest::Contains("convolution stem (visual.stem, as the fmnist preset)"), Error);
    o.to = "open_clip";
    o.out = (dir / "stem_open_clip.safetensors").string();
    cli::export_command(o);
    CHECK(io::describe_pretrained(o.out).config.vision.stem_channels == 16);
    fs::remove_all(dir);
}
