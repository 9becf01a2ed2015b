// contra train on a user's image–caption files: a CSV table and WebDataset shards written here
// (with a broken image each), trained for a few steps, evaluated by retrieval on held-out pairs;
// a finished run resumed from its folder alone; bad options as one clear error.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <contra/io/config_json.hpp>
#include <contra/io/pretrained.hpp>
#include <contra/io/safetensors.hpp>
#include <contra/model/model.hpp>

#include "../../examples/contra/commands.hpp"
#include "../support/temp_dir.hpp"
#include "../datasets/tar_writer.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {

const char* const kColours[] = {"red", "green", "blue", "yellow"};
const std::array<std::uint8_t, 3> kRgb[] = {{220, 30, 30}, {30, 200, 40}, {30, 60, 220}, {230, 220, 40}};

// A 12×10 PNG: colour i % 4 on a grey background, on the left or the right.
std::string png_of(int i) {
    std::vector<std::uint8_t> pixels;
    const bool left = (i / 4) % 2 == 0;
    for (int y = 0; y < 10; ++y)
        for (int x = 0; x < 12; ++x) {
            const bool inside = y >= 2 && y < 8 && (left ? x < 6 : x >= 6);
            for (int c = 0; c < 3; ++c) pixels.push_back(inside ? kRgb[i % 4][std::size_t(c)] : std::uint8_t(128));
        }
    std::string out;
    stbi_write_png_to_func([](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), std::size_t(size)); },
                           &out, 12, 10, 3, pixels.data(), 12 * 3);
    REQUIRE(!out.empty());
    return out;
}
std::string caption_of(int i) {
    return std::string("a ") + kColours[i % 4] + " square on the " + ((i / 4) % 2 == 0 ? "left" : "right");
}

struct Files {
    fs::path dir = fs::temp_directory_path() / ("contra_train_files_" + std::to_string(::getpid()));
    Files() {
        fs::remove_all(dir);
        fs::create_directories(dir);
        for (const auto& [name, count] : {std::pair{"train", 40}, std::pair{"val", 16}}) {
            std::string table = "filepath\ttitle\n";  // tab-separated, as open_clip writes it
            for (int i = 0; i < count; ++i) {
                const std::string file = std::string(name) + std::to_string(i) + ".png";
                std::ofstream(dir / file, std::ios::binary) << png_of(i);
                table += file + "\t" + caption_of(i) + "\n";
            }
            std::ofstream(dir / (std::string(name) + ".csv")) << table
                                                             << (std::string(name) == "train" ? "missing.png\ta file that is not there\n" : "");
            if (std::string(name) == "train") std::ofstream(dir / "clean.csv") << table;
        }
        for (int shard = 0; shard < 2; ++shard) {
            std::vector<test::TarMember> members;
            for (int k = 0; k < 20; ++k) {
                const int i = 20 * shard + k;
                members.push_back({"s" + std::to_string(i) + ".png", png_of(i)});
                members.push_back({"s" + std::to_string(i) + ".txt", caption_of(i)});
            }
            members.push_back({"bad.png", "not a png"});
            members.push_back({"bad.txt", "broken"});
            test::write_tar(dir / ("shard-" + std::to_string(shard) + ".tar"), members);
        }
    }
    ~Files() { fs::remove_all(dir); }

    cli::TrainOptions options(const std::string& run) const {
        cli::TrainOptions o;
        o.dataset = "csv";
        o.train_data = (dir / "train.csv").string();
        o.val_data = (dir / "val.csv").string();
        o.out = (dir / run).string();
        o.arch = "tiny";  // 8×8 images
        o.epochs = 2;
        o.batch = 8;
        o.warmup = 2;
        o.vocab_size = 600;
        o.eval_points = 0;
        return o;
    }
    static nlohmann::json results_of(const cli::TrainOptions& o) {
        std::ifstream in(fs::path(o.out) / "results.json");
        REQUIRE(in.good());
        return nlohmann::json::parse(in);
    }
};

}  // namespace

