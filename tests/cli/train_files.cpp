// contra train on a user's image–caption files: a CSV table and WebDataset shards written here
// (with a broken image each), trained for a few steps, evaluated by retrieval on held-out pairs;
// a finished run resumed from its folder alone; bad options as one clear error.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include <contra/io/config_json.hpp>
#include <contra/io/pretrained.hpp>
#include <contra/io/safetensors.hpp>
#include <contra/model/model.hpp>

#include "../../examples/contra/commands.hpp"
#include "../../examples/contra/models.hpp"
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
    // init_options(run, from): options(run) starting from the weights at `from` (their architecture).
    cli::TrainOptions init_options(const std::string& run, const std::string& from) const {
        auto o = options(run);
        o.arch.clear();
        o.init = from;
        return o;
    }
    static nlohmann::json results_of(const cli::TrainOptions& o) {
        std::ifstream in(fs::path(o.out) / "results.json");
        REQUIRE(in.good());
        return nlohmann::json::parse(in);
    }
};

// check_only_text_changed(before, after): every model tensor of the checkpoint `after` under
// "model/visual." equals before's bit for bit, and some text-side tensor changed.
void check_only_text_changed(const std::map<std::string, Tensor<float, cpu>>& before, const io::SafetensorsFile& after) {
    int image = 0, text_changed = 0;
    for (const auto& [name, initial] : before) {
        const auto saved = after.get<float>(name);
        const bool same = saved.shape() == initial.shape() && std::equal(saved.data(), saved.data() + saved.numel(), initial.data());
        if (name.rfind("model/visual.", 0) == 0) {
            CAPTURE(name);
            CHECK(same);
            ++image;
        } else {
            text_changed += !same;
        }
    }
    CHECK(image > 0);
    CHECK(text_changed > 0);
}

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
    model::OpenAiClip<float, cpu> fresh(config, o.seed);  // the run's initial weights
    std::map<std::string, Tensor<float, cpu>> initial;
    for_each_parameter(fresh, [&](const std::string& name, Parameter<float, cpu>& p) { initial["model/" + name] = p.value(); });
    check_only_text_changed(initial, checkpoint);
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

namespace {

// The image and text embeddings of fixed inputs by the model at `path`, read as contra's
// commands on pretrained models read it.
std::vector<float> embeddings_of(const fs::path& path) {
    const auto p = io::describe_pretrained(path);
    const auto& v = p.config.vision;
    auto images = Tensor<float, cpu>::empty(Shape{3, v.channels, v.image_size, v.image_size});  // [3, C, S, S]
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = float(std::sin(0.37 * double(i)));
    const std::int64_t vocab = p.config.text.vocab_size, context = p.config.text.context_length;
    auto tokens = Tensor<ops::Index, cpu>::zeros(Shape{2, context});  // [2, L]: start, two words, end
    for (std::int64_t row = 0; row < 2; ++row) {
        const ops::Index ids[] = {ops::Index(vocab - 2), ops::Index(5 + row), ops::Index(9), ops::Index(vocab - 1)};
        std::copy(std::begin(ids), std::end(ids), tokens.data() + row * context);
    }
    std::vector<float> out;
    cli::with_pretrained<float>(p, [&](auto& model) {
        for (const auto& e : {eval::encode_images(model, images, 3), eval::encode_texts(model, tokens, 2)})
            out.insert(out.end(), e.data(), e.data() + e.numel());
    });
    return out;
}

}  // namespace

TEST_CASE("contra train --init: zero steps from a run folder or its HF export keep the embeddings exactly") {
    Files f;
    auto source = f.options("init_source");
    source.activation = "gelu";
    source.epochs = 1;
    cli::train_command(source);
    CHECK(io::describe_pretrained(fs::path(source.out)).activation == ops::Activation::gelu);
    const auto reference = embeddings_of(source.out);
    REQUIRE(!reference.empty());

    cli::ExportOptions hf;
    hf.model.path = source.out;
    hf.to = "hf";
    hf.out = (f.dir / "init_hf").string();
    cli::export_command(hf);
    for (const auto& [from, name] : {std::pair{source.out, "init_zero_run"}, std::pair{hf.out, "init_zero_hf"}}) {
        CAPTURE(name);
        auto o = f.init_options(name, from);
        o.steps = 0;
        cli::train_command(o);
        CHECK(Files::results_of(o)["steps"] == 0);
        CHECK(Files::results_of(o)["options"]["init"] == from);
        CHECK(embeddings_of(o.out) == reference);  // bit for bit: the weights, the activation and the tokenizer came over
        const auto saved = io::SafetensorsFile::read(fs::path(o.out) / "checkpoint.safetensors");
        CHECK(saved.metadata().at("activation") == "gelu");
        CHECK(saved.metadata().at("tokenizer_merges") ==
              io::SafetensorsFile::read(fs::path(source.out) / "checkpoint.safetensors").metadata().at("tokenizer_merges"));
    }
}

