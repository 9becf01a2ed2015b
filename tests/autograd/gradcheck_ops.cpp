// Every differentiable op gradchecked in float64 at several shapes (size 1 and odd sizes too),
// on the reference backend and on the cpu backend.
#include <doctest/doctest.h>

#include "../support/compare.hpp"

using namespace contra;
using test::random_tensor;

using test::expect_gradients;

namespace {
const std::vector<Shape> kMatrixShapes{Shape{1, 1}, Shape{3, 5}, Shape{7, 2}, Shape{2, 3, 4}};
}  // namespace

#define BACKENDS reference, cpu

TEST_CASE_TEMPLATE("gradcheck: add, sub, mul, div with every broadcast", B, BACKENDS) {
    for (const auto& s : kMatrixShapes)
        for (auto bs : {s, Shape{s.cols()}, Shape{s.rows(), 1}, Shape{}}) {
            INFO("a " << s << " b " << bs);
            auto a = random_tensor(s, 1), b = random_tensor(bs, 2);
            for (std::int64_t i = 0; i < b.numel(); ++i) b[i] += b[i] >= 0 ? 1 : -1;  // away from 0 for ÷
            expect_gradients<B>([](auto& v) { return ad::add(v[0], v[1]); }, {a, b});
            expect_gradients<B>([](auto& v) { return ad::sub(v[0], v[1]); }, {a, b});
            expect_gradients<B>([](auto& v) { return ad::mul(v[0], v[1]); }, {a, b});
            expect_gradients<B>([](auto& v) { return ad::div(v[0], v[1]); }, {a, b});
        }
}

TEST_CASE_TEMPLATE("gradcheck: a variable used twice accumulates both paths", B, BACKENDS) {
    auto x = random_tensor(Shape{3, 4}, 3);
    expect_gradients<B>([](auto& v) { return ad::mul(ad::add(v[0], v[0]), v[0]); }, {x});
    expect_gradients<B>([](auto& v) { return ad::add(ad::exp(v[0]), ad::add(v[0], ad::affine(v[0], 3.0, 1.0))); }, {x});
}

TEST_CASE_TEMPLATE("gradcheck: unary functions and activations", B, BACKENDS) {
    using U = ops::UnaryOp;
    for (const auto& s : kMatrixShapes) {
        auto x = random_tensor(s, 4);
        auto pos = x.clone();
        for (std::int64_t i = 0; i < pos.numel(); ++i) pos[i] = std::abs(pos[i]) + 0.5;
        for (auto op : {U::neg, U::exp, U::tanh, U::erf, U::sigmoid, U::square, U::log_sigmoid})
            expect_gradients<B>([op](auto& v) { return ad::unary(v[0], op); }, {x});
        for (auto op : {U::log, U::sqrt, U::rsqrt, U::reciprocal})
            expect_gradients<B>([op](auto& v) { return ad::unary(v[0], op); }, {pos});
        for (auto f : {ops::Activation::quick_gelu, ops::Activation::gelu, ops::Activation::gelu_tanh})
            expect_gradients<B>([f](auto& v) { return ad::activation(v[0], f); }, {x});
        auto away = x.clone();  // relu: keep off the kink at 0
        for (std::int64_t i = 0; i < away.numel(); ++i) away[i] += away[i] >= 0 ? 0.1 : -0.1;
        expect_gradients<B>([](auto& v) { return ad::activation(v[0], ops::Activation::relu); }, {away});
        expect_gradients<B>([](auto& v) { return ad::affine(v[0], -1.5, 0.25); }, {x});
        expect_gradients<B>([](auto& v) { return ad::mul(ad::cast<double>(v[0]), v[0]); }, {x});  // cast: double → double
    }
}

TEST_CASE("cast: bf16 features widened to float; the gradient returns rounded to bf16 (the reference holds bf16)") {
    using B = reference;
    const auto x = cast<bf16>(random_tensor(Shape{3, 5}, 6));
    const auto c = cast<float>(random_tensor(Shape{3, 5}, 7));
    Tape tape;
    Tape::Active on(tape);
    const auto xv = leaf<B>(x, true);
    const auto y = ad::cast<float>(xv);  // exact
    for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(y.value()[i] == float(x[i]));
    backward(ad::sum(ad::mul(y, Var<float, B>(c))));  // ∂/∂x = c, rounded to bf16
    for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(xv.grad()[i].bits == bf16(c[i]).bits);
}

