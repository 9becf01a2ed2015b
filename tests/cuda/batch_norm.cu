// batch_norm2d (statistics, normalisation, backward in both modes) and avg_pool2d (with its
// adjoint) on the GPU against the reference backend, in float, double and bf16; channels with a
// large mean; the statistics and parameter gradients give the same bits twice.
#include "gpu.cuh"

using namespace contra;
using test::agree;
using test::have_gpu;
using test::on;
using test::rand;

TEST_CASE_TEMPLATE("batch norm agrees: statistics, forward, backward with batch and fixed statistics", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Shape xs : {Shape{2, 3, 5, 7}, Shape{1, 1, 1, 2}, Shape{4, 70, 3, 3}, Shape{2, 5, 40, 40}, Shape{300, 2, 1, 1}}) {
        const std::int64_t c = xs[1];
        const auto x = rand<T>(xs, 36, 2.0), dy = rand<T>(xs, 37);
        const auto gamma = rand<T>(Shape{c}, 38), beta = rand<T>(Shape{c}, 39);
        INFO("x " << xs);
        agree<T>([&](auto be, auto& o) { ops::batch_norm2d_statistics(be, on(be, x), o[0], o[1]); }, {Shape{c}, Shape{c}});
        auto mean = Tensor<T, cpu>::empty(Shape{c}), var = Tensor<T, cpu>::empty(Shape{c});
        ops::batch_norm2d_statistics(reference{}, x, mean, var);
        agree<T>([&](auto be, auto& o) {
            ops::batch_norm2d(be, on(be, x), on(be, gamma), on(be, beta), on(be, mean), on(be, var), 1e-5, o[0], o[1]);
        }, {xs, Shape{c}});
        auto y = Tensor<T, cpu>::empty(xs), rstd = Tensor<T, cpu>::empty(Shape{c});
        ops::batch_norm2d(reference{}, x, gamma, beta, mean, var, 1e-5, y, rstd);
        for (bool batch_statistics : {true, false}) {
            INFO("batch statistics " << batch_statistics);
            agree<T>([&](auto be, auto& o) {
                ops::batch_norm2d_backward(be, on(be, x), on(be, gamma), on(be, mean), on(be, rstd), on(be, dy),
                                           batch_statistics, o[0], o[1], o[2]);
            }, {xs, Shape{c}, Shape{c}});
        }
    }
}

TEST_CASE_TEMPLATE("batch statistics stay exact for channels with mean 1e4", T, float, double) {
    if (!have_gpu()) return;
    auto x = rand<T>(Shape{16, 3, 12, 12}, 40);
    for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = T(1e4 + double(x[i]));
    auto mean = Tensor<T, cpu>::empty(Shape{3}), var = Tensor<T, cpu>::empty(Shape{3});
    ops::batch_norm2d_statistics(reference{}, x, mean, var);
    auto d_mean = Tensor<T, cuda>::empty(Shape{3}), d_var = Tensor<T, cuda>::empty(Shape{3});
    ops::batch_norm2d_statistics(cuda{}, to_device<cuda>(x), d_mean, d_var);
    CHECK_CLOSE(to_device<cpu>(d_mean), mean, 1e-6, 0.0);
    CHECK_CLOSE(to_device<cpu>(d_var), var, (std::is_same_v<T, float> ? 2e-3 : 1e-9), 0.0);
}

TEST_CASE("batch norm statistics and parameter gradients give the same bits on every run") {
    if (!have_gpu()) return;
    const Shape xs{32, 8, 28, 28};
    const auto x = to_device<cuda>(rand<float>(xs, 41)), dy = to_device<cuda>(rand<float>(xs, 42));
    const auto gamma = to_device<cuda>(rand<float>(Shape{8}, 43));
    auto m1 = Tensor<float, cuda>::empty(Shape{8}), v1 = Tensor<float, cuda>::empty(Shape{8});
    auto m2 = Tensor<float, cuda>::empty(Shape{8}), v2 = Tensor<float, cuda>::empty(Shape{8});
    ops::batch_norm2d_statistics(cuda{}, x, m1, v1);
    ops::batch_norm2d_statistics(cuda{}, x, m2, v2);
    CHECK(test::bitwise_equal(m1, m2));
    CHECK(test::bitwise_equal(v1, v2));
    auto y = Tensor<float, cuda>::empty(xs), rstd = Tensor<float, cuda>::empty(Shape{8});
    ops::batch_norm2d(cuda{}, x, gamma, gamma, m1, v1, 1e-5, y, rstd);
    auto dx = Tensor<float, cuda>::empty(xs);
    auto dg1 = Tensor<float, cuda>::empty(Shape{8}), db1 = Tensor<float, cuda>::empty(Shape{8});
    auto dg2 = Tensor<float, cuda>::empty(Shape{8}), db2 = Tensor<float, cuda>::empty(Shape{8});
    ops::batch_norm2d_backward(cuda{}, x, gamma, m1, rstd, dy, true, dx, dg1, db1);
    ops::batch_norm2d_backward(cuda{}, x, gamma, m1, rstd, dy, true, dx, dg2, db2);
    CHECK(test::bitwise_equal(dg1, dg2));
    CHECK(test::bitwise_equal(db1, db2));
}

TEST_CASE_TEMPLATE("average pooling agrees, forward and adjoint, also where rows and columns are dropped", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (auto [shape, k] : {std::pair{Shape{2, 3, 9, 8}, 2}, std::pair{Shape{2, 3, 9, 8}, 3}, std::pair{Shape{1, 1, 5, 5}, 5},
                            std::pair{Shape{3, 2, 7, 7}, 1}, std::pair{Shape{4, 64, 56, 56}, 2}}) {
        const Shape ys{shape[0], shape[1], shape[2] / k, shape[3] / k};
        const auto x = rand<T>(shape, 44), dy = rand<T>(ys, 45);
        INFO("x " << shape << " k " << k);
        agree<T>([&](auto be, auto& o) { ops::avg_pool2d(be, on(be, x), k, o[0]); }, {ys});
        agree<T>([&](auto be, auto& o) { ops::avg_pool2d_backward(be, on(be, dy), k, o[0]); }, {shape});
    }
}
