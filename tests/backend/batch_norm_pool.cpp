// Batch normalisation and average pooling: closed forms on the reference backend, and the cpu
// backend against the reference on awkward sizes (a channel with a mean of 1e4 included).
#include <doctest/doctest.h>

#include "../support/agree.hpp"

using namespace contra;
using test::random_tensor;

using test::agree;
using test::rand;

TEST_CASE("reference batch norm and average pooling: closed forms") {
    // One channel holding 1, 2, 3, 4 (over N = 2 and a 1×2 plane): mean 2.5, variance 1.25.
    auto x = Tensor<double>::from(Shape{2, 1, 1, 2}, {1, 2, 3, 4});
    auto mean = Tensor<double>::empty(Shape{1}), var = Tensor<double>::empty(Shape{1});
    ops::batch_norm2d_statistics(reference{}, x, mean, var);
    CHECK(mean[0] == doctest::Approx(2.5));
    CHECK(var[0] == doctest::Approx(1.25));
    auto gamma = Tensor<double>::full(Shape{1}, 2.0), beta = Tensor<double>::full(Shape{1}, 1.0);
    auto y = Tensor<double>::empty(x.shape()), rstd = Tensor<double>::empty(Shape{1});
    ops::batch_norm2d(reference{}, x, gamma, beta, mean, var, 0.0, y, rstd);
    CHECK(rstd[0] == doctest::Approx(1 / std::sqrt(1.25)));
    CHECK(y[0] == doctest::Approx(1 + 2 * (1 - 2.5) / std::sqrt(1.25)));
    CHECK(y[3] == doctest::Approx(1 + 2 * (4 - 2.5) / std::sqrt(1.25)));

    auto img = Tensor<double>::from(Shape{1, 1, 3, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
    auto pooled = Tensor<double>::empty(Shape{1, 1, 1, 2});
    ops::avg_pool2d(reference{}, img, 2, pooled);  // the last row and column fill no window
    CHECK(pooled.to_vector() == std::vector<double>{(1 + 2 + 6 + 7) / 4.0, (3 + 4 + 8 + 9) / 4.0});
    auto back = Tensor<double>::empty(img.shape());
    ops::avg_pool2d_backward(reference{}, Tensor<double>::from(Shape{1, 1, 1, 2}, {4, 8}), 2, back);
    CHECK(back.to_vector() == std::vector<double>{1, 1, 2, 2, 0, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0});
}

TEST_CASE_TEMPLATE("batch norm agrees in both forms, also for a channel with mean 1e4", T, float, double) {
    const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-11;
    for (auto s : {Shape{1, 1, 2, 1}, Shape{3, 4, 5, 7}, Shape{2, 3, 1, 1}, Shape{4, 2, 8, 8}}) {
        auto x = rand<T>(s, 40, 2.0);
        for (std::int64_t i = 0; i < s[2] * s[3]; ++i) x[i] = T(1e4 + double(x[i]));  // channel 0 of image 0
        const auto gamma = rand<T>(Shape{s[1]}, 41), beta = rand<T>(Shape{s[1]}, 42);
        agree<T>([&](auto be, auto& o) { ops::batch_norm2d_statistics(be, x, o[0], o[1]); }, {Shape{s[1]}, Shape{s[1]}},
                 tol, tol);
        auto mean = Tensor<T>::empty(Shape{s[1]}), var = Tensor<T>::empty(Shape{s[1]});
        ops::batch_norm2d_statistics(reference{}, x, mean, var);
        agree<T>([&](auto be, auto& o) { ops::batch_norm2d(be, x, gamma, beta, mean, var, 1e-5, o[0], o[1]); },
                 {s, Shape{s[1]}}, tol, tol);
        auto y = Tensor<T>::empty(s), rstd = Tensor<T>::empty(Shape{s[1]});
        ops::batch_norm2d(reference{}, x, gamma, beta, mean, var, 1e-5, y, rstd);
        const auto dy = rand<T>(s, 43);
        for (bool batch_statistics : {true, false})
            agree<T>([&](auto be, auto& o) {
                ops::batch_norm2d_backward(be, x, gamma, mean, rstd, dy, batch_statistics, o[0], o[1], o[2]);
            }, {s, Shape{s[1]}, Shape{s[1]}}, tol * 10, tol * 10);
    }
}

TEST_CASE_TEMPLATE("average pooling agrees (forward and adjoint), with dropped edges", T, float, double) {
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (auto [s, k] : {std::pair<Shape, int>{Shape{1, 1, 2, 2}, 2}, {Shape{2, 3, 9, 8}, 2}, {Shape{2, 2, 7, 7}, 3},
                        {Shape{1, 4, 5, 5}, 1}}) {
        const auto x = rand<T>(s, 44);
        const Shape ys{s[0], s[1], s[2] / k, s[3] / k};
        agree<T>([&](auto be, auto& o) { ops::avg_pool2d(be, x, k, o[0]); }, {ys}, tol, tol);
        const auto dy = rand<T>(ys, 45);
        agree<T>([&](auto be, auto& o) { ops::avg_pool2d_backward(be, dy, k, o[0]); }, {s}, tol, tol);
    }
}

TEST_CASE("batch norm and pooling reject mismatched shapes") {
    auto x = Tensor<double>::zeros(Shape{2, 3, 4, 4});
    auto c3 = Tensor<double>::zeros(Shape{3}), c2 = Tensor<double>::zeros(Shape{2});
    auto y = Tensor<double>::empty(x.shape());
    CHECK_THROWS_WITH_AS(ops::batch_norm2d(cpu{}, x, c3, c2, c3, c3, 1e-5, y, c3), doctest::Contains("[2]"), Error);
    auto pooled = Tensor<double>::empty(Shape{2, 3, 3, 3});
    CHECK_THROWS_WITH_AS(ops::avg_pool2d(cpu{}, x, 2, pooled), doctest::Contains("avg_pool2d"), Error);
    auto tiny = Tensor<double>::zeros(Shape{1, 1, 1, 1});
    CHECK_THROWS_AS(ops::avg_pool2d(cpu{}, tiny, 2, pooled), Error);
}
