// layer norm (also after a residual add: the fused op against its twin) and L2 normalisation,
// forward and backward, on the GPU against the reference backend, in float, double and bf16: rows shorter and longer than a warp takes, rows with mean 1e4, zero
// rows; dgamma and dbeta give the same bits on every run.
#include "gpu.cuh"

using namespace contra;
using test::agree;
using test::have_gpu;
using test::on;
using test::rand;

TEST_CASE_TEMPLATE("layer norm agrees, forward and backward", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Shape s : {Shape{1, 1}, Shape{5, 7}, Shape{64, 128}, Shape{3, 2, 33}, Shape{4, 1500}, Shape{1000, 5}}) {
        const auto x = rand<T>(s, 20, 2.0);
        const auto gamma = rand<T>(Shape{s.cols()}, 21), beta = rand<T>(Shape{s.cols()}, 22);
        INFO("x " << s);
        agree<T>([&](auto be, auto& o) {
            ops::layer_norm(be, on(be, x), on(be, gamma), on(be, beta), 1e-5, o[0], o[1], o[2]);
        }, {s, Shape{s.rows()}, Shape{s.rows()}});
        auto y = Tensor<T, cpu>::empty(s), mu = Tensor<T, cpu>::empty(Shape{s.rows()}), rs = Tensor<T, cpu>::empty(Shape{s.rows()});
        ops::layer_norm(reference{}, x, gamma, beta, 1e-5, y, mu, rs);
        const auto dy = rand<T>(s, 23);
        agree<T>([&](auto be, auto& o) {
            ops::layer_norm_backward(be, on(be, x), on(be, gamma), on(be, mu), on(be, rs), on(be, dy), o[0], o[1], o[2]);
        }, {s, Shape{s.cols()}, Shape{s.cols()}});
    }
}

TEST_CASE_TEMPLATE("add_layer_norm: the bits of add then layer_norm on the GPU, and the reference's values", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Shape s : {Shape{1, 1}, Shape{5, 7}, Shape{256, 50, 768}, Shape{3, 77, 512}, Shape{4, 1500}}) {
        INFO("x " << s);
        const auto x = rand<T>(s, 25, 2.0), branch = rand<T>(s, 26);
        const auto gamma = rand<T>(Shape{s.cols()}, 27), beta = rand<T>(Shape{s.cols()}, 28);
        const auto dx = to_device<cuda>(x), dbranch = to_device<cuda>(branch);
        const auto dgamma = to_device<cuda>(gamma), dbeta = to_device<cuda>(beta);
        auto sum = Tensor<T, cuda>::empty(s), y = Tensor<T, cuda>::empty(s);
        auto mu = Tensor<T, cuda>::empty(Shape{s.rows()}), rs = Tensor<T, cuda>::empty(Shape{s.rows()});
        ops::add_layer_norm(cuda{}, dx, dbranch, dgamma, dbeta, 1e-5, sum, y, mu, rs);
        // The twin: binary(add), then layer_norm.
        auto twin_sum = Tensor<T, cuda>::empty(s), twin_y = Tensor<T, cuda>::empty(s);
        auto twin_mu = Tensor<T, cuda>::empty(Shape{s.rows()}), twin_rs = Tensor<T, cuda>::empty(Shape{s.rows()});
        ops::binary(cuda{}, ops::BinaryOp::add, dx, dbranch, twin_sum);
        ops::layer_norm(cuda{}, twin_sum, dgamma, dbeta, 1e-5, twin_y, twin_mu, twin_rs);
        CHECK(test::bitwise_equal(sum, twin_sum));
        CHECK(test::bitwise_equal(y, twin_y));
        CHECK(test::bitwise_equal(mu, twin_mu));
        CHECK(test::bitwise_equal(rs, twin_rs));
        if (s.numel() < 1000000)
            agree<T>([&](auto be, auto& o) {
                ops::add_layer_norm(be, on(be, x), on(be, branch), on(be, gamma), on(be, beta), 1e-5, o[0], o[1], o[2], o[3]);
            }, {s, s, Shape{s.rows()}, Shape{s.rows()}});
    }
}

