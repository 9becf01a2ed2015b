// The shapes demo's default recipe over its first two epochs (780 steps), trained once and checked
// twice:
// - zero-shot accuracy holds while it trains. With one caption grammar ("a small red triangle on
//   the left.") the default run (`contra train --dataset shapes`: 50,000 pairs, 10 epochs, cosine
//   from 2e-3) checked 77% at step 390 and 49% at step 780 on the prompts ("a photo of a red
//   triangle."), and 9% from step 2,340 on, while its loss kept falling: the text tower learned the
//   one grammar's word positions. Varied phrasings (data/shapes.hpp kTrainFrames, captions naming
//   only some attributes) hold it.
// - LiT (Zhai et al., 2022): a fresh text tower trained against the run's image tower, locked,
//   reaches the run's accuracy on the held-out colour–shape combinations in half the steps
//   (measured: 84% against 76%; in a quarter of the steps it fell short, 73%).
#include <doctest/doctest.h>

#include <atomic>
#include <contra/tasks/evaluate.hpp>
#include <contra/tasks/shapes.hpp>
#include <contra/train/trainer.hpp>
#include <memory>

#include "../support/zero_shot_setup.hpp"

using namespace contra;
namespace sh = data::shapes;

namespace {

using ShapesClip = model::OpenAiClip<float, cpu>;

const test::ZeroShotSetup& shapes_setup() {
    static const auto setup = [] {
        std::vector<std::string> class_names;
        for (const auto& c : sh::classes()) class_names.push_back(c.name);
        return test::zero_shot_setup(tasks::shapes_corpus(), class_names,
                                     {sh::kEvalTemplates.begin(), sh::kEvalTemplates.end()}, "shapes");
    }();
    return setup;
}

// Zero-shot top-1 over all 36 colour–shape names on the first n images of a split.
double zero_shot_top1(const ShapesClip& model, sh::Split split, std::int64_t n) {
    const auto& s = shapes_setup();
    const tasks::ImageSource images = [split](std::int64_t b, std::int64_t e) {
        return sh::make_batch(std::uint64_t(b), e - b, 0, split).images;
    };
    std::vector<eval::Label> labels;
    for (std::int64_t i = 0; i < n; ++i) labels.push_back(sh::draw_attributes(std::uint64_t(i), 0, split).label());
    const auto classifier = tasks::zero_shot_classifier(model, s.encoder, s.names, s.templates);
    return tasks::zero_shot(tasks::embed_images(model, images, n), classifier, labels).top1;
}

// The program's training options over a schedule of `epochs` epochs of 50,000 pairs.
train::Options recipe(std::int64_t epochs) {
    train::Options options;
    options.batch_size = 128;
    options.lr = 2e-3;
    options.warmup_steps = 50;
    options.epochs = epochs;
    return options;
}

struct UnlockedRun {
    std::unique_ptr<ShapesClip> model;
    std::vector<double> test_top1;  // the first 1,000 test images (the program's check), steps 390 and 780
    double held_out_top1 = 0;       // 600 images of the held-out combinations, at step 780
};

// The default recipe (a 3,900-step cosine schedule), stopped after its first 780 steps.
const UnlockedRun& unlocked_run() {
    static const UnlockedRun run = [] {
        const auto& s = shapes_setup();
        UnlockedRun r{std::make_unique<ShapesClip>(s.config, 0), {}, 0};
        auto optimizer = test::adamw_for(*r.model);
        const tasks::ShapesPairs pairs(50000, s.encoder, 0);  // the program's defaults
        auto options = recipe(10);
        std::atomic<bool> stop{false};
        options.stop = &stop;
        train::Hooks hooks;
        hooks.on_step = [&](const train::StepRecord& step, const train::State&) {
            if (step.step % 390 != 0) return;  // the end of each epoch
            r.test_top1.push_back(zero_shot_top1(*r.model, sh::Split::test, 1000));
            if (step.step == 780) stop = true;
        };
        train::fit(*r.model, optimizer, pairs, options, hooks);
        r.held_out_top1 = zero_shot_top1(*r.model, sh::Split::held_out, 600);
        return r;
    }();
    return run;
}

}  // namespace

TEST_CASE("shapes: zero-shot accuracy holds over the default recipe's first two epochs") {
    const auto& run = unlocked_run();
    REQUIRE(run.test_top1.size() == 2);
    MESSAGE("zero-shot top-1 at steps 390 and 780: ", run.test_top1[0], ", ", run.test_top1[1]);
    CHECK(run.test_top1[0] > 0.5);                     // chance is 1/36
    CHECK(run.test_top1[1] >= run.test_top1[0] - 0.03);  // one grammar: 77% → 49%
}

TEST_CASE("shapes: LiT, a fresh text tower on the locked image tower, reaches the unlocked run's held-out accuracy") {
    const auto& s = shapes_setup();
    const auto& unlocked = unlocked_run();
    ShapesClip lit(s.config, 1);                          // a fresh model (another seed)...
    copy_parameters(unlocked.model->visual, lit.visual);  // ...with the trained image tower,
    freeze(lit.visual);                                   // locked
    auto optimizer = test::adamw_for(lit);
    const tasks::ShapesPairs pairs(50000, s.encoder, 1);
    train::fit(lit, optimizer, pairs, recipe(1), {});  // one epoch: a 390-step cosine schedule
    const double lit_held_out = zero_shot_top1(lit, sh::Split::held_out, 600);
    MESSAGE("held-out combinations, zero-shot top-1: unlocked 780 steps ", unlocked.held_out_top1, ", LiT 390 steps ",
            lit_held_out);
    CHECK(lit_held_out >= unlocked.held_out_top1);
    // The locked tower did not move.
    std::vector<float> a, b;
    for_each_parameter(unlocked.model->visual, [&](const std::string&, auto& p) {
        const auto v = p.value();
        a.insert(a.end(), v.data(), v.data() + v.numel());
    });
    for_each_parameter(lit.visual, [&](const std::string&, auto& p) {
        const auto v = p.value();
        b.insert(b.end(), v.data(), v.data() + v.numel());
    });
    CHECK(a == b);
}
