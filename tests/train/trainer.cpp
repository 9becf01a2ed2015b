// The training loop: epoch order, schedules, checkpoints (round trip, errors, atomicity) and an
// exact resume, with patch dropout too.
#include <doctest/doctest.h>

#include <contra/io/checkpoint.hpp>
#include <contra/train/trainer.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "../support/compare.hpp"
#include "../support/synthetic_pairs.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {
using test::SyntheticPairs;

fs::path temp_dir(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("contra-test-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

template <class T>
std::vector<double> run_steps(model::OpenAiClip<T, cpu>& model, optim::AdamW<T, cpu>& opt, train::State state,
                              std::int64_t until, std::int64_t total, const fs::path* save_at_end = nullptr) {
    std::vector<double> losses;
    train::Options o;
    o.batch_size = 8;
    o.lr = 3e-3;
    o.warmup_steps = 3;
    o.seed = 5;
    o.max_steps = total;
    state.total_steps = total;
    std::atomic<bool> stop{false};
    o.stop = &stop;
    train::Hooks hooks;
    hooks.on_step = [&](const train::StepRecord& r, const train::State& s) {
        losses.push_back(r.loss);
        if (s.step == until) stop = true;
    };
    if (save_at_end)
        hooks.on_checkpoint = [&](const train::State& s) {
            io::save_checkpoint(*save_at_end, model, opt, {{"step", std::to_string(s.step)}});
        };
    train::fit(model, opt, SyntheticPairs{}, o, hooks, state);
    return losses;
}
}  // namespace

TEST_CASE("epoch order: a permutation, the same for the same (seed, epoch), new each epoch") {
    const auto a = train::epoch_order(1000, 3, 0), b = train::epoch_order(1000, 3, 0), c = train::epoch_order(1000, 3, 1);
    CHECK(a == b);
    CHECK(a != c);
    CHECK(std::set<std::int64_t>(a.begin(), a.end()).size() == 1000);
    CHECK(*std::min_element(a.begin(), a.end()) == 0);
    CHECK(*std::max_element(a.begin(), a.end()) == 999);
}

TEST_CASE("schedules: warmup, cosine, constant, constant with cooldown (open_clip's formulas)") {
    optim::Schedule s{optim::ScheduleKind::cosine, 1.0, 10, 110};
    CHECK(s.lr(0) == doctest::Approx(0.1));
    CHECK(s.lr(9) == doctest::Approx(1.0));
    CHECK(s.lr(10) == doctest::Approx(1.0));
    CHECK(s.lr(60) == doctest::Approx(0.5));
    CHECK(s.lr(110) == doctest::Approx(0.0).epsilon(1e-12));
    s.kind = optim::ScheduleKind::constant;
    CHECK(s.lr(100) == 1.0);
    optim::Schedule cool{optim::ScheduleKind::constant_cooldown, 1.0, 0, 100, 20, 0.1, 1.0};
    CHECK(cool.lr(79) == 1.0);
    CHECK(cool.lr(90) == doctest::Approx(0.55));
    CHECK_THROWS_AS(optim::parse_schedule("linear"), Error);
}

TEST_CASE("no weight decay on gains, biases, embeddings and logit_scale") {
    model::OpenAiClip<float, cpu> model(model::preset("tiny"));
    optim::AdamW<float, cpu> opt(model);
    std::set<std::string> decayed;
    for (const auto& s : opt.slots())
        if (s.decay) decayed.insert(s.name);
    CHECK(decayed.count("visual.transformer.resblocks.0.attn.in_proj_weight") == 1);
    CHECK(decayed.count("visual.conv1.weight") == 1);
    CHECK(decayed.count("text_projection") == 1);
    for (const char* name : {"logit_scale", "token_embedding.weight", "positional_embedding", "visual.class_embedding",
                             "visual.positional_embedding", "ln_final.weight", "transformer.resblocks.1.mlp.c_fc.bias"})
        CHECK_MESSAGE(decayed.count(name) == 0, name);
}

TEST_CASE("checkpoint round trip restores weights and AdamW moments; wrong files are refused") {
    const auto dir = temp_dir("checkpoint");
    model::OpenAiClip<double, cpu> model(model::preset("tiny"), 1);
    optim::AdamW<double, cpu> opt(model);
    run_steps(model, opt, {}, 4, 4);
    const auto path = dir / "ck.safetensors";
    io::save_checkpoint(path, model, opt, {{"note", "x"}});

    model::OpenAiClip<double, cpu> other(model::preset("tiny"), 2);
    optim::AdamW<double, cpu> other_opt(other);
    const auto meta = io::load_checkpoint(path, other, &other_opt);
    CHECK(meta.at("note") == "x");
    CHECK(other_opt.steps_taken() == 4);
    for (std::size_t i = 0; i < opt.slots().size(); ++i) {
        const auto& a = opt.slots()[i];
        const auto& b = other_opt.slots()[i];
        CHECK(test::max_abs_diff(a.param.value(), b.param.value()) == 0);
        CHECK(test::max_abs_diff(a.m, b.m) == 0);
        CHECK(test::max_abs_diff(a.v, b.v) == 0);
    }

    optim::AdamW<double, cpu>* no_optimizer = nullptr;
    optim::AdamW<float, cpu>* no_float_optimizer = nullptr;
    // Another architecture: a parameter with another shape.
    auto config = model::preset("tiny");
    config.text.width = 24;
    model::OpenAiClip<double, cpu> wider(config);
    CHECK_THROWS_WITH_AS(io::load_checkpoint(path, wider, no_optimizer),
                         doctest::Contains("has shape"), Error);
    // Another element type is not converted silently.
    model::OpenAiClip<float, cpu> single(model::preset("tiny"));
    CHECK_THROWS_AS(io::load_checkpoint(path, single, no_float_optimizer), Error);

    // A truncated copy is refused; the good file next to it is untouched.
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto broken = dir / "broken.safetensors";
    std::ofstream(broken, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() - 100));
    CHECK_THROWS_AS(io::load_checkpoint(broken, other, no_optimizer), Error);
    CHECK_NOTHROW(io::load_checkpoint(path, other, no_optimizer));
    fs::remove_all(dir);
}

