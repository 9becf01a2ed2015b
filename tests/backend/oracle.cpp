// The reference backend against answers worked out by hand: the oracle itself must be right.
#include <doctest/doctest.h>

#include "../support/compare.hpp"

using namespace contra;

TEST_CASE("reference gemm: a 2x3 times 3x2 product, transposes and beta") {
    auto a = Tensor<double>::from({2, 3}, {1, 2, 3, 4, 5, 6});
    auto b = Tensor<double>::from({3, 2}, {7, 8, 9, 10, 11, 12});
    auto c = Tensor<double>::full(Shape{2, 2}, 1.0);
    ops::gemm(reference{}, ops::Trans::N, ops::Trans::N, 1.0, a, b, 2.0, c);
    CHECK(c.to_vector() == std::vector<double>{60, 66, 141, 156});
    auto ct = Tensor<double>::empty(Shape{3, 3});
    ops::gemm(reference{}, ops::Trans::T, ops::Trans::T, 1.0, a, b, 0.0, ct);  // aᵀ bᵀ
    CHECK(ct.at(0, 0) == 1 * 7 + 4 * 8);
    CHECK(ct.at(2, 1) == 3 * 9 + 6 * 10);
}

TEST_CASE("reference softmax, log-softmax and cross-entropy: closed forms") {
    auto x = Tensor<double>::from({1, 3}, {0, std::log(2.0), std::log(5.0)});
    auto y = Tensor<double>::empty(x.shape());
    ops::softmax(reference{}, x, {}, static_cast<const Tensor<double>*>(nullptr), y);
    CHECK(y[0] == doctest::Approx(1.0 / 8));
    CHECK(y[2] == doctest::Approx(5.0 / 8));
    auto causal = Tensor<double>::from({2, 2}, {3, 1000, 0, 0});
    auto yc = Tensor<double>::empty(causal.shape());
    ops::softmax(reference{}, causal, {true}, static_cast<const Tensor<double>*>(nullptr), yc);
    CHECK(yc.to_vector() == std::vector<double>{1, 0, 0.5, 0.5});
    auto loss = Tensor<double>::empty(Shape{1}), lse = Tensor<double>::empty(Shape{1});
    ops::cross_entropy(reference{}, x, Tensor<ops::Index>::from({1}, {1}), loss, lse);
    CHECK(loss[0] == doctest::Approx(std::log(8.0) - std::log(2.0)));
}

TEST_CASE("reference layer norm and l2 normalisation: closed forms") {
    auto x = Tensor<double>::from({1, 4}, {1, 2, 3, 4});
    auto g = Tensor<double>::from({4}, {1, 1, 2, 1}), b = Tensor<double>::from({4}, {0, 0, 0, 10});
    auto y = Tensor<double>::empty(x.shape()), mu = Tensor<double>::empty(Shape{1}), rs = Tensor<double>::empty(Shape{1});
    ops::layer_norm(reference{}, x, g, b, 0.0, y, mu, rs);
    const double sd = std::sqrt(1.25);
    CHECK(mu[0] == 2.5);
    CHECK(y[0] == doctest::Approx(-1.5 / sd));
    CHECK(y[2] == doctest::Approx(2 * 0.5 / sd));
    CHECK(y[3] == doctest::Approx(10 + 1.5 / sd));
    auto v = Tensor<double>::from({1, 2}, {3, 4});
    auto n = Tensor<double>::empty(Shape{1}), out = Tensor<double>::empty(v.shape());
    ops::l2_normalize(reference{}, v, 1e-12, out, n);
    CHECK(n[0] == 5);
    CHECK(out.to_vector() == std::vector<double>{0.6, 0.8});
}

TEST_CASE("reference activations: known values") {
    auto x = Tensor<double>::from({3}, {-1, 0, 2});
    auto y = Tensor<double>::empty(x.shape());
    ops::activation(reference{}, ops::Activation::quick_gelu, x, y);
    CHECK(y[2] == doctest::Approx(2 / (1 + std::exp(-3.404))));
    ops::activation(reference{}, ops::Activation::gelu, x, y);
    CHECK(y[0] == doctest::Approx(-0.15865525393145707));
    ops::activation(reference{}, ops::Activation::relu, x, y);
    CHECK(y.to_vector() == std::vector<double>{0, 0, 2});
}

TEST_CASE("log-sigmoid stays finite and exact for large |x| on every CPU backend") {
    auto x = Tensor<double>::from({4}, {-1000, -2, 0, 1000});
    for (int backend = 0; backend < 2; ++backend) {
        auto y = Tensor<double>::empty(x.shape());
        if (backend == 0) ops::unary(reference{}, ops::UnaryOp::log_sigmoid, x, y);
        else ops::unary(cpu{}, ops::UnaryOp::log_sigmoid, x, y);
        CHECK(y[0] == doctest::Approx(-1000.0));
        CHECK(y[1] == doctest::Approx(std::log(1 / (1 + std::exp(2.0)))));
        CHECK(y[2] == doctest::Approx(-std::log(2.0)));
        CHECK(y[3] == doctest::Approx(0.0));
    }
}

TEST_CASE("reference conv2d: a 3x3 box filter with padding 1") {
    auto x = Tensor<double>::full(Shape{1, 1, 3, 3}, 1.0);
    auto w = Tensor<double>::full(Shape{1, 1, 3, 3}, 1.0);
    auto y = Tensor<double>::empty(Shape{1, 1, 3, 3});
    ops::conv2d(reference{}, x, w, {1, 1}, y);
    CHECK(y.to_vector() == std::vector<double>{4, 6, 4, 6, 9, 6, 4, 6, 4});
}

TEST_CASE("reference adamw: first step equals torch's AdamW by hand") {
    auto p = Tensor<double>::from({1}, {1.0});
    auto g = Tensor<double>::from({1}, {0.5});
    auto m = Tensor<double>::zeros(Shape{1}), v = Tensor<double>::zeros(Shape{1});
    ops::adamw(reference{}, p, g, m, v, {0.1, 0.9, 0.999, 1e-8, 0.01, 1});
    // p·(1 − lr·wd) − lr · m̂ / (sqrt(v̂) + eps) with m̂ = g, v̂ = g²
    CHECK(p[0] == doctest::Approx(1.0 * (1 - 0.001) - 0.1 * 0.5 / (0.5 + 1e-8)));
    CHECK(m[0] == doctest::Approx(0.05));
    CHECK(v[0] == doctest::Approx(0.00025));
}

TEST_CASE("the contract rejects mismatched shapes with both shapes in the message") {
    auto a = Tensor<float>::zeros(Shape{2, 3}), b = Tensor<float>::zeros(Shape{4, 5}), c = Tensor<float>::zeros(Shape{2, 5});
    CHECK_THROWS_WITH_AS(ops::gemm(cpu{}, ops::Trans::N, ops::Trans::N, 1.0f, a, b, 0.0f, c),
                         doctest::Contains("A [2,3], B [4,5], C [2,5]"), Error);
    auto y = Tensor<float>::zeros(Shape{2, 4});
    auto mu = Tensor<float>::zeros(Shape{2});
    CHECK_THROWS_WITH_AS(ops::layer_norm(cpu{}, a, mu, mu, 1e-5, y, mu, mu), doctest::Contains("input and output shapes differ"),
                         Error);
}
