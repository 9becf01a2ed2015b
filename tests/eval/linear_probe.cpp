// The linear probe: its gradient against finite differences, the optimum's conditions, separable
// and random-label data, the solvers against each other, standardisation and determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <contra/eval/linear_probe.hpp>
#include <vector>

#include "../support/compare.hpp"

using namespace contra;
using namespace contra::eval;

namespace {

struct Dataset {
    Tensor<float, cpu> features;  // [N, E]
    std::vector<Label> labels;    // [N]
};

// Gaussian blobs: class c centred at 4·e_c (E ≥ C), noise σ = 0.5. Neighbouring centres are 5.7 apart,
// so a linear classifier separates them without error at any realistic sample size.
Dataset blobs(std::int64_t n, std::int64_t e, std::int64_t classes, std::uint64_t seed) {
    Dataset d{Tensor<float, cpu>::empty(Shape{n, e}), std::vector<Label>(std::size_t(n))};
    Rng rng(seed, 1);
    for (std::int64_t i = 0; i < n; ++i) {
        const auto c = Label(rng.below(std::uint64_t(classes)));
        d.labels[std::size_t(i)] = c;
        for (std::int64_t k = 0; k < e; ++k) d.features.at(i, k) = float((k == c ? 4.0 : 0.0) + 0.5 * rng.normal());
    }
    return d;
}

// Features and labels drawn independently: nothing to learn.
Dataset noise(std::int64_t n, std::int64_t e, std::int64_t classes, std::uint64_t seed) {
    Dataset d{test::random_tensor<float>(Shape{n, e}, seed), std::vector<Label>(std::size_t(n))};
    Rng rng(seed, 2);
    for (auto& y : d.labels) y = Label(rng.below(std::uint64_t(classes)));
    return d;
}

// Labels from a random linear map of the features (separable, but with points near the boundaries).
Dataset linear_labels(std::int64_t n, std::int64_t e, std::int64_t classes, std::uint64_t seed) {
    Dataset d{test::random_tensor<float>(Shape{n, e}, seed), std::vector<Label>(std::size_t(n))};
    const auto w = test::random_tensor<double>(Shape{e, classes}, 99);
    for (std::int64_t i = 0; i < n; ++i) {
        double best = -INFINITY;
        for (std::int64_t c = 0; c < classes; ++c) {
            double s = 0;
            for (std::int64_t k = 0; k < e; ++k) s += double(d.features.at(i, k)) * w.at(k, c);
            if (s > best) best = s, d.labels[std::size_t(i)] = Label(c);
        }
    }
    return d;
}

}  // namespace

TEST_CASE("linear probe objective: the gradient equals central finite differences") {
    const std::int64_t n = 7, e = 3, classes = 4;
    LinearProbeObjective<> f;
    f.design = test::random_tensor<double>(Shape{n, e + 1}, 1);
    for (std::int64_t i = 0; i < n; ++i) f.design.at(i, e) = 1.0;
    f.labels = Tensor<Label, cpu>::from(Shape{n}, {0, 3, 1, 1, 2, 0, 3});
    f.classes = classes;
    f.lambda = 0.3;
    auto w = test::random_tensor<double>(Shape{e + 1, classes}, 2);
    auto g = Tensor<double, cpu>::empty(w.shape());
    f(w, &g);
    const double h = 1e-6;
    for (std::int64_t i = 0; i < w.numel(); ++i) {
        const double keep = w[i];
        w[i] = keep + h;
        const double up = f(w);
        w[i] = keep - h;
        const double down = f(w);
        w[i] = keep;
        CAPTURE(i);
        CHECK(g[i] == doctest::Approx((up - down) / (2 * h)).epsilon(1e-6));
    }
    // The bias row (the last) is not penalised: with a single class-independent shift the loss is unchanged.
    auto shifted = w.clone();
    for (std::int64_t c = 0; c < classes; ++c) shifted.at(e, c) += 5.0;
    CHECK(f(shifted) == doctest::Approx(f(w)).epsilon(1e-12));

    CHECK_THROWS_WITH_AS(f(Tensor<double, cpu>::zeros(Shape{e, classes})), doctest::Contains("weights [3,4] should be [4,4]"),
                         Error);
}