TEST_CASE("contra train --init or --init-image with --lock-image: the pretrained image tower is kept bit for bit; bad combinations are errors") {
    Files f;
    auto source = f.options("lit_source");
    source.epochs = 1;
    cli::train_command(source);

    auto lit = f.init_options("lit_run", source.out);
    lit.lock_image = true;
    lit.steps = 4;
    cli::train_command(lit);
    const auto before = io::SafetensorsFile::read(fs::path(source.out) / "checkpoint.safetensors");
    const auto after = io::SafetensorsFile::read(fs::path(lit.out) / "checkpoint.safetensors");
    std::map<std::string, Tensor<float, cpu>> source_weights;
    for (const auto& name : before.names())
        if (name.rfind("model/", 0) == 0) source_weights[name] = before.get<float>(name);
    check_only_text_changed(source_weights, after);
    CHECK(Files::results_of(lit)["steps"] == 4);

    // --init-image: the source's image tower beside the text tower of a fresh model (another seed).
    auto zero = f.options("lit_image_zero");
    zero.init_image = source.out;
    zero.seed = 7;
    zero.steps = 0;
    cli::train_command(zero);
    auto fresh = f.options("fresh_zero");
    fresh.seed = 7;
    fresh.steps = 0;
    cli::train_command(fresh);
    const auto started = io::SafetensorsFile::read(fs::path(zero.out) / "checkpoint.safetensors");
    const auto fresh_weights = io::SafetensorsFile::read(fs::path(fresh.out) / "checkpoint.safetensors");
    int from_source = 0, from_fresh = 0;
    for (const auto& name : started.names()) {
        if (name.rfind("model/", 0) != 0) continue;
        CAPTURE(name);
        const bool image = name.rfind("model/visual.", 0) == 0;
        const auto expected = image ? source_weights.at(name) : fresh_weights.get<float>(name);
        const auto value = started.get<float>(name);
        REQUIRE(value.shape() == expected.shape());
        CHECK(std::equal(value.data(), value.data() + value.numel(), expected.data()));
        ++(image ? from_source : from_fresh);
    }
    CHECK(from_source > 0);
    CHECK(from_fresh > 0);
    CHECK(Files::results_of(zero)["options"]["init_image"] == source.out);
    auto lit_fresh_text = f.options("lit_image_run");
    lit_fresh_text.init_image = source.out;
    lit_fresh_text.lock_image = true;
    lit_fresh_text.steps = 4;
    cli::train_command(lit_fresh_text);
    check_only_text_changed(source_weights, io::SafetensorsFile::read(fs::path(lit_fresh_text.out) / "checkpoint.safetensors"));

    auto both = f.options("init_both");
    both.init = both.init_image = source.out;
    CHECK_THROWS_WITH_AS(cli::train_command(both), doctest::Contains("give one"), Error);
    auto patch = f.options("init_image_patch");
    patch.init_image = source.out;
    patch.patch_size = 2;
    CHECK_THROWS_WITH_AS(cli::train_command(patch), doctest::Contains("image tower's architecture from its weights; --patch-size"),
                         Error);
    auto image_resumed_elsewhere = f.options("lit_image_run");
    image_resumed_elsewhere.resume = lit_fresh_text.out;
    image_resumed_elsewhere.init_image = (f.dir / "another_model").string();
    CHECK_THROWS_WITH_AS(cli::train_command(image_resumed_elsewhere),
                         doctest::Contains(("started from the image tower of " + source.out).c_str()), Error);

    auto resumed_elsewhere = f.options("lit_run");
    resumed_elsewhere.resume = lit.out;
    resumed_elsewhere.init = (f.dir / "another_model").string();
    CHECK_THROWS_WITH_AS(cli::train_command(resumed_elsewhere), doctest::Contains("continues from its checkpoint"), Error);

    auto arch = f.options("init_with_arch");  // options() names the tiny preset
    arch.init = source.out;
    CHECK_THROWS_WITH_AS(cli::train_command(arch), doctest::Contains("--arch cannot change it"), Error);
    auto contradicting = f.init_options("init_with_activation", source.out);
    contradicting.activation = "gelu";  // the source trained with QuickGELU
    CHECK_THROWS_WITH_AS(cli::train_command(contradicting), doctest::Contains("the activation gelu contradicts"), Error);
    auto shapes = f.init_options("init_on_shapes", source.out);
    shapes.dataset = "shapes";
    CHECK_THROWS_WITH_AS(cli::train_command(shapes), doctest::Contains("shapes's images are 3×32×32 but the model takes 3×8×8"),
                         Error);
    shapes.init.clear();
    shapes.arch = "tiny";  // a fresh model is checked the same way, before any training
    CHECK_THROWS_WITH_AS(cli::train_command(shapes), doctest::Contains("shapes's images are 3×32×32 but the model takes 3×8×8"),
                         Error);
}

