// Patch dropout (FLIP) in the ViT image tower: the kept rows (count, class row, order, draws named
// by seed, step and image), no dropping outside a training step or at rate 0 (bit-identical), the
// tower's output against a composition by hand of the kept tokens, the step scope through Clip,
// and a float64 gradcheck of the tower with dropout on.
#include <doctest/doctest.h>

#include <contra/nn/nn.hpp>
#include <set>

#include "../support/compare.hpp"

using namespace contra;
using test::random_tensor;

static_assert(nn::StepAware<nn::OpenAiVision<double, cpu>>);
static_assert(nn::StepAware<model::OpenAiClip<double, cpu>>);
static_assert(!nn::StepAware<nn::OpenAiText<double, cpu>>);
static_assert(!nn::StepAware<nn::ModifiedResNet<double, cpu>>);

namespace {
std::vector<std::int64_t> to_vector(const Tensor<ops::Index, cpu>& t) {
    std::vector<std::int64_t> v;
    for (std::int64_t i = 0; i < t.numel(); ++i) v.push_back(t[i]);
    return v;
}

// The tiny preset's tower (image 8, patch 4: 4 patches, width 16) with random weights.
template <class T, class B>
nn::OpenAiVision<T, B> tiny_tower() {
    const auto c = model::preset("tiny");
    nn::OpenAiVision<T, B> tower(c.vision, c.embed_dim);
    for_each_parameter(tower, [&](const std::string& name, auto& p) { init_normal(p, 0.5, 3, name); });
    return tower;
}

// The tower's tokens before ln_pre, [N, T, W]: class embedding and patch embeddings plus the
// positional embedding, added on the host.
template <class B>
Tensor<double, cpu> tokens_before_ln_pre(const nn::OpenAiVision<double, B>& m, const TensorOn<double, B>& images) {
    using V = Var<double, B>;
    const auto& c = m.config;
    const std::int64_t n = images.size(0), p = c.grid() * c.grid(), w = c.width, d = c.channels * c.patch_size * c.patch_size;
    const auto pixels = ad::im2patch(V(images), int(c.patch_size));                            // [N, P, D]
    const auto embedded = to_device<cpu>(ad::matmul(pixels.reshape(Shape{n * p, d}), V(m.conv1).reshape(Shape{w, d}),
                                                    ops::Trans::N, ops::Trans::T).value());   // [N·P, W]
    const auto cls = to_device<cpu>(m.class_embedding.value()), pos = to_device<cpu>(m.positional_embedding.value());
    auto out = Tensor<double, cpu>::empty(Shape{n, 1 + p, w});
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t t = 0; t <= p; ++t)
            for (std::int64_t j = 0; j < w; ++j)
                out[(i * (1 + p) + t) * w + j] = (t == 0 ? cls[j] : embedded[(i * p + t - 1) * w + j]) + pos[t * w + j];
    return out;
}
}  // namespace

TEST_CASE("patch dropout: keep counts as open_clip's max(1, int(P·(1 − rate))), and the rate's range") {
    nn::PatchDropout d;
    CHECK(d.keep_count(49) == 49);
    d.enable(0.5, 1);
    CHECK(d.keep_count(49) == 24);
    CHECK(d.keep_count(4) == 2);
    d.enable(0.75, 1);
    CHECK(d.keep_count(49) == 12);
    CHECK(d.keep_count(196) == 49);
    d.enable(0.9, 1);
    CHECK(d.keep_count(4) == 1);  // int(0.4) = 0: one patch is always kept
    CHECK_THROWS_AS(d.enable(1.0, 1), Error);
    CHECK_THROWS_AS(d.enable(-0.1, 1), Error);
    CHECK_THROWS_AS(d.begin_step(-1), Error);
}

