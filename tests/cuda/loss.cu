// cross-entropy with int32 targets, forward and backward, on the GPU against the reference
// backend, in float, double and bf16: ±1e4 logits, rows of −inf, rows longer than a warp takes,
// targets checked on the device. The CLIP loss (clip_loss and its backward) against the reference
// backend, the same bits on every run and in place, and the fused InfoNce against its composite
// twin on the GPU.
#include "gpu.cuh"

#include <cmath>
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

namespace {
// Cosine-like scores in about [−1, 1] for n pairs, the matching ones a little higher.
Tensor<float, cpu> clip_cosines(std::int64_t n, std::uint64_t seed) {
    auto c = rand<float>(Shape{n, n}, seed, 0.3);
    for (std::int64_t i = 0; i < n; ++i) c.at(i, i) = c.at(i, i) + 0.4f;
    return c;
}
}  // namespace

TEST_CASE("the CLIP loss and its backward agree with the reference, one pair to rows longer than a warp takes") {
    if (!have_gpu()) return;
    for (const std::int64_t n : {1, 37, 256, 1100}) {
        for (const double logit_scale : {std::log(1 / 0.07), std::log(100.0)}) {
            INFO("N " << n << ", logit_scale " << logit_scale);
            const auto cosines = clip_cosines(n, 40);
            const auto scale = Tensor<float, cpu>::full(Shape{}, float(logit_scale));
            agree<float>([&](auto be, auto& o) { ops::clip_loss(be, on(be, cosines), on(be, scale), o[0], o[1], o[2], o[3]); },
                         {Shape{n, n}, Shape{n}, Shape{n}, Shape{}});
            auto logits = Tensor<float, cpu>::empty(Shape{n, n}), rows = Tensor<float, cpu>::empty(Shape{n});
            auto cols = Tensor<float, cpu>::empty(Shape{n}), loss = Tensor<float, cpu>::empty(Shape{});
            ops::clip_loss(reference{}, cosines, scale, logits, rows, cols, loss);
            const auto dloss = Tensor<float, cpu>::full(Shape{}, 0.7f);
            // dlogit_scale sums N² products whose sizes reach s: float keeps it to about 1e-4.
            agree<float>([&](auto be, auto& o) {
                ops::clip_loss_backward(be, on(be, logits), on(be, rows), on(be, cols), on(be, scale), on(be, dloss), o[0], o[1]);
            }, {Shape{n, n}, Shape{}}, test::tolerance<float>().times(10));
        }
    }
}

TEST_CASE("the CLIP loss gives the same bits on every run, and in place") {
    if (!have_gpu()) return;
    const std::int64_t n = 300;
    const auto cosines = to_device<cuda>(clip_cosines(n, 41));
    const auto scale = to_device<cuda>(Tensor<float, cpu>::full(Shape{}, 3.0f));
    const auto dloss = to_device<cuda>(Tensor<float, cpu>::full(Shape{}, 1.0f));
    struct Run {
        Tensor<float, cuda> logits, rows, cols, loss, dcosines, dscale;
    };
    auto run = [&](bool in_place) {
        Run r{in_place ? cosines.clone() : Tensor<float, cuda>::empty(Shape{n, n}), Tensor<float, cuda>::empty(Shape{n}),
              Tensor<float, cuda>::empty(Shape{n}), Tensor<float, cuda>::empty(Shape{}),
              Tensor<float, cuda>::empty(Shape{n, n}), Tensor<float, cuda>::empty(Shape{})};
        ops::clip_loss(cuda{}, in_place ? r.logits : cosines, scale, r.logits, r.rows, r.cols, r.loss);
        ops::clip_loss_backward(cuda{}, r.logits, r.rows, r.cols, scale, dloss, r.dcosines, r.dscale);
        return r;
    };
    const Run first = run(false), second = run(false), in_place = run(true);
    for (const Run* other : {&second, &in_place}) {
        CHECK(test::bitwise_equal(first.logits, other->logits));
        CHECK(test::bitwise_equal(first.rows, other->rows));
        CHECK(test::bitwise_equal(first.cols, other->cols));
        CHECK(test::bitwise_equal(first.loss, other->loss));
        CHECK(test::bitwise_equal(first.dcosines, other->dcosines));
        CHECK(test::bitwise_equal(first.dscale, other->dscale));
    }
    CHECK(std::isfinite(first.loss.item()));
}

TEST_CASE("the fused InfoNce on the GPU gives its composite twin's loss and gradients") {
    if (!have_gpu()) return;
    for (const std::int64_t n : {1, 37, 300}) {
        INFO("N " << n);
        const auto img = rand<float>(Shape{n, 16}, 42), txt = rand<float>(Shape{n, 16}, 43);
        auto run = [&](auto& info_nce) {
            info_nce.initialize(0);
            Tape tape;
            Tape::Active recording(tape);
            auto a = leaf<cuda>(to_device<cuda>(img)), b = leaf<cuda>(to_device<cuda>(txt));
            const auto loss = info_nce(a, b);
            backward(loss);
            return std::vector<Tensor<float, cpu>>{to_device<cpu>(loss.value()), to_device<cpu>(a.grad()),
                                                   to_device<cpu>(b.grad()), to_device<cpu>(info_nce.logit_scale.grad())};
        };
        loss::InfoNce<float, cuda, ad::Fused> fused;
        loss::InfoNce<float, cuda, ad::Composite> composite;
        const auto f = run(fused), c = run(composite);
        for (std::size_t i = 0; i < f.size(); ++i) {
            INFO("output " << i << " (loss, dimage, dtext, dlogit_scale)");
            CHECK_CLOSE(f[i], c[i], 1e-4, 1e-5 + 1e-4 * test::max_finite_abs(c[i]));
        }
    }
}