TEST_CASE("contra train --activation gelu, --loss siglip, --text-mask none: the run's own evaluation and contra eval agree") {
    Files f;
    for (const auto& [activation, loss, mask] : {std::tuple{"gelu", "", ""}, std::tuple{"", "siglip", ""}, std::tuple{"", "", "none"},
                                                 std::tuple{"gelu", "siglip", "none"}}) {
        CAPTURE(activation);
        CAPTURE(loss);
        CAPTURE(mask);
        cli::TrainOptions o;
        o.dataset = "shapes";
        o.activation = activation;
        o.loss = loss;
        o.text_mask = mask;
        o.steps = 3;
        o.train_subset = 256;
        o.batch = 32;
        o.eval_subset = 300;
        o.no_probe = true;
        o.eval_points = 0;
        o.out = (f.dir / (std::string("shapes_") + activation + loss + mask)).string();
        cli::train_command(o);
        const auto trained = Files::results_of(o);
        const auto metadata = io::SafetensorsFile::read(fs::path(o.out) / "checkpoint.safetensors").metadata();
        CHECK(metadata.at("activation") == (*activation ? activation : "quick_gelu"));
        CHECK(metadata.at("loss") == (*loss ? loss : "infonce"));
        CHECK(metadata.at("text_mask") == (*mask ? mask : "causal"));

        cli::EvalOptions e;
        e.checkpoint = o.out;
        e.eval_subset = 300;
        e.no_probe = true;
        cli::eval_command(e);  // built with the recorded activation, loss and mask, not OpenAI's
        std::ifstream in(fs::path(o.out) / "eval.json");
        REQUIRE(in.good());
        const auto evaluated = nlohmann::json::parse(in);
        CHECK(evaluated["zero_shot_top1"] == trained["zero_shot_top1"]);
        CHECK(evaluated["retrieval"] == trained["retrieval"]);
    }
}

TEST_CASE("contra train --loss siglip: the bias is trained and kept, every reader builds SigLIP, export says why not") {
    Files f;
    auto o = f.options("siglip_run");
    o.loss = "siglip";
    o.steps = 3;
    cli::train_command(o);
    const auto checkpoint = io::SafetensorsFile::read(fs::path(o.out) / "checkpoint.safetensors");
    const auto bias = checkpoint.get<float>("model/logit_bias");
    CHECK(bias.numel() == 1);
    CHECK(bias[0] != -10.0f);  // initialised at −10, then trained
    CHECK(Files::results_of(o).contains("retrieval"));
    CHECK(io::describe_pretrained(fs::path(o.out)).loss == io::LossKind::siglip);
    const auto reference = embeddings_of(o.out);  // an InfoNCE model would refuse the extra logit_bias
    REQUIRE(!reference.empty());

    cli::ExportOptions hf;
    hf.model.path = o.out;
    hf.to = "hf";
    hf.out = (f.dir / "siglip_hf").string();
    CHECK_THROWS_WITH_AS(cli::export_command(hf), doctest::Contains("logit_bias has no place"), Error);

    auto again = f.init_options("siglip_init", o.out);
    again.steps = 0;
    cli::train_command(again);
    CHECK(embeddings_of(again.out) == reference);
    CHECK(io::SafetensorsFile::read(fs::path(again.out) / "checkpoint.safetensors").metadata().at("loss") == "siglip");
    auto other_loss = f.init_options("siglip_init_infonce", o.out);
    other_loss.loss = "infonce";
    CHECK_THROWS_WITH_AS(cli::train_command(other_loss), doctest::Contains("a fine-tuned model keeps its loss"), Error);
}

TEST_CASE("contra train --text-mask none: a bidirectional text tower is read back as one; export says why not") {
    Files f;
    auto o = f.options("bidirectional_run");
    o.text_mask = "none";
    o.steps = 3;
    cli::train_command(o);
    CHECK_FALSE(io::describe_pretrained(fs::path(o.out)).causal_text);
    const auto reference = embeddings_of(o.out);
    auto again = f.init_options("bidirectional_init", o.out);
    again.steps = 0;
    cli::train_command(again);
    CHECK(embeddings_of(again.out) == reference);
    auto causal = f.options("bidirectional_run_causal");  // the same run with a causal mask embeds texts differently
    causal.steps = 3;
    cli::train_command(causal);
    CHECK(embeddings_of(causal.out) != reference);

    cli::ExportOptions to_open_clip;
    to_open_clip.model.path = o.out;
    to_open_clip.to = "open_clip";
    to_open_clip.out = (f.dir / "bidirectional.safetensors").string();
    CHECK_THROWS_WITH_AS(cli::export_command(to_open_clip), doctest::Contains("hold causal ones only"), Error);
    auto other_mask = f.init_options("bidirectional_init_causal", o.out);
    other_mask.text_mask = "causal";
    CHECK_THROWS_WITH_AS(cli::train_command(other_mask), doctest::Contains("a fine-tuned model keeps its mask"), Error);
}