TEST_CASE("patch dropout: the kept rows — class row, K distinct sorted patches, named by (seed, step, image)") {
    nn::PatchDropout d;
    d.enable(0.5, 42);
    const std::int64_t n = 6, tokens = 50, k = 24;  // ViT-B/32: 49 patches
    const auto rows = to_vector(d.kept_rows(n, tokens, 3));
    REQUIRE(rows.size() == std::size_t(n * (1 + k)));
    for (std::int64_t i = 0; i < n; ++i) {
        const auto first = rows.begin() + i * (1 + k);
        CHECK(*first == i * tokens);  // the class token
        for (std::int64_t j = 1; j <= k; ++j) {
            CHECK(first[j] > i * tokens);
            CHECK(first[j] < (i + 1) * tokens);
            if (j > 1) CHECK(first[j] > first[j - 1]);  // increasing: distinct and sorted
        }
    }
    CHECK(to_vector(d.kept_rows(n, tokens, 3)) == rows);  // reproducible
    nn::PatchDropout same;
    same.enable(0.5, 42);
    CHECK(to_vector(same.kept_rows(n, tokens, 3)) == rows);
    // Image i's draw does not depend on the batch around it.
    const auto two = to_vector(d.kept_rows(2, tokens, 3));
    CHECK(std::equal(two.begin(), two.end(), rows.begin()));

    auto patches_of = [&](const std::vector<std::int64_t>& r, std::int64_t i) {  // image i's kept patches
        std::vector<std::int64_t> p;
        for (std::int64_t j = 1; j <= k; ++j) p.push_back(r[std::size_t(i * (1 + k) + j)] - i * tokens);
        return p;
    };
    CHECK(patches_of(rows, 0) != patches_of(rows, 1));                                // across images
    CHECK(patches_of(rows, 0) != patches_of(to_vector(d.kept_rows(n, tokens, 4)), 0)); // across steps
    nn::PatchDropout other;
    other.enable(0.5, 43);
    CHECK(patches_of(rows, 0) != patches_of(to_vector(other.kept_rows(n, tokens, 3)), 0));  // across seeds

    // Uniform: over 4000 images each patch is kept about K/P of the time (binomial, ±5σ).
    const std::int64_t many = 4000;
    std::vector<std::int64_t> kept(49, 0);
    const auto all = to_vector(d.kept_rows(many, tokens, 9));
    for (std::int64_t i = 0; i < many; ++i)
        for (auto p : patches_of(all, i)) ++kept[std::size_t(p - 1)];
    const double q = double(k) / 49, mean = many * q, sigma = std::sqrt(many * q * (1 - q));
    for (auto c : kept) CHECK(std::abs(double(c) - mean) < 5 * sigma);
}

TEST_CASE_TEMPLATE("patch dropout: nothing is dropped at rate 0 or outside a training step", B, reference, cpu) {
    auto tower = tiny_tower<double, B>();
    const auto images = to_device<device_of<B>>(random_tensor(Shape{3, 3, 8, 8}, 4));
    const auto full = to_device<cpu>(tower.encode(images).value());  // [3, E]

    tower.patch_dropout.enable(0.0, 7);
    {
        const nn::StepScope in_step(tower, 5);
        CHECK_FALSE(tower.patch_dropout.active());
        CHECK(test::max_abs_diff(to_device<cpu>(tower.encode(images).value()), full) == 0);  // bit-identical
    }
    tower.patch_dropout.enable(0.5, 7);
    CHECK_FALSE(tower.patch_dropout.active());  // evaluation: no step in progress
    CHECK(test::max_abs_diff(to_device<cpu>(tower.encode(images).value()), full) == 0);
    {
        const nn::StepScope in_step(tower, 5);
        CHECK(tower.patch_dropout.active());
        CHECK(test::max_abs_diff(to_device<cpu>(tower.encode(images).value()), full) > 1e-6);  // patches were dropped
    }
    CHECK_FALSE(tower.patch_dropout.active());  // the scope ended the step
    CHECK(test::max_abs_diff(to_device<cpu>(tower.encode(images).value()), full) == 0);
}