TEST_CASE_TEMPLATE("gradcheck: sums and means", B, BACKENDS) {
    for (const auto& s : kMatrixShapes) {
        auto x = random_tensor(s, 5);
        expect_gradients<B>([](auto& v) { return ad::sum(v[0]); }, {x});
        expect_gradients<B>([](auto& v) { return ad::mean(v[0]); }, {x});
        expect_gradients<B>([](auto& v) { return ad::sum(v[0], ops::Axis::rows); }, {x});
        expect_gradients<B>([](auto& v) { return ad::mean(v[0], ops::Axis::cols); }, {x});
    }
}

TEST_CASE_TEMPLATE("gradcheck: matmul in every transpose form, bmm, linear", B, BACKENDS) {
    for (auto [m, n, k] : {std::array<std::int64_t, 3>{1, 1, 1}, {3, 4, 5}, {2, 7, 3}})
        for (auto ta : {ops::Trans::N, ops::Trans::T})
            for (auto tb : {ops::Trans::N, ops::Trans::T}) {
                auto a = random_tensor(ta == ops::Trans::N ? Shape{m, k} : Shape{k, m}, 6);
                auto b = random_tensor(tb == ops::Trans::N ? Shape{k, n} : Shape{n, k}, 7);
                expect_gradients<B>([ta, tb](auto& v) { return ad::matmul(v[0], v[1], ta, tb); }, {a, b});
                auto ab = random_tensor(ta == ops::Trans::N ? Shape{2, m, k} : Shape{2, k, m}, 8);
                auto bb = random_tensor(tb == ops::Trans::N ? Shape{2, k, n} : Shape{2, n, k}, 9);
                expect_gradients<B>([ta, tb](auto& v) { return ad::bmm(v[0], v[1], ta, tb); }, {ab, bb});
            }
    for (auto xs : {Shape{1, 3}, Shape{4, 3}, Shape{2, 5, 3}}) {
        auto x = random_tensor(xs, 10), w = random_tensor(Shape{6, 3}, 11), b = random_tensor(Shape{6}, 12);
        expect_gradients<B>([](auto& v) { return ad::linear(v[0], v[1], v[2]); }, {x, w, b});
        expect_gradients<B>([](auto& v) { return ad::linear(v[0], v[1], Var<double, B>()); }, {x, w});
    }
}

TEST_CASE_TEMPLATE("gradcheck: layout ops", B, BACKENDS) {
    auto x = random_tensor(Shape{2, 3, 4, 5}, 13);
    expect_gradients<B>([](auto& v) { return ad::transpose(v[0]); }, {x});
    expect_gradients<B>([](auto& v) { return ad::permute_0213(v[0]); }, {x});
    expect_gradients<B>([](auto& v) { return v[0].reshape(Shape{6, 20}); }, {x});
    auto a = random_tensor(Shape{3, 2}, 14), b = random_tensor(Shape{3, 5}, 15);
    expect_gradients<B>([](auto& v) { return ad::concat_cols(v[0], v[1]); }, {a, b});
    expect_gradients<B>([](auto& v) { return ad::slice_cols(v[0], 1, 4); }, {b});
    auto table = random_tensor(Shape{6, 4}, 16);
    auto index = to_device<device_of<B>>(Tensor<ops::Index>::from({5}, {2, 0, 2, 5, 2}));
    expect_gradients<B>([index](auto& v) { return ad::gather_rows(v[0], index); }, {table});
    auto img = random_tensor(Shape{2, 2, 4, 6}, 17);
    expect_gradients<B>([](auto& v) { return ad::im2patch(v[0], 2); }, {img});
}