TEST_CASE("contra train --zeroshot-eval: zero-shot on an image folder every N steps, in metrics.jsonl and results.json") {
    Files f;
    const auto folder = f.dir / "zeroshot";
    for (int i = 0; i < 16; ++i) {  // one subfolder per colour, four images each
        fs::create_directories(folder / kColours[i % 4]);
        std::ofstream(folder / kColours[i % 4] / ("image" + std::to_string(i) + ".png"), std::ios::binary) << png_of(i);
    }
    std::ofstream(f.dir / "templates.txt") << "a {} square on the left\na {} square on the right\n";
    auto o = f.options("zeroshot_run");
    o.zeroshot_eval = folder.string();
    o.zeroshot_templates = (f.dir / "templates.txt").string();
    o.zeroshot_every = 3;
    o.steps = 7;
    cli::train_command(o);

    std::vector<std::pair<std::int64_t, double>> checks;
    std::ifstream metrics(fs::path(o.out) / "metrics.jsonl");
    for (std::string line; std::getline(metrics, line);) {
        const auto j = nlohmann::json::parse(line);
        if (j.contains("zeroshot_eval_top1")) checks.emplace_back(j["step"].get<std::int64_t>(), j["zeroshot_eval_top1"].get<double>());
    }
    REQUIRE(checks.size() == 3);  // steps 3, 6 and the last, 7
    CHECK(checks[0].first == 3);
    CHECK(checks[1].first == 6);
    CHECK(checks[2].first == 7);
    CHECK(fs::exists(fs::path(o.out) / "zero_shot_accuracy.svg"));
    const auto results = Files::results_of(o)["zeroshot_eval"];
    CHECK(results["classes"] == 4);
    CHECK(results["images"] == 16);
    CHECK(results["templates"] == 2);
    CHECK(results["classnames_source"] == "folder names");
    CHECK(results["metrics"]["acc1"].get<double>() == checks.back().second);  // the same final model
    CHECK(results["per_class"]["green"]["count"] == 4);

    auto on_shapes = f.options("zeroshot_on_shapes");
    on_shapes.dataset = "shapes";
    on_shapes.arch.clear();
    on_shapes.zeroshot_eval = folder.string();
    CHECK_THROWS_WITH_AS(cli::train_command(on_shapes), doctest::Contains("--zeroshot-eval checks a run on image–caption files"),
                         Error);
    auto three_names = f.options("zeroshot_names");
    std::ofstream(f.dir / "names.txt") << "blue\ngreen\nred\n";
    three_names.zeroshot_eval = folder.string();
    three_names.zeroshot_classnames = (f.dir / "names.txt").string();
    CHECK_THROWS_WITH_AS(cli::train_command(three_names), doctest::Contains("3 class names for the 4 class folders"), Error);
}

TEST_CASE("contra train --patch-dropout: training steps see part of each image; the evaluation sees all of it") {
    Files f;
    const auto first_loss = [](const cli::TrainOptions& o) {
        std::ifstream metrics(fs::path(o.out) / "metrics.jsonl");
        std::string line;
        REQUIRE(std::getline(metrics, line));
        return nlohmann::json::parse(line)["loss"].get<double>();
    };
    auto plain = f.options("plain_patches");
    plain.steps = 2;
    cli::train_command(plain);
    auto dropped = f.options("dropped_patches");
    dropped.steps = 2;
    dropped.patch_dropout = 0.5;
    cli::train_command(dropped);
    CHECK(first_loss(dropped) != first_loss(plain));  // the same weights and batch, fewer patches
    CHECK(Files::results_of(dropped)["options"]["patch_dropout"] == 0.5);

    // Evaluation keeps every patch: zero steps with and without dropout evaluate the same model alike.
    auto untrained = f.options("untrained_dropout");
    untrained.steps = 0;
    untrained.patch_dropout = 0.5;
    cli::train_command(untrained);
    auto untrained_plain = f.options("untrained_plain");
    untrained_plain.steps = 0;
    cli::train_command(untrained_plain);
    CHECK(Files::results_of(untrained)["retrieval"] == Files::results_of(untrained_plain)["retrieval"]);
}