TEST_CASE_TEMPLATE("patch dropout: the tower equals the blocks run on each image's kept tokens alone", B, reference, cpu) {
    using V = Var<double, B>;
    auto tower = tiny_tower<double, B>();
    const std::int64_t n = 3, step = 11;
    const auto images = to_device<device_of<B>>(random_tensor(Shape{n, 3, 8, 8}, 5));
    tower.patch_dropout.enable(0.5, 9);
    Tensor<double, cpu> dropped;  // [N, E]
    {
        const nn::StepScope in_step(tower, step);
        dropped = to_device<cpu>(tower.encode(images).value());
    }
    const auto tokens = tokens_before_ln_pre(tower, images);  // [N, T, W]
    const std::int64_t t = tower.config.tokens(), w = tower.config.width, k = tower.patch_dropout.keep_count(t - 1);
    const auto rows = to_vector(tower.patch_dropout.kept_rows(n, t, step));
    for (std::int64_t i = 0; i < n; ++i) {
        auto kept = Tensor<double, cpu>::empty(Shape{1, 1 + k, w});  // image i's class token and kept patches
        for (std::int64_t j = 0; j <= k; ++j)
            for (std::int64_t c = 0; c < w; ++c) kept[j * w + c] = tokens[rows[std::size_t(i * (1 + k) + j)] * w + c];
        const auto x = tower.transformer.forward(tower.ln_pre.forward(V(to_device<device_of<B>>(kept))));  // [1, 1+K, W]
        const auto first = x.reshape(Shape{1 + k, w});
        const auto cls = ad::gather_rows(first, to_device<device_of<B>>(Tensor<ops::Index, cpu>::zeros(Shape{1})));
        const auto expected = to_device<cpu>(ad::matmul(tower.ln_post.forward(cls), V(tower.proj)).value());  // [1, E]
        std::string why;
        CHECK_MESSAGE(test::close(dropped.rows(i, i + 1), expected, 1e-12, 1e-12, &why), "image ", i, ": ", why);
    }
}

TEST_CASE("patch dropout: Clip forwards the step to its image tower, and the scope ends it on an exception") {
    model::OpenAiClip<double, cpu> clip(model::preset("tiny"), 1);
    clip.visual.patch_dropout.enable(0.5, 2);
    {
        const nn::StepScope in_step(clip, 4);
        CHECK(clip.visual.patch_dropout.active());
        CHECK(clip.visual.patch_dropout.step == 4);
    }
    CHECK_FALSE(clip.visual.patch_dropout.active());
    try {
        const nn::StepScope in_step(clip, 5);
        throw Error("a failed step");
    } catch (const Error&) {
    }
    CHECK_FALSE(clip.visual.patch_dropout.active());
}

TEST_CASE_TEMPLATE("gradcheck: the ViT tower with patch dropout, and no gradient for dropped positions", B, reference, cpu) {
    auto tower = tiny_tower<double, B>();
    const auto images = to_device<device_of<B>>(random_tensor(Shape{3, 3, 8, 8}, 6));
    tower.patch_dropout.enable(0.5, 13);
    const nn::StepScope in_step(tower, 2);
    GradcheckOptions options;
    options.max_checks_per_input = 40;
    const auto report = gradcheck_module<B>(tower, [&](auto& m) { return m.encode(images); }, options);
    INFO(report.detail);
    CHECK(report.ok);

    // One image keeps 2 of its 4 patches: the positional embedding of the other two gets no gradient.
    for_each_parameter(tower, [](const std::string&, Parameter<double, B>& p) { p.zero_grad(); });
    Tape tape;
    Tape::Active on(tape);
    backward(ad::sum(tower.encode(images.rows(0, 1))));
    const auto rows = to_vector(tower.patch_dropout.kept_rows(1, 5, 2));
    const std::set<std::int64_t> kept(rows.begin(), rows.end());
    const auto g = to_device<cpu>(tower.positional_embedding.grad());  // [5, W]
    for (std::int64_t t = 0; t < 5; ++t) {
        double norm = 0;
        for (std::int64_t c = 0; c < tower.config.width; ++c) norm += std::abs(g[t * tower.config.width + c]);
        CHECK_MESSAGE((norm > 0) == kept.contains(t), "token ", t);
    }
}