TEST_CASE("resuming from a checkpoint continues with exactly the losses of an uninterrupted run") {
    const auto dir = temp_dir("resume");
    const auto path = dir / "ck.safetensors";
    model::OpenAiClip<double, cpu> straight(model::preset("tiny"), 3);
    optim::AdamW<double, cpu> straight_opt(straight);
    const auto all = run_steps(straight, straight_opt, {}, 14, 14);  // 14 steps cross an epoch (6 per epoch)
    REQUIRE(all.size() == 14);

    model::OpenAiClip<double, cpu> first(model::preset("tiny"), 3);
    optim::AdamW<double, cpu> first_opt(first);
    const auto head = run_steps(first, first_opt, {}, 5, 14, &path);  // stops after 5, saves
    REQUIRE(head.size() == 5);

    model::OpenAiClip<double, cpu> resumed(model::preset("tiny"), 99);  // another init: everything must come from the file
    optim::AdamW<double, cpu> resumed_opt(resumed);
    io::load_checkpoint(path, resumed, &resumed_opt);
    train::State state;
    state.step = 5;
    const auto tail = run_steps(resumed, resumed_opt, state, 14, 14);
    REQUIRE(tail.size() == 9);
    for (std::size_t i = 0; i < 5; ++i) CHECK(head[i] == all[i]);
    for (std::size_t i = 0; i < 9; ++i) CHECK_MESSAGE(tail[i] == doctest::Approx(all[5 + i]).epsilon(1e-12), "step ", 6 + i);
    CHECK(all.back() < all.front());  // and it learns
    fs::remove_all(dir);
}

TEST_CASE("patch dropout: train_step drops the patches of the step it is given, and only during it") {
    model::OpenAiClip<double, cpu> model(model::preset("tiny"), 3);
    model.visual.patch_dropout.enable(0.5, 17);
    optim::AdamW<double, cpu> opt(model);
    const std::vector<std::int64_t> indices{0, 1, 2, 3, 4, 5, 6, 7};
    const auto batch = SyntheticPairs{}.batch(indices, 0);
    const auto images = cast<double>(batch.images);  // [8, 3, 8, 8]
    const double every_patch = double(model.loss(images, batch.tokens).value()[0]);
    double step_six = 0;
    {
        const nn::StepScope in_step(model, 6);
        step_six = double(model.loss(images, batch.tokens).value()[0]);
    }
    Tape tape;
    train::StepOptions o;
    o.step = 6;
    const auto r = train::train_step(model, opt, batch, tape, nullptr, o);
    CHECK(r.loss == doctest::Approx(step_six).epsilon(1e-12));
    CHECK(r.loss != doctest::Approx(every_patch).epsilon(1e-6));
    CHECK_FALSE(model.visual.patch_dropout.active());
}

