// contra eval --model: a small checkpoint (with its own tokenizer) on an image folder, a CIFAR-10
// file and a caption table, through the command function: one results file in the documented
// layout (docs/evaluation.md), the numbers of the library's own calls, confusion SVGs beside it,
// the built-in class names and templates; the routes and bad input as clear errors.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>

#include <contra/io/checkpoint.hpp>
#include <contra/io/config_json.hpp>
#include <contra/tasks/benchmark.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../../examples/contra/commands.hpp"
#include "../support/temp_dir.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {
struct EvalFixture {
    test::TempDir dir{"eval_model"};
    model::ClipConfig config = model::preset("tiny");

    EvalFixture() {
        const data::Tokenizer bytes_only;  // 514 ids
        config.text.vocab_size = bytes_only.vocab_size();
        config.text.context_length = 32;
        model::OpenAiClip<float, cpu> model(config, 7);
        optim::AdamW<float, cpu> optimizer(model);
        fs::create_directories(dir / "model");
        io::save_checkpoint(dir / "model" / "checkpoint.safetensors", model, optimizer,
                            {{"config", io::to_json(config).dump()}, {"tokenizer_merges", tasks::merges_to_text(bytes_only)}});
        int n = 0;
        for (const char* cls : {"sea_water", "sand", "grass"})
            for (int i = 0; i < 2; ++i, ++n) write_png(dir / "folder" / cls / ("img" + std::to_string(i) + ".png"), 9 + n, 7 + 2 * n, n);
        // Four CIFAR-10 records, labels 0, 3, 9, 3.
        std::string cifar;
        for (int label : {0, 3, 9, 3}) {
            cifar.push_back(char(label));
            for (int p = 0; p < 3072; ++p) cifar.push_back(char((p * 5 + label * 40) % 256));
        }
        fs::create_directories(dir / "cifar");
        test::write_file(dir / "cifar" / "test_batch.bin", cifar);
        // Two images with two and one captions, semicolon-separated, other column names.
        test::write_file(dir / "captions.csv", "image;text\nfolder/sand/img0.png;a beach\nfolder/grass/img1.png;a lawn\n"
                                               "folder/sand/img0.png;sand dunes\n");
    }
    void write_png(const fs::path& path, int w, int h, int seed) const {
        std::vector<std::uint8_t> pixels;
        for (int i = 0; i < w * h * 3; ++i) pixels.push_back(std::uint8_t((seed * 71 + i * 13) % 256));
        fs::create_directories(path.parent_path());
        REQUIRE(stbi_write_png(path.c_str(), w, h, 3, pixels.data(), w * 3) != 0);
    }
    cli::EvalOptions options() const {
        cli::EvalOptions o;
        o.model = (dir / "model").string();
        o.out = (dir / "out" / "results.json").string();
        return o;
    }
    nlohmann::json results() const {
        std::ifstream in(dir / "out" / "results.json");
        return nlohmann::json::parse(in);
    }
};
}  // namespace

TEST_CASE("contra eval --model: one results file for a folder, CIFAR-10 and retrieval, as the library computes them") {
    const EvalFixture f;
    auto o = f.options();
    o.folder = (f.dir / "folder").string();
    o.cifar10 = (f.dir / "cifar").string();
    o.retrieval = (f.dir / "captions.csv").string();
    o.csv_img_key = "image";
    o.csv_caption_key = "text";
    o.csv_separator = ";";
    o.templates = "imagenet";
    o.batch = 4;
    cli::eval_command(o);
    const auto j = f.results();
    CHECK(j["model"] == o.model);
    REQUIRE(j["tasks"].size() == 3);

    // The same evaluations through the library, on the same model.
    model::OpenAiClip<float, cpu> model(f.config, 0);
    io::load_checkpoint(f.dir / "model" / "checkpoint.safetensors", model);
    const tasks::CaptionEncoder encoder(data::Tokenizer(), 32);
    const auto imagenet_templates = tasks::parse_templates(
        tasks::read_text_file(fs::path(CONTRA_SOURCE_DIR) / "data" / "zeroshot" / "imagenet_templates.txt"), "imagenet");

    const auto& folder = j["tasks"][0];
    CHECK(folder["task"] == "zero_shot");
    CHECK(folder["dataset"] == "folder");
    CHECK(folder["classes"] == 3);
    CHECK(folder["templates"] == 80);
    CHECK(folder["images"] == 6);
    CHECK(folder["classnames_source"] == "folder names");
    CHECK(folder["templates_source"] == "imagenet (built in)");
    const auto expected = tasks::zero_shot_folder(model, encoder, f.dir / "folder", {}, imagenet_templates);
    CHECK(folder["metrics"]["acc1"].get<double>() == doctest::Approx(expected.top1));
    CHECK(folder["metrics"]["mean_per_class_recall"].get<double>() == doctest::Approx(expected.mean_per_class_recall));
    CHECK(!folder["metrics"].contains("acc5"));  // 3 classes
    CHECK(folder["per_class"]["sea water"]["count"] == 2);
    CHECK(folder["per_class"]["sea water"]["accuracy"].get<double>() == doctest::Approx(expected.per_class[2].accuracy));  // grass, sand, sea_water
    CHECK(folder["skipped_images"].empty());
    CHECK(fs::exists(f.dir / "out" / folder["confusion_svg"].get<std::string>()));

    const auto& cifar = j["tasks"][1];
    CHECK(cifar["dataset"] == "cifar10");
    CHECK(cifar["images"] == 4);
    CHECK(cifar["classes"] == 10);
    CHECK(cifar["templates"] == 80);  // --templates applies to every zero-shot task
    CHECK(cifar["per_class"]["cat"]["count"] == 2);
    CHECK(cifar["per_class"]["truck"]["count"] == 1);
    CHECK(cifar["per_class"]["bird"]["accuracy"].is_null());  // no images of that class
    CHECK(cifar["metrics"].contains("acc5"));
    CHECK(fs::exists(f.dir / "out" / "results-confusion-cifar10.svg"));

    const auto& retrieval = j["tasks"][2];
    CHECK(retrieval["task"] == "retrieval");
    CHECK(retrieval["dataset"] == "captions");
    CHECK(retrieval["images"] == 2);
    CHECK(retrieval["captions"] == 3);
    data::CaptionTableOptions table{"image", "text", ';'};
    const auto r = tasks::retrieval_captions(model, encoder, data::read_caption_table(f.dir / "captions.csv", table));
    CHECK(retrieval["metrics"]["image_to_text_R@1"].get<double>() == doctest::Approx(r.metrics.image_to_text_r1));
    CHECK(retrieval["metrics"]["text_to_image_R@1"].get<double>() == doctest::Approx(r.metrics.text_to_image_r1));
    CHECK(retrieval["metrics"]["text_to_image_R@5"].get<double>() == 1.0);  // 2 images
}

