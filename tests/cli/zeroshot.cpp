// contra zeroshot on a small checkpoint that carries its own tokenizer: one probability row per
// image file, in label order, equal to the library pipeline run image by image; bad input is
// one clear error.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>
#include <unistd.h>

#include <contra/io/checkpoint.hpp>
#include <contra/io/config_json.hpp>
#include <contra/data/image.hpp>
#include <contra/tasks/captions.hpp>
#include <contra/tasks/evaluate.hpp>
#include <filesystem>

#include "../../examples/contra/commands.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {
struct Fixture {
    fs::path dir = fs::temp_directory_path() / ("contra_zeroshot_" + std::to_string(::getpid()));
    model::ClipConfig config = model::preset("tiny");
    Fixture() {
        fs::create_directories(dir);
        const data::Tokenizer bytes_only;  // 514 ids
        config.text.vocab_size = bytes_only.vocab_size();
        config.text.context_length = 32;
        model::OpenAiClip<float, cpu> model(config, 3);
        optim::AdamW<float, cpu> optimizer(model);
        io::save_checkpoint(dir / "checkpoint.safetensors", model, optimizer,
                            {{"config", io::to_json(config).dump()}, {"tokenizer_merges", tasks::merges_to_text(bytes_only)}});
        write_png("red.png", 20, 12, {220, 30, 30});
        write_png("sky.png", 9, 15, {40, 90, 230});
    }
    ~Fixture() { fs::remove_all(dir); }
    void write_png(const std::string& name, int w, int h, std::array<int, 3> rgb) const {
        std::vector<std::uint8_t> pixels;
        for (int i = 0; i < w * h; ++i)
            for (int c = 0; c < 3; ++c) pixels.push_back(std::uint8_t((rgb[std::size_t(c)] + 7 * i) % 256));
        REQUIRE(stbi_write_png((dir / name).c_str(), w, h, 3, pixels.data(), w * 3) != 0);
    }
    cli::ZeroShotOptions options() const {
        cli::ZeroShotOptions o;
        o.model.path = dir.string();
        o.labels = "red, sky ,grass";
        o.images = {(dir / "red.png").string(), (dir / "sky.png").string()};
        return o;
    }
};
}  // namespace

TEST_CASE("contra zeroshot: probabilities per image, as the library computes them one by one") {
    const Fixture f;
    const auto probabilities = cli::zeroshot_probabilities(f.options());
    REQUIRE(probabilities.size() == 2);
    model::OpenAiClip<float, cpu> model(f.config, 0);
    io::load_checkpoint(f.dir / "checkpoint.safetensors", model);
    const tasks::CaptionEncoder encoder(data::Tokenizer(), 32);
    const auto classifier = tasks::zero_shot_classifier(model, encoder, {"red", "sky", "grass"}, cli::kDefaultTemplates);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto image = data::preprocess_file<float>(f.options().images[i], 8).reshape(Shape{1, 3, 8, 8});
        const auto logits = eval::zero_shot_logits(cast<float>(to_device<cpu>(model.encode_image(image).value())), classifier);
        REQUIRE(probabilities[i].size() == 3);
        double total = 0, expected_total = 0;
        for (int c = 0; c < 3; ++c) expected_total += std::exp(double(logits[c]));
        for (int c = 0; c < 3; ++c) {
            total += probabilities[i][std::size_t(c)];
            CHECK(probabilities[i][std::size_t(c)] == doctest::Approx(std::exp(double(logits[c])) / expected_total).epsilon(1e-5));
        }
        CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
    }
    CHECK(probabilities[0] != probabilities[1]);
}

TEST_CASE("contra zeroshot: bad input is one clear error") {
    const Fixture f;
    auto o = f.options();
    o.images.push_back((f.dir / "absent.png").string());
    CHECK_THROWS_WITH_AS(cli::zeroshot_probabilities(o), doctest::Contains("absent.png"), Error);
    o = f.options();
    o.labels = "only-one";
    CHECK_THROWS_WITH_AS(cli::zeroshot_probabilities(o), doctest::Contains("at least two labels"), Error);
    o.labels = "a,,b";
    CHECK_THROWS_WITH_AS(cli::zeroshot_probabilities(o), doctest::Contains("empty label"), Error);
    o = f.options();
    o.bpe = (f.dir / "absent.txt.gz").string();
    CHECK_THROWS_AS(cli::zeroshot_probabilities(o), Error);
    o = f.options();
    o.images = {(f.dir / "checkpoint.safetensors").string()};
    CHECK_THROWS_AS(cli::zeroshot_probabilities(o), Error);  // not an image
}