TEST_CASE_TEMPLATE("layer norm keeps rows with mean 1e4 and variance 1 exact", T, float, double) {
    if (!have_gpu()) return;
    // A one-pass E[x²] − E[x]² formula loses every digit here in float.
    for (std::int64_t cols : {256, 2000}) {
        auto x = rand<T>(Shape{8, cols}, 24);
        for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = T(1e4 + double(x[i]));
        const auto gamma = Tensor<T, cpu>::full(Shape{cols}, T(1)), beta = Tensor<T, cpu>::full(Shape{cols}, T(0));
        auto expected = Tensor<T, cpu>::empty(x.shape()), mu = Tensor<T, cpu>::empty(Shape{8}), rs = Tensor<T, cpu>::empty(Shape{8});
        ops::layer_norm(reference{}, x, gamma, beta, 1e-5, expected, mu, rs);
        auto y = Tensor<T, cuda>::empty(x.shape()), dmu = Tensor<T, cuda>::empty(Shape{8}), drs = Tensor<T, cuda>::empty(Shape{8});
        ops::layer_norm(cuda{}, to_device<cuda>(x), to_device<cuda>(gamma), to_device<cuda>(beta), 1e-5, y, dmu, drs);
        const auto h = to_device<cpu>(y);
        CHECK(test::max_abs_diff(h, expected) < (std::is_same_v<T, float> ? 2e-2 : 1e-9));
        double mean_sq = 0;
        for (std::int64_t i = 0; i < cols; ++i) mean_sq += double(h[i]) * double(h[i]);
        CHECK(std::abs(mean_sq / double(cols) - 1) < 0.05);
    }
}

TEST_CASE("layer norm's dgamma and dbeta give the same bits on every run") {
    if (!have_gpu()) return;
    const Shape s{5000, 96};
    const auto x = to_device<cuda>(rand<float>(s, 25)), dy = to_device<cuda>(rand<float>(s, 26));
    const auto gamma = to_device<cuda>(rand<float>(Shape{96}, 27)), beta = to_device<cuda>(rand<float>(Shape{96}, 28));
    auto y = Tensor<float, cuda>::empty(s), mu = Tensor<float, cuda>::empty(Shape{5000}), rs = Tensor<float, cuda>::empty(Shape{5000});
    ops::layer_norm(cuda{}, x, gamma, beta, 1e-5, y, mu, rs);
    auto dx = Tensor<float, cuda>::empty(s);
    auto dg1 = Tensor<float, cuda>::empty(Shape{96}), db1 = Tensor<float, cuda>::empty(Shape{96});
    auto dg2 = Tensor<float, cuda>::empty(Shape{96}), db2 = Tensor<float, cuda>::empty(Shape{96});
    ops::layer_norm_backward(cuda{}, x, gamma, mu, rs, dy, dx, dg1, db1);
    ops::layer_norm_backward(cuda{}, x, gamma, mu, rs, dy, dx, dg2, db2);
    CHECK(test::bitwise_equal(dg1, dg2));
    CHECK(test::bitwise_equal(db1, db2));
}

TEST_CASE_TEMPLATE("l2 normalisation agrees, forward and backward, including zero rows", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Shape s : {Shape{6, 10}, Shape{1, 1}, Shape{300, 64}, Shape{3, 2000}}) {
        auto x = rand<T>(s, 25);
        INFO("x " << s);
        const auto dy = rand<T>(s, 26);
        auto y = Tensor<T, cpu>::empty(s), n = Tensor<T, cpu>::empty(Shape{s.rows()});
        ops::l2_normalize(reference{}, x, 1e-12, y, n);
        agree<T>([&](auto be, auto& o) { ops::l2_normalize_backward(be, on(be, y), on(be, n), 1e-12, on(be, dy), o[0]); },
                 {s});
        if (s.rows() > 2)
            for (std::int64_t c = 0; c < s.cols(); ++c) x.at(2, c) = T(0.0f);
        agree<T>([&](auto be, auto& o) { ops::l2_normalize(be, on(be, x), 1e-12, o[0], o[1]); }, {s, Shape{s.rows()}});
    }
    // A zero row: y = 0 and dx = dy / eps.
    auto x = rand<T>(Shape{4, 10}, 27);
    for (int c = 0; c < 10; ++c) x.at(2, c) = T(0.0f);
    const auto dy = rand<T>(x.shape(), 28);
    auto y = Tensor<T, cuda>::empty(x.shape()), n = Tensor<T, cuda>::empty(Shape{4}), dx = Tensor<T, cuda>::empty(x.shape());
    ops::l2_normalize(cuda{}, to_device<cuda>(x), 1e-12, y, n);
    ops::l2_normalize_backward(cuda{}, y, n, 1e-12, to_device<cuda>(dy), dx);
    const auto h = to_device<cpu>(dx);
    for (int c = 0; c < 10; ++c) CHECK(double(h.at(2, c)) == doctest::Approx(double(dy.at(2, c)) * 1e12).epsilon(test::rtol<T>()));
}