TEST_CASE("contra train --dataset csv: trains, skips the missing file, and reports retrieval on --val-data") {
    Files f;
    auto o = f.options("csv_run");
    cli::train_command(o);
    const auto r = Files::results_of(o);
    CHECK(r["steps"] == 2 * (41 / 8));  // 41 rows an epoch, the last partial batch dropped
    CHECK(r["train_pairs_per_epoch"] == 41);
    CHECK(r["skipped_samples"].get<int>() >= 1);
    CHECK(r["first_skip_reason"].get<std::string>().find("missing.png") != std::string::npos);
    CHECK(r["retrieval"]["pairs"] == 16);
    CHECK(r["val_skipped_samples"] == 0);
    for (const char* k : {"image_to_text_r1", "image_to_text_r10", "text_to_image_r1", "text_to_image_r10"}) {
        const double v = r["retrieval"][k];
        CHECK((v >= 0.0 && v <= 1.0));
    }
    CHECK(r["retrieval"]["image_to_text_r10"].get<double>() >= r["retrieval"]["image_to_text_r1"].get<double>());
    CHECK(fs::exists(fs::path(o.out) / "checkpoint.safetensors"));
    CHECK(fs::exists(fs::path(o.out) / "loss.svg"));

    // The finished run resumed from its folder alone: the data paths come from the checkpoint.
    cli::TrainOptions again;
    again.resume = o.out;
    again.vocab_size = 999;  // ignored: the tokenizer is the checkpoint's
    cli::train_command(again);
    const auto resumed = Files::results_of(again);
    CHECK(resumed["steps"] == r["steps"]);
    CHECK(resumed["options"]["train_data"] == o.train_data);
    CHECK(resumed["retrieval"] == r["retrieval"]);  // the same model, the same held-out pairs
}

TEST_CASE("contra train --dataset csv: stopped after a checkpoint and resumed, it ends where the straight run ends") {
    Files f;
    auto straight = f.options("straight");
    straight.train_data = (f.dir / "clean.csv").string();  // resume is exact when nothing before it was skipped
    straight.epochs = 3;
    straight.checkpoint_every = 4;
    straight.keep_checkpoints = 5;
    cli::train_command(straight);
    cli::TrainOptions resumed;
    resumed.resume = (fs::path(straight.out) / "checkpoint-000000004.safetensors").string();
    resumed.out = (f.dir / "resumed").string();
    cli::train_command(resumed);
    const auto a = io::SafetensorsFile::read(fs::path(straight.out) / "checkpoint.safetensors");
    const auto b = io::SafetensorsFile::read(fs::path(resumed.out) / "checkpoint.safetensors");
    CHECK(b.metadata().at("step") == "15");
    REQUIRE(a.names() == b.names());
    for (const auto& name : a.names()) {
        const auto x = a.get<float>(name), y = b.get<float>(name);
        CHECK_MESSAGE(std::equal(x.data(), x.data() + x.numel(), y.data()), name);
    }
}

TEST_CASE("contra train --dataset webdataset: shards counted, a broken image skipped; errors are one line") {
    Files f;
    auto o = f.options("wds_run");
    o.dataset = "webdataset";
    o.train_data = (f.dir / "shard-{0..1}.tar").string();
    o.val_data = (f.dir / "shard-1.tar").string();
    o.epochs = 1;
    cli::train_command(o);
    const auto r = Files::results_of(o);
    CHECK(r["train_pairs_per_epoch"] == 42);
    CHECK(r["steps"] == 42 / 8);
    CHECK(r["retrieval"]["pairs"] == 20);
    CHECK(r["val_skipped_samples"] == 1);

    auto no_data = f.options("x");
    no_data.train_data.clear();
    CHECK_THROWS_WITH_AS(cli::train_command(no_data), doctest::Contains("--dataset csv needs --train-data"), Error);
    auto grey = f.options("y");
    grey.arch = "fmnist";
    CHECK_THROWS_WITH_AS(cli::train_command(grey), doctest::Contains("takes 1-channel images"), Error);
    auto no_vocab = f.options("z");
    no_vocab.dataset = "webdataset";
    no_vocab.train_data = o.train_data;
    no_vocab.train_samples = 42;  // no counting pass: no captions to learn a vocabulary from
    CHECK_THROWS_WITH_AS(cli::train_command(no_vocab), doctest::Contains("give --bpe FILE"), Error);
    auto subset = f.options("s");
    subset.train_subset = 10;  // not silently ignored: refused
    CHECK_THROWS_WITH_AS(cli::train_command(subset), doctest::Contains("--train-subset takes the first N pairs of fashion-mnist"),
                         Error);
    auto odd_width = f.options("w");
    odd_width.vision_width = 100;  // the tiny preset's heads are 8 wide
    CHECK_THROWS_WITH_AS(cli::train_command(odd_width), doctest::Contains("not a multiple of the tiny preset's head width 8"),
                         Error);
    odd_width.vision_width = 0;
    odd_width.vision_heads = 3;  // the tiny preset's image width is 16
    CHECK_THROWS_WITH_AS(cli::train_command(odd_width), doctest::Contains("--vision-heads 3 does not divide the image width 16"),
                         Error);
}

