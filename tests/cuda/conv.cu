// conv2d and both adjoints on the GPU (im2col + cuBLAS) against the reference backend, in float,
// double and bf16, with padding and strides; the weight gradient gives the same bits twice.
#include "gpu.cuh"

#include <array>

using namespace contra;
using test::agree;
using test::have_gpu;
using test::on;
using test::rand;

namespace {

// x [N, C, H, W], w [O, C, k, k], stride, padding: runs the three primitives on both backends.
template <class T>
void check_conv(Shape xs, std::int64_t o, int k, ops::Conv2dShape s, test::Tolerance tol) {
    const auto x = rand<T>(xs, 31), w = rand<T>(Shape{o, xs[1], k, k}, 32, 1.0 / std::sqrt(double(xs[1] * k * k)));
    const Shape ys{xs[0], o, ops::conv2d_out_extent(xs[2], k, s), ops::conv2d_out_extent(xs[3], k, s)};
    const auto dy = rand<T>(ys, 33);
    INFO("x " << xs << " w " << w.shape() << " stride " << s.stride << " padding " << s.padding);
    agree<T>([&](auto be, auto& out) { ops::conv2d(be, on(be, x), on(be, w), s, out[0]); }, {ys}, tol);
    agree<T>([&](auto be, auto& out) { ops::conv2d_backward_data(be, on(be, dy), on(be, w), s, out[0]); }, {xs}, tol);
    agree<T>([&](auto be, auto& out) { ops::conv2d_backward_weight(be, on(be, dy), on(be, x), s, out[0]); }, {w.shape()},
             tol);
}

}  // namespace

TEST_CASE_TEMPLATE("convolution with padding and stride agrees, forward and both adjoints", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (auto [stride, pad, k] : {std::array<int, 3>{1, 1, 3}, {2, 1, 3}, {2, 0, 1}, {4, 0, 4}, {3, 2, 5}})
        check_conv<T>(Shape{2, 3, 9, 8}, 4, k, {stride, pad}, test::tolerance<T>());
    check_conv<T>(Shape{1, 1, 1, 1}, 1, 1, {1, 0}, test::tolerance<T>());
    check_conv<T>(Shape{3, 5, 17, 13}, 6, 3, {2, 1}, test::tolerance<T>());
    check_conv<T>(Shape{2, 64, 14, 14}, 33, 3, {1, 1}, test::tolerance<T>());  // 576-long sums
}

TEST_CASE("convolution over more images than one workspace holds (several groups) agrees") {
    if (!have_gpu()) return;
    // 27 × 224² = 1.35 M column entries per image: the 2^25-entry workspace takes 24 images a group.
    // Each weight-gradient entry sums 30 × 224² products in fp32: hence the wider tolerance.
    check_conv<float>(Shape{30, 3, 224, 224}, 2, 3, {1, 1}, test::tolerance<float>().times(50));
}

TEST_CASE("the convolution weight gradient gives the same bits on every run") {
    if (!have_gpu()) return;
    const auto x = to_device<cuda>(rand<float>(Shape{8, 16, 20, 20}, 34));
    const auto dy = to_device<cuda>(rand<float>(Shape{8, 8, 10, 10}, 35));
    auto first = Tensor<float, cuda>::empty(Shape{8, 16, 3, 3}), second = Tensor<float, cuda>::empty(Shape{8, 16, 3, 3});
    ops::conv2d_backward_weight(cuda{}, dy, x, {2, 1}, first);
    ops::conv2d_backward_weight(cuda{}, dy, x, {2, 1}, second);
    CHECK(test::bitwise_equal(first, second));
}