TEST_CASE("contra eval --model: the built-in CIFAR lists are used without a path") {
    const EvalFixture f;
    auto o = f.options();
    o.cifar10 = (f.dir / "cifar").string();
    cli::eval_command(o);
    const auto results = f.results();
    const auto& cifar = results["tasks"][0];
    CHECK(cifar["templates"] == 18);
    CHECK(cifar["templates_source"] == "cifar (built in)");
    CHECK(cifar["classnames_source"] == "cifar10 (built in)");
    CHECK(cifar["per_class"].contains("airplane"));
    CHECK(cifar["per_class"]["airplane"]["count"] == 1);
}

TEST_CASE("contra eval: the two routes, and bad input, are clear errors") {
    const EvalFixture f;
    cli::EvalOptions neither;
    CHECK_THROWS_WITH_AS(cli::eval_command(neither), doctest::Contains("give a checkpoint"), Error);
    auto both = f.options();
    both.checkpoint = (f.dir / "model").string();
    both.folder = (f.dir / "folder").string();
    CHECK_THROWS_WITH_AS(cli::eval_command(both), doctest::Contains("not both"), Error);
    auto checkpoint_with_folder = f.options();
    checkpoint_with_folder.model.clear();
    checkpoint_with_folder.checkpoint = (f.dir / "model").string();
    checkpoint_with_folder.folder = (f.dir / "folder").string();
    CHECK_THROWS_WITH_AS(cli::eval_command(checkpoint_with_folder), doctest::Contains("go with --model"), Error);
    CHECK_THROWS_WITH_AS(cli::eval_command(f.options()), doctest::Contains("nothing to evaluate"), Error);

    auto o = f.options();
    o.folder = (f.dir / "folder").string();
    o.classnames = "imagenet";  // 1,000 names for 3 folders
    CHECK_THROWS_WITH_AS(cli::eval_command(o), doctest::Contains("1000 class names for the 3 class folders"), Error);
    test::write_file(f.dir / "names.txt", "sand\ngrass\n");
    o.classnames = (f.dir / "names.txt").string();
    CHECK_THROWS_WITH_AS(cli::eval_command(o), doctest::Contains("2 class names for the 3 class folders"), Error);
    o.classnames.clear();
    test::write_file(f.dir / "templates.txt", "a photo of a thing.\n");
    o.templates = (f.dir / "templates.txt").string();
    CHECK_THROWS_WITH_AS(cli::eval_command(o), doctest::Contains("templates.txt:1"), Error);
    o.templates.clear();
    test::write_file(f.dir / "folder" / "sand" / "img9.png", "broken");
    CHECK_THROWS_WITH_AS(cli::eval_command(o), doctest::Contains("img9.png"), Error);
    o.skip_broken_images = true;
    cli::eval_command(o);
    CHECK(f.results()["tasks"][0]["skipped_images"].size() == 1);
    CHECK(f.results()["tasks"][0]["images"] == 6);

    auto retrieval = f.options();
    test::write_file(f.dir / "header_only.csv", "filepath,title\n");
    retrieval.retrieval = (f.dir / "header_only.csv").string();
    CHECK_THROWS_WITH_AS(cli::eval_command(retrieval), doctest::Contains("no captions"), Error);
    auto cifar = f.options();
    cifar.cifar100 = (f.dir / "cifar").string();  // holds CIFAR-10's file only
    CHECK_THROWS_WITH_AS(cli::eval_command(cifar), doctest::Contains("test.bin"), Error);
}