TEST_CASE("linear probe: 100% on separable blobs, the loss decreases, the optimum's conditions hold") {
    const auto train = blobs(400, 8, 4, 1), test_set = blobs(400, 8, 4, 2);
    LinearProbeOptions o;
    o.tolerance = 1e-9;
    const auto probe = LinearProbe::fit(train.features, train.labels, 4, o);
    CHECK(probe.converged);
    CHECK(probe.feature_dim() == 8);
    CHECK(probe.classes() == 4);
    CHECK(probe.accuracy(train.features, train.labels) == 1.0);
    CHECK(probe.accuracy(test_set.features, test_set.labels) == 1.0);

    REQUIRE(probe.loss_history.size() >= 2);
    CHECK(probe.loss_history.back() < 0.5 * probe.loss_history.front());
    for (std::size_t i = 1; i < probe.loss_history.size(); ++i) {
        CAPTURE(i);
        CHECK(probe.loss_history[i] <= probe.loss_history[i - 1]);
    }
    CHECK(probe.loss_history.front() == doctest::Approx(std::log(4.0)));  // W = 0: uniform predictions

    // With an unpenalised bias, the mean predicted probability of each class equals its frequency.
    const auto logits = probe.decision_function(train.features);  // [N, C]
    std::vector<double> predicted(4, 0.0), observed(4, 0.0);
    for (std::int64_t i = 0; i < logits.size(0); ++i) {
        double z = 0;
        for (std::int64_t c = 0; c < 4; ++c) z += std::exp(logits.at(i, c));
        for (std::int64_t c = 0; c < 4; ++c) predicted[std::size_t(c)] += std::exp(logits.at(i, c)) / z / 400.0;
        observed[std::size_t(train.labels[std::size_t(i)])] += 1.0 / 400.0;
    }
    for (int c = 0; c < 4; ++c) CHECK(predicted[std::size_t(c)] == doctest::Approx(observed[std::size_t(c)]).epsilon(1e-6));
}

TEST_CASE("linear probe: near chance on a held-out split when labels are random") {
    const auto train = noise(1000, 16, 10, 3), held_out = noise(2000, 16, 10, 4);
    const auto probe = LinearProbe::fit(train.features, train.labels, 10);
    const double acc = probe.accuracy(held_out.features, held_out.labels);
    CHECK(acc > 0.05);
    CHECK(acc < 0.16);  // chance is 0.10 (σ ≈ 0.007 over 2000 samples)
    CHECK(probe.accuracy(train.features, train.labels) > acc);  // it does fit the training noise a little
}

TEST_CASE("linear probe: a linear labelling is learned; stronger regularisation shrinks the weights") {
    const auto train = linear_labels(2000, 6, 5, 5), held_out = linear_labels(2000, 6, 5, 6);
    LinearProbeOptions loose;
    loose.C = 100;
    const auto probe = LinearProbe::fit(train.features, train.labels, 5, loose);
    CHECK(probe.accuracy(train.features, train.labels) > 0.97);
    CHECK(probe.accuracy(held_out.features, held_out.labels) > 0.95);

    LinearProbeOptions tight;
    tight.C = 0.001;
    const auto small = LinearProbe::fit(train.features, train.labels, 5, tight);
    auto weight_norm = [](const LinearProbe& p) {
        double s = 0;
        for (std::int64_t i = 0; i < p.feature_dim() * p.classes(); ++i) s += p.weights[i] * p.weights[i];
        return std::sqrt(s);
    };
    CHECK(weight_norm(small) < 0.5 * weight_norm(probe));
}

TEST_CASE("linear probe: gradient descent reaches the L-BFGS optimum; mini-batches are seeded") {
    const auto train = linear_labels(300, 4, 3, 7);
    LinearProbeOptions lbfgs;
    lbfgs.C = 1.0;
    lbfgs.tolerance = 1e-10;
    lbfgs.relative_decrease = 0;
    const auto a = LinearProbe::fit(train.features, train.labels, 3, lbfgs);
    CHECK(a.converged);

    LinearProbeOptions gd = lbfgs;
    gd.solver = ProbeSolver::gradient_descent;  // step 1/L from the Lipschitz bound
    gd.tolerance = 1e-7;
    gd.max_iterations = 200000;
    const auto b = LinearProbe::fit(train.features, train.labels, 3, gd);
    CHECK(b.converged);
    CHECK(b.loss_history.back() == doctest::Approx(a.loss_history.back()).epsilon(1e-9));
    CHECK(test::max_abs_diff(a.weights, b.weights) < 1e-4);
    for (std::size_t i = 1; i < b.loss_history.size(); ++i) REQUIRE(b.loss_history[i] <= b.loss_history[i - 1]);

    LinearProbeOptions sgd = lbfgs;
    sgd.solver = ProbeSolver::gradient_descent;
    sgd.batch_size = 32;
    sgd.learning_rate = 0.5;
    sgd.max_iterations = 30;
    sgd.seed = 1;
    const auto c1 = LinearProbe::fit(train.features, train.labels, 3, sgd);
    const auto c2 = LinearProbe::fit(train.features, train.labels, 3, sgd);
    sgd.seed = 2;
    const auto c3 = LinearProbe::fit(train.features, train.labels, 3, sgd);
    CHECK(test::max_abs_diff(c1.weights, c2.weights) == 0.0);
    CHECK(test::max_abs_diff(c1.weights, c3.weights) > 0.0);
    CHECK(c1.loss_history.size() == 31);
    CHECK(c1.loss_history.back() < c1.loss_history.front());
    CHECK(c1.loss_history.back() < a.loss_history.back() + 0.05);
}

