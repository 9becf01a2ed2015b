// sum over rows and over columns and reduce_all on the GPU against the reference backend, in
// float, double and bf16; the reductions give the same bits on every run.
#include "gpu.cuh"

#include <limits>

using namespace contra;
using test::agree;
using test::have_gpu;
using test::on;
using test::rand;

TEST_CASE_TEMPLATE("sum over rows and over columns agrees, with alpha and beta", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    // One element; odd; more rows than a block has threads; rows longer than a warp takes; one
    // long column (the vector path); a single long row.
    for (Shape s : {Shape{1, 1}, Shape{7, 3}, Shape{1000, 33}, Shape{2, 3, 4}, Shape{5, 1500}, Shape{3001, 1},
                    Shape{1, 300}, Shape{257, 2}}) {
        const auto x = rand<T>(s, 8);
        for (double beta : {0.0, 1.0}) {
            INFO("x " << s << " beta " << beta);
            agree<T>([&](auto be, auto& o) { ops::sum(be, ops::Axis::rows, acc_t<T>(0.5), on(be, x), acc_t<T>(beta), o[0]); },
                     {Shape{s.cols()}});
            agree<T>([&](auto be, auto& o) { ops::sum(be, ops::Axis::cols, acc_t<T>(2), on(be, x), acc_t<T>(beta), o[0]); },
                     {Shape{s.rows()}});
        }
    }
}

TEST_CASE_TEMPLATE("sum with beta = 0 never reads its output", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    const auto x = rand<T>(Shape{40, 9}, 3);
    const auto nan = Tensor<T, cpu>::full(Shape{9}, T(std::numeric_limits<float>::quiet_NaN()));
    auto out = to_device<cuda>(nan);
    ops::sum(cuda{}, ops::Axis::rows, acc_t<T>(1), to_device<cuda>(x), acc_t<T>(0), out);
    CHECK(ops::reduce_all(cuda{}, ops::ReduceOp::count_nonfinite, out) == 0);
    auto per_row = to_device<cuda>(Tensor<T, cpu>::full(Shape{40}, T(std::numeric_limits<float>::quiet_NaN())));
    ops::sum(cuda{}, ops::Axis::cols, acc_t<T>(1), to_device<cuda>(x), acc_t<T>(0), per_row);
    CHECK(ops::reduce_all(cuda{}, ops::ReduceOp::count_nonfinite, per_row) == 0);
}

TEST_CASE_TEMPLATE("reduce_all agrees for every reduction and counts the non-finite elements", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Shape s : {Shape{1}, Shape{7, 3}, Shape{1000, 33}, Shape{3, 100003}}) {
        const auto x = rand<T>(s, 9);
        const auto d_x = to_device<cuda>(x);
        for (auto op : {ops::ReduceOp::sum, ops::ReduceOp::sum_squares, ops::ReduceOp::max_abs}) {
            INFO("x " << s << " op " << int(op));
            const double expected = ops::reduce_all(reference{}, op, x);
            // Both sum the same values in double, in different orders.
            CHECK(std::abs(ops::reduce_all(cuda{}, op, d_x) - expected) <= 1e-10 * (1 + std::abs(expected)));
        }
        CHECK(ops::reduce_all(cuda{}, ops::ReduceOp::count_nonfinite, d_x) == 0);
    }
    auto bad = rand<T>(Shape{5000}, 10);
    bad[3] = T(std::numeric_limits<float>::infinity());
    bad[4000] = T(std::numeric_limits<float>::quiet_NaN());
    bad[4999] = T(-std::numeric_limits<float>::infinity());
    CHECK(ops::reduce_all(cuda{}, ops::ReduceOp::count_nonfinite, to_device<cuda>(bad)) == 3);
    CHECK(ops::reduce_all(cuda{}, ops::ReduceOp::max_abs, to_device<cuda>(Tensor<T, cpu>::full(Shape{3}, T(-2.5f)))) == 2.5);
}

TEST_CASE_TEMPLATE("reduce_all_into adds on the device what reduce_all returns", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    const auto a = rand<T>(Shape{1000, 33}, 11), b = rand<T>(Shape{7}, 12);
    for (auto op : {ops::ReduceOp::sum, ops::ReduceOp::sum_squares, ops::ReduceOp::max_abs}) {
        INFO("op " << int(op));
        auto total = to_device<cuda>(Tensor<double, cpu>::full(Shape{1}, 0.5));
        ops::reduce_all_into(cuda{}, op, to_device<cuda>(a), total);
        ops::reduce_all_into(cuda{}, op, to_device<cuda>(b), total);
        ops::reduce_all_into(cuda{}, op, Tensor<T, cuda>::empty(Shape{0}), total);  // nothing to add
        const double ra = ops::reduce_all(reference{}, op, a), rb = ops::reduce_all(reference{}, op, b);
        const double expected = op == ops::ReduceOp::max_abs ? std::max({0.5, ra, rb}) : 0.5 + ra + rb;
        CHECK(std::abs(to_device<cpu>(total)[0] - expected) <= 1e-10 * (1 + std::abs(expected)));
    }
}

TEST_CASE("reductions give the same bits on every run") {
    if (!have_gpu()) return;
    const auto x = to_device<cuda>(rand<float>(Shape{4099, 77}, 11));
    auto first = Tensor<float, cuda>::empty(Shape{77}), second = Tensor<float, cuda>::empty(Shape{77});
    ops::sum(cuda{}, ops::Axis::rows, 1.0f, x, 0.0f, first);
    ops::sum(cuda{}, ops::Axis::rows, 1.0f, x, 0.0f, second);
    CHECK(test::bitwise_equal(first, second));
    const auto flat = x.reshape(Shape{4099 * 77, 1});
    auto total1 = Tensor<float, cuda>::empty(Shape{1}), total2 = Tensor<float, cuda>::empty(Shape{1});
    ops::sum(cuda{}, ops::Axis::rows, 1.0f, flat, 0.0f, total1);
    ops::sum(cuda{}, ops::Axis::rows, 1.0f, flat, 0.0f, total2);
    CHECK(test::bitwise_equal(total1, total2));
    CHECK(ops::reduce_all(cuda{}, ops::ReduceOp::sum, x) == ops::reduce_all(cuda{}, ops::ReduceOp::sum, x));
}