TEST_CASE("contra train --lock-image: the image tower's weights end as they started; --lock-text keeps its last block") {
    Files f;
    auto o = f.options("locked_run");
    o.lock_image = true;
    cli::train_command(o);
    const auto checkpoint = io::SafetensorsFile::read(fs::path(o.out) / "checkpoint.safetensors");
    const auto config = io::config_from_json(nlohmann::json::parse(checkpoint.metadata().at("config")));
    const model::OpenAiClip<float, cpu> fresh(config, o.seed);  // the run's initial weights
    int image = 0, text_changed = 0;
    for_each_parameter(const_cast<model::OpenAiClip<float, cpu>&>(fresh), [&](const std::string& name, Parameter<float, cpu>& p) {
        const auto saved = checkpoint.get<float>("model/" + name);
        const bool same = std::equal(saved.data(), saved.data() + saved.numel(), p.value().data());
        if (name.rfind("visual.", 0) == 0) {
            CAPTURE(name);
            CHECK(same);
            ++image;
        } else {
            text_changed += !same;
        }
    });
    CHECK(image > 0);
    CHECK(text_changed > 0);
    CHECK(Files::results_of(o)["options"]["lock_image"] == true);
    CHECK(checkpoint.metadata().at("activation") == "quick_gelu");  // the activation is recorded, not assumed
    CHECK(io::describe_pretrained(fs::path(o.out)).activation == ops::Activation::quick_gelu);

    auto partly = f.options("partly_locked_run");
    partly.lock_text = true;
    partly.lock_text_unlocked_blocks = 1;
    cli::train_command(partly);
    const auto saved = io::SafetensorsFile::read(fs::path(partly.out) / "checkpoint.safetensors");
    const model::OpenAiClip<float, cpu> start(io::config_from_json(nlohmann::json::parse(saved.metadata().at("config"))), partly.seed);
    const auto unchanged = [&](const std::string& name, const Tensor<float, cpu>& initial) {
        const auto t = saved.get<float>("model/" + name);
        return std::equal(t.data(), t.data() + t.numel(), initial.data());
    };
    CHECK(unchanged("transformer.resblocks.0.mlp.c_fc.weight", start.text.transformer.resblocks[0].mlp.c_fc.weight.value()));
    CHECK(!unchanged("transformer.resblocks.1.mlp.c_fc.weight", start.text.transformer.resblocks[1].mlp.c_fc.weight.value()));
    CHECK(!unchanged("text_projection", start.text.text_projection.value()));
    CHECK(unchanged("token_embedding.weight", start.text.token_embedding.weight.value()));

    auto wrong = f.options("wrong_lock");
    wrong.lock_image_unlocked_blocks = 1;
    CHECK_THROWS_WITH_AS(cli::train_command(wrong), doctest::Contains("need --lock-image"), Error);
    wrong.lock_image = true;
    wrong.lock_image_unlocked_blocks = 3;
    CHECK_THROWS_WITH_AS(cli::train_command(wrong), doctest::Contains("is outside [0, 2]"), Error);
}