TEST_CASE("linear probe: the same bits for any thread count") {
    const int threads = num_threads();
    for (std::int64_t n : {500, 20000}) {  // one chunk of rows, and several
        const auto train = linear_labels(n, 8, 4, 10);
        for (auto solver : {ProbeSolver::lbfgs, ProbeSolver::gradient_descent}) {
            LinearProbeOptions o;
            o.solver = solver;
            o.max_iterations = 50;
            set_num_threads(1);
            const auto one = LinearProbe::fit(train.features, train.labels, 4, o);
            set_num_threads(2);
            const auto two = LinearProbe::fit(train.features, train.labels, 4, o);
            set_num_threads(threads);
            CAPTURE(n);
            CHECK(test::max_abs_diff(one.weights, two.weights) == 0.0);
            CHECK(one.loss_history == two.loss_history);
        }
    }
}

TEST_CASE("linear probe: deterministic, and standardisation makes it blind to feature scale and offset") {
    const auto train = linear_labels(500, 5, 4, 8);
    const auto a = LinearProbe::fit(train.features, train.labels, 4);
    const auto again = LinearProbe::fit(train.features, train.labels, 4);
    CHECK(test::max_abs_diff(a.weights, again.weights) == 0.0);

    auto rescaled = Tensor<double, cpu>::empty(train.features.shape());  // feature k → (k+1)·1000·x + 7
    for (std::int64_t i = 0; i < rescaled.size(0); ++i)
        for (std::int64_t k = 0; k < rescaled.size(1); ++k)
            rescaled.at(i, k) = double(k + 1) * 1000.0 * double(train.features.at(i, k)) + 7.0;
    const auto b = LinearProbe::fit(rescaled, train.labels, 4);
    CHECK(test::max_abs_diff(a.weights, b.weights) < 1e-4);
    CHECK(a.predict(train.features) == b.predict(rescaled));
}

TEST_CASE("linear probe rejects mismatched sizes and bad labels, naming the shapes") {
    const auto d = blobs(10, 3, 3, 9);
    CHECK_THROWS_WITH_AS(LinearProbe::fit(d.features, std::vector<Label>(9, 0), 3),
                         doctest::Contains("9 labels for features [10,3]"), Error);
    auto bad = d.labels;
    bad[4] = 3;
    CHECK_THROWS_WITH_AS(LinearProbe::fit(d.features, bad, 3), doctest::Contains("label 3 at position 4"), Error);
    CHECK_THROWS_AS(LinearProbe::fit(d.features, d.labels, 1), Error);
    LinearProbeOptions o;
    o.C = 0;
    CHECK_THROWS_AS(LinearProbe::fit(d.features, d.labels, 3, o), Error);
    auto nan = d.features.clone();
    nan.at(2, 2) = NAN;
    CHECK_THROWS_WITH_AS(LinearProbe::fit(nan, d.labels, 3), doctest::Contains("NaN"), Error);

    const auto probe = LinearProbe::fit(d.features, d.labels, 3);
    CHECK_THROWS_WITH_AS(probe.predict(Tensor<float, cpu>::zeros(Shape{4, 5})), doctest::Contains("features [4,5] must be [N, 3]"),
                         Error);
    CHECK_THROWS_WITH_AS(probe.accuracy(d.features, std::vector<Label>(3, 0)), doctest::Contains("3 labels for features [10,3]"),
                         Error);
}