TEST_CASE("patch dropout: a resumed run draws the patches of the uninterrupted run") {
    const auto dir = temp_dir("resume-patch-dropout");
    const auto path = dir / "ck.safetensors";
    model::OpenAiClip<double, cpu> plain(model::preset("tiny"), 3);
    optim::AdamW<double, cpu> plain_opt(plain);
    const auto every_patch = run_steps(plain, plain_opt, {}, 14, 14);

    model::OpenAiClip<double, cpu> straight(model::preset("tiny"), 3);
    straight.visual.patch_dropout.enable(0.5, 17);
    optim::AdamW<double, cpu> straight_opt(straight);
    const auto all = run_steps(straight, straight_opt, {}, 14, 14);
    REQUIRE(all.size() == 14);
    CHECK(all.front() != doctest::Approx(every_patch.front()).epsilon(1e-6));  // fit dropped patches
    CHECK_FALSE(straight.visual.patch_dropout.active());                     // and only during its steps

    model::OpenAiClip<double, cpu> first(model::preset("tiny"), 3);
    first.visual.patch_dropout.enable(0.5, 17);
    optim::AdamW<double, cpu> first_opt(first);
    const auto head = run_steps(first, first_opt, {}, 5, 14, &path);
    REQUIRE(head.size() == 5);

    model::OpenAiClip<double, cpu> resumed(model::preset("tiny"), 99);
    resumed.visual.patch_dropout.enable(0.5, 17);  // a training setting: not in the checkpoint
    optim::AdamW<double, cpu> resumed_opt(resumed);
    io::load_checkpoint(path, resumed, &resumed_opt);
    train::State state;
    state.step = 5;
    const auto tail = run_steps(resumed, resumed_opt, state, 14, 14);
    REQUIRE(tail.size() == 9);
    for (std::size_t i = 0; i < 5; ++i) CHECK(head[i] == all[i]);
    for (std::size_t i = 0; i < 9; ++i) CHECK_MESSAGE(tail[i] == doctest::Approx(all[5 + i]).epsilon(1e-12), "step ", 6 + i);
    fs::remove_all(dir);
}

TEST_CASE("patch dropout: gradient accumulation recomputes each micro-batch with the patches of its first pass") {
    model::OpenAiClip<double, cpu> model(model::preset("tiny"), 3);
    model.visual.patch_dropout.enable(0.5, 17);
    const std::vector<std::int64_t> indices{0, 1, 2, 3, 4, 5, 6, 7};
    const auto batch = SyntheticPairs{}.batch(indices, 0);
    const auto images = cast<double>(batch.images);  // [8, 3, 8, 8]
    const nn::StepScope in_step(model, 4);
    // The loss over the features of the two micro-batches of 4, each encoded on its own.
    auto image_features = Tensor<double, cpu>::empty(Shape{8, 8}), text_features = Tensor<double, cpu>::empty(Shape{8, 8});
    for (std::int64_t j = 0; j < 2; ++j) {
        auto image_rows = image_features.rows(4 * j, 4 * j + 4), text_rows = text_features.rows(4 * j, 4 * j + 4);
        copy(model.encode_image(images.rows(4 * j, 4 * j + 4)).value(), image_rows);
        copy(model.encode_text(batch.tokens.rows(4 * j, 4 * j + 4)).value(), text_rows);
    }
    const double expected = double(model.loss_fn(Var<double, cpu>(image_features), Var<double, cpu>(text_features)).value()[0]);
    Tape tape;
    const double accumulated = train::accumulate_gradients(model, images, batch.tokens, 2, tape);
    CHECK(accumulated == doctest::Approx(expected).epsilon(1e-12));
}
