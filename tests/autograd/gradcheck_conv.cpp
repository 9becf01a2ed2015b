// The image ops of the ResNet tower gradchecked in float64 on both CPU backends: convolution
// (stride, padding), batch norm with batch statistics and with running statistics, average pooling.
#include <doctest/doctest.h>

#include "../support/compare.hpp"

using namespace contra;
using test::random_tensor;

namespace {
// At most 120 perturbed elements per input: the convolutions' inputs are large.
template <class B, class F>
void expect_image_gradients(F&& f, std::vector<Tensor<double>> inputs) {
    GradcheckOptions options;
    options.max_checks_per_input = 120;
    test::expect_gradients<B>(f, std::move(inputs), options);
}
}  // namespace

#define BACKENDS reference, cpu

TEST_CASE_TEMPLATE("gradcheck: conv2d with stride and padding", B, BACKENDS) {
    for (auto [stride, pad, k] : {std::array<int, 3>{1, 1, 3}, {2, 1, 3}, {2, 0, 1}, {1, 0, 2}}) {
        auto x = random_tensor(Shape{2, 3, 5, 6}, 50), w = random_tensor(Shape{4, 3, k, k}, 51);
        const ops::Conv2dShape s{stride, pad};
        expect_image_gradients<B>([s](auto& v) { return ad::conv2d(v[0], v[1], s); }, {x, w});
    }
}

TEST_CASE_TEMPLATE("gradcheck: batch_norm2d in training and evaluation mode", B, BACKENDS) {
    using D = device_of<B>;
    for (auto s : {Shape{2, 3, 2, 3}, Shape{1, 2, 1, 3}, Shape{4, 1, 1, 1}}) {
        auto x = random_tensor(s, 52, 2.0), g = random_tensor(Shape{s[1]}, 53), b = random_tensor(Shape{s[1]}, 54);
        auto running_mean = to_device<D>(random_tensor(Shape{s[1]}, 55));
        auto running_var = to_device<D>(Tensor<double>::full(Shape{s[1]}, 0.7));
        expect_image_gradients<B>([&](auto& v) {
            return ad::batch_norm2d(v[0], v[1], v[2], running_mean, running_var, ad::BatchNormMode{true});
        }, {x, g, b});
        expect_image_gradients<B>([&](auto& v) {
            return ad::batch_norm2d(v[0], v[1], v[2], running_mean, running_var, ad::BatchNormMode{false});
        }, {x, g, b});
    }
}

TEST_CASE_TEMPLATE("batch_norm2d updates the running statistics as PyTorch (momentum 0.1, unbiased variance)", B,
                   BACKENDS) {
    using D = device_of<B>;
    const auto x = to_device<D>(Tensor<double>::from(Shape{2, 1, 1, 2}, {1, 2, 3, 4}));  // mean 2.5, var 1.25 (5/3 unbiased)
    auto running_mean = to_device<D>(Tensor<double>::full(Shape{1}, 1.0));
    auto running_var = to_device<D>(Tensor<double>::full(Shape{1}, 2.0));
    const Var<double, B> one(to_device<D>(Tensor<double>::full(Shape{1}, 1.0)));
    const Var<double, B> zero(to_device<D>(Tensor<double>::full(Shape{1}, 0.0)));
    ad::batch_norm2d(Var<double, B>(x), one, zero, running_mean, running_var, ad::BatchNormMode{true});
    CHECK(to_device<cpu>(running_mean)[0] == doctest::Approx(0.9 * 1.0 + 0.1 * 2.5));
    CHECK(to_device<cpu>(running_var)[0] == doctest::Approx(0.9 * 2.0 + 0.1 * 5.0 / 3.0));
    const auto eval = ad::batch_norm2d(Var<double, B>(x), one, zero, running_mean, running_var);  // unchanged
    CHECK(to_device<cpu>(running_mean)[0] == doctest::Approx(1.15));
    CHECK(to_device<cpu>(eval.value())[0] == doctest::Approx((1 - 1.15) / std::sqrt(0.9 * 2.0 + 0.5 / 3.0 + 1e-5)));
}

TEST_CASE_TEMPLATE("gradcheck: avg_pool2d, also with dropped edges", B, BACKENDS) {
    for (auto [s, k] : {std::pair<Shape, int>{Shape{2, 3, 4, 4}, 2}, {Shape{1, 2, 5, 7}, 2}, {Shape{1, 1, 6, 6}, 3}}) {
        auto x = random_tensor(s, 56);
        expect_image_gradients<B>([k](auto& v) { return ad::avg_pool2d(v[0], k); }, {x});
    }
}
