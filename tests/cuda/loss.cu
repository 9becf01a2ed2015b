// cross-entropy with int32 targets, forward and backward, on the GPU against the reference
// backend, in float, double and bf16: ±1e4 logits, rows of −inf, rows longer than a warp takes,
// targets checked on the device.
#include "gpu.cuh"

#include <limits>

using namespace contra;
using test::agree;
using test::have_gpu;
using test::on;
using test::rand;

TEST_CASE_TEMPLATE("cross-entropy agrees, safe for ±1e4 logits and rows of −inf", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    constexpr float inf = std::numeric_limits<float>::infinity();
    auto logits = rand<T>(Shape{5, 7}, 29, 2.0);
    for (int c = 0; c < 7; ++c) {
        logits.at(1, c) = T(c % 2 ? 1e4f : -1e4f);
        logits.at(3, c) = T(-inf);
    }
    const auto target = Tensor<ops::Index, cpu>::from({5}, {0, 1, 6, 2, 3});
    agree<T>([&](auto be, auto& o) { ops::cross_entropy(be, on(be, logits), on(be, target), o[0], o[1]); },
             {Shape{5}, Shape{5}});
    auto loss = Tensor<T, cuda>::empty(Shape{5}), lse = Tensor<T, cuda>::empty(Shape{5});
    ops::cross_entropy(cuda{}, to_device<cuda>(logits), to_device<cuda>(target), loss, lse);
    const auto h = to_device<cpu>(loss);
    // Three columns tie at +1e4, the target among them: exactly log 3, however large the logits.
    CHECK(double(h[1]) == doctest::Approx(std::log(3.0)).epsilon(std::is_same_v<T, bf16> ? 1e-2 : 1e-6));
    CHECK(std::isinf(double(h[3])));
    CHECK(double(h[3]) > 0);
    auto ref_loss = Tensor<T, cpu>::empty(Shape{5}), ref_lse = Tensor<T, cpu>::empty(Shape{5});
    ops::cross_entropy(reference{}, logits, target, ref_loss, ref_lse);
    const auto dloss = rand<T>(Shape{5}, 30);
    agree<T>([&](auto be, auto& o) {
        ops::cross_entropy_backward(be, on(be, logits), on(be, target), on(be, ref_lse), on(be, dloss), o[0]);
    }, {logits.shape()});
    auto dl = Tensor<T, cuda>::empty(logits.shape());
    ops::cross_entropy_backward(cuda{}, to_device<cuda>(logits), to_device<cuda>(target), to_device<cuda>(ref_lse),
                                to_device<cuda>(dloss), dl);
    const auto hd = to_device<cpu>(dl);
    for (int c = 0; c < 7; ++c) CHECK(hd.at(3, c) == T(0.0f));
}

TEST_CASE_TEMPLATE("cross-entropy agrees on one row, many rows and rows longer than a warp takes", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (auto [rows, cols] : {std::array<std::int64_t, 2>{1, 1}, {2000, 7}, {300, 1500}, {64, 64}}) {
        const auto logits = rand<T>(Shape{rows, cols}, 31, 3.0);
        auto target = Tensor<ops::Index, cpu>::empty(Shape{rows});
        for (std::int64_t r = 0; r < rows; ++r) target[r] = ops::Index((r * 7919) % cols);
        INFO("rows " << rows << " cols " << cols);
        agree<T>([&](auto be, auto& o) { ops::cross_entropy(be, on(be, logits), on(be, target), o[0], o[1]); },
                 {Shape{rows}, Shape{rows}});
        auto loss = Tensor<T, cpu>::empty(Shape{rows}), lse = Tensor<T, cpu>::empty(Shape{rows});
        ops::cross_entropy(reference{}, logits, target, loss, lse);
        const auto dloss = rand<T>(Shape{rows}, 32);
        agree<T>([&](auto be, auto& o) {
            ops::cross_entropy_backward(be, on(be, logits), on(be, target), on(be, lse), on(be, dloss), o[0]);
        }, {logits.shape()});
    }
}

TEST_CASE("cross-entropy checks its targets on the device") {
    if (!have_gpu()) return;
    const auto logits = to_device<cuda>(rand<float>(Shape{5, 7}, 33));
    const auto bad = to_device<cuda>(Tensor<ops::Index, cpu>::from({5}, {0, 1, 7, 2, 3}));
    auto loss = Tensor<float, cuda>::empty(Shape{5}), lse = Tensor<float, cuda>::empty(Shape{5});
    CHECK_THROWS_WITH_AS(ops::cross_entropy(cuda{}, logits, bad, loss, lse), doctest::Contains("target 7 of row 2"), Error);
    auto dlogits = Tensor<float, cuda>::empty(Shape{5, 7});
    CHECK_THROWS_WITH_AS(ops::cross_entropy_backward(cuda{}, logits, bad, lse, loss, dlogits),
                         doctest::Contains("target 7 of row 2"), Error);
}