TEST_CASE_TEMPLATE("gradcheck: softmax (plain and causal), log-softmax, l2 normalisation", B, BACKENDS) {
    for (auto s : {Shape{1, 1}, Shape{3, 5}, Shape{2, 4, 4}}) {
        auto x = random_tensor(s, 18);
        expect_gradients<B>([](auto& v) { return ad::softmax(v[0]); }, {x});
        expect_gradients<B>([](auto& v) { return ad::log_softmax(v[0]); }, {x});
        expect_gradients<B>([](auto& v) { return ad::l2_normalize(v[0]); }, {x});
        if (s.rows() % s.cols() == 0)
            expect_gradients<B>([](auto& v) { return ad::softmax(v[0], ops::SoftmaxMask{true}); }, {x});
    }
}

TEST_CASE_TEMPLATE("gradcheck: layer norm, cross-entropy and attention in both forms", B, BACKENDS) {
    for (auto s : {Shape{1, 2}, Shape{4, 7}, Shape{2, 3, 5}}) {
        auto x = random_tensor(s, 19), g = random_tensor(Shape{s.cols()}, 20), b = random_tensor(Shape{s.cols()}, 21);
        expect_gradients<B>([](auto& v) { return ad::layer_norm<ad::Fused>(v[0], v[1], v[2]); }, {x, g, b});
        expect_gradients<B>([](auto& v) { return ad::layer_norm<ad::Composite>(v[0], v[1], v[2]); }, {x, g, b});
    }
    for (auto [rows, classes] : {std::pair<int, int>{1, 1}, {3, 5}, {6, 2}}) {
        auto logits = random_tensor(Shape{rows, classes}, 22, 2.0);
        std::vector<ops::Index> t;
        for (int r = 0; r < rows; ++r) t.push_back(r % classes);
        auto target = to_device<device_of<B>>(Tensor<ops::Index>::from(Shape{rows}, t));
        expect_gradients<B>([target](auto& v) { return ad::cross_entropy<ad::Fused>(v[0], target); }, {logits});
        expect_gradients<B>([target](auto& v) { return ad::cross_entropy<ad::Composite>(v[0], target); }, {logits});
    }
    for (auto [n, t, w, h, causal] : {std::tuple<int, int, int, int, bool>{1, 1, 2, 1, false}, {2, 3, 4, 2, false},
                                      {1, 5, 6, 3, true}, {2, 4, 4, 1, true}}) {
        auto qkv = random_tensor(Shape{n, t, 3 * w}, 23);
        const ops::SoftmaxMask mask{causal};
        expect_gradients<B>([h, mask](auto& v) { return ad::attention<ad::Fused>(v[0], h, mask); }, {qkv});
        expect_gradients<B>([h, mask](auto& v) { return ad::attention<ad::Composite>(v[0], h, mask); }, {qkv});
    }
    static const std::vector<std::int64_t> lengths{2, 4, 1};  // a key-padding mask
    for (bool causal : {false, true}) {
        auto qkv = random_tensor(Shape{3, 4, 3 * 4}, 24);
        const ops::SoftmaxMask mask{causal, lengths};
        expect_gradients<B>([mask](auto& v) { return ad::attention<ad::Fused>(v[0], 2, mask); }, {qkv});
        expect_gradients<B>([mask](auto& v) { return ad::attention<ad::Composite>(v[0], 2, mask); }, {qkv});
    }
}

TEST_CASE_TEMPLATE("gradcheck: the contrastive loss InfoNce, fused and composite, in the features and logit_scale", B,
                   BACKENDS) {
    auto check = [](auto info_nce, const Tensor<double>& img, const Tensor<double>& txt) {
        info_nce.initialize(0);
        const auto scale = Tensor<double>::full(Shape{}, 1.7);
        expect_gradients<B>([&](auto& v) {
            static_cast<Var<double, B>&>(info_nce.logit_scale) = v[2];
            return info_nce(v[0], v[1]);
        }, {img, txt, scale});
    };
    for (const std::int64_t n : {1, 3, 6}) {
        CAPTURE(n);
        const auto img = random_tensor(Shape{n, 4}, 25), txt = random_tensor(Shape{n, 4}, 26);
        check(loss::InfoNce<double, B, ad::Fused>{}, img, txt);
        check(loss::InfoNce<double, B, ad::Composite>{}, img, txt);
    }
}
