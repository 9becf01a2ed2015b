// Every primitive of the op contract: the cpu (Eigen) backend agrees with the reference backend,
// in float and double, on random inputs of awkward sizes and on the numerically hard rows.
#include <doctest/doctest.h>

#include "../support/agree.hpp"

using namespace contra;
using test::random_tensor;

using test::agree;
using test::rand;
using test::tolerance;

#define TYPES float, double

TEST_CASE_TEMPLATE("gemm and gemm_batched agree for every transpose combination", T, TYPES) {
    for (auto [m, n, k] : {std::array<std::int64_t, 3>{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {64, 1, 9}}) {
        for (auto ta : {ops::Trans::N, ops::Trans::T})
            for (auto tb : {ops::Trans::N, ops::Trans::T}) {
                const auto a = rand<T>(ta == ops::Trans::N ? Shape{m, k} : Shape{k, m}, 1);
                const auto b = rand<T>(tb == ops::Trans::N ? Shape{k, n} : Shape{n, k}, 2);
                for (double beta : {0.0, 1.0, -0.5})
                    agree<T>([&](auto be, auto& o) { ops::gemm(be, ta, tb, acc_t<T>(0.7), a, b, acc_t<T>(beta), o[0]); },
                             {Shape{m, n}});
                const auto ab = rand<T>(ta == ops::Trans::N ? Shape{3, 2, m, k} : Shape{3, 2, k, m}, 3);
                const auto bb = rand<T>(tb == ops::Trans::N ? Shape{3, 2, k, n} : Shape{3, 2, n, k}, 4);
                agree<T>([&](auto be, auto& o) { ops::gemm_batched(be, ta, tb, acc_t<T>(1.5), ab, bb, acc_t<T>(1), o[0]); },
                         {Shape{3, 2, m, n}});
            }
    }
}

TEST_CASE_TEMPLATE("linear (x·wᵀ + bias) agrees with and without a bias, small and packed sizes", T, TYPES) {
    for (auto [rows, in, out] : {std::array<std::int64_t, 3>{1, 1, 1}, {9, 7, 5}, {200, 300, 70}, {70, 600, 33}}) {
        const auto x = rand<T>(Shape{rows, in}, 5, 1.0 / std::sqrt(double(in)));  // sums of order 1
        const auto w = rand<T>(Shape{out, in}, 6), bias = rand<T>(Shape{out}, 7);
        agree<T>([&](auto be, auto& o) { ops::linear(be, x, w, &bias, o[0]); }, {Shape{rows, out}});
        agree<T>([&](auto be, auto& o) { ops::linear(be, x, w, static_cast<const Tensor<T>*>(nullptr), o[0]); },
                 {Shape{rows, out}});
    }
    auto x = Tensor<T>::zeros(Shape{3, 4}), w = Tensor<T>::zeros(Shape{5, 3}), y = Tensor<T>::zeros(Shape{3, 5});
    CHECK_THROWS_WITH_AS(ops::linear(cpu{}, x, w, static_cast<const Tensor<T>*>(nullptr), y),
                         doctest::Contains("does not give y"), Error);
}

TEST_CASE_TEMPLATE("gemm with k = 0 writes beta·C and reads nothing else", T, TYPES) {
    auto a = Tensor<T>::empty(Shape{3, 0}), b = Tensor<T>::empty(Shape{0, 2});
    agree<T>([&](auto be, auto& o) { ops::gemm(be, ops::Trans::N, ops::Trans::N, acc_t<T>(1), a, b, acc_t<T>(2), o[0]); },
             {Shape{3, 2}});
}

TEST_CASE_TEMPLATE("binary ops agree for every broadcast form", T, TYPES) {
    const auto a = rand<T>(Shape{6, 5}, 5);
    for (auto bs : {Shape{6, 5}, Shape{5}, Shape{1, 5}, Shape{6, 1}, Shape{}, Shape{1, 1}}) {
        auto b = rand<T>(bs, 6);
        for (auto& v : b.to_vector()) (void)v;
        for (std::int64_t i = 0; i < b.numel(); ++i) b[i] = T(b[i] + (b[i] >= 0 ? 0.5 : -0.5));  // keep ÷ tame
        for (auto op : {ops::BinaryOp::add, ops::BinaryOp::sub, ops::BinaryOp::mul, ops::BinaryOp::div}) {
            INFO("b " << bs << " op " << int(op));
            agree<T>([&](auto be, auto& o) { ops::binary(be, op, a, b, o[0]); }, {a.shape()});
        }
    }
    auto bad = rand<T>(Shape{4}, 1);
    auto out = Tensor<T>::empty(a.shape());
    CHECK_THROWS_WITH_AS(ops::binary(cpu{}, ops::BinaryOp::add, a, bad, out), doctest::Contains("cannot broadcast [4] over [6,5]"),
                         Error);
}

TEST_CASE_TEMPLATE("unary ops, affine, axpy and fill agree", T, TYPES) {
    auto x = rand<T>(Shape{3, 37}, 7);
    auto pos = Tensor<T>::empty(x.shape());
    for (std::int64_t i = 0; i < x.numel(); ++i) pos[i] = T(std::abs(double(x[i])) + 0.1);
    using U = ops::UnaryOp;
    for (auto op : {U::neg, U::exp, U::tanh, U::erf, U::sigmoid, U::square, U::abs, U::log_sigmoid})
        agree<T>([&](auto be, auto& o) { ops::unary(be, op, x, o[0]); }, {x.shape()}, 1e-5, 1e-6);
    for (auto op : {U::log, U::sqrt, U::rsqrt, U::reciprocal})
        agree<T>([&](auto be, auto& o) { ops::unary(be, op, pos, o[0]); }, {x.shape()}, 1e-5, 1e-6);
    agree<T>([&](auto be, auto& o) { ops::affine(be, x, acc_t<T>(-2), acc_t<T>(0.5), o[0]); }, {x.shape()});
    agree<T>([&](auto be, auto& o) { ops::axpy(be, acc_t<T>(3), x, o[0]); }, {x.shape()});
    agree<T>([&](auto be, auto& o) { ops::fill(be, acc_t<T>(-7), o[0]); }, {x.shape()});
    agree<T>([&](auto be, auto& o) { ops::clamp(be, x, acc_t<T>(-0.5), acc_t<T>(0.25), o[0]); }, {x.shape()});
}

TEST_CASE("convert: widening is exact, narrowing rounds to nearest even, on both backends") {
    const auto x = rand<double>(Shape{5, 7}, 11);
    for (auto be : {0, 1}) {
        auto f = Tensor<float>::empty(x.shape());
        auto b = Tensor<bf16>::empty(x.shape());
        auto back = Tensor<float>::empty(x.shape());
        if (be == 0) {
            ops::convert(reference{}, x, f);
            ops::convert(reference{}, f, b);
            ops::convert(reference{}, b, back);
        } else {
            ops::convert(cpu{}, x, f);
            ops::convert(cpu{}, f, b);
            ops::convert(cpu{}, b, back);
        }
        for (std::int64_t i = 0; i < x.numel(); ++i) {
            CHECK(f[i] == float(x[i]));
            CHECK(b[i].bits == bf16(f[i]).bits);
            CHECK(back[i] == float(b[i]));
        }
    }
    auto wrong = Tensor<float>::empty(Shape{3});
    CHECK_THROWS_WITH_AS(ops::convert(cpu{}, x, wrong), doctest::Contains("differs from input"), Error);
}

TEST_CASE_TEMPLATE("clamp limits to its range, keeps NaN, works in place and refuses an empty range", T, TYPES) {
    auto x = Tensor<T>::from({5}, {T(-3), T(0.5), T(7), T(NAN), T(-INFINITY)});
    for (auto be : {0, 1}) {
        auto y = x.clone();
        if (be == 0) ops::clamp(reference{}, y, acc_t<T>(0), acc_t<T>(4.6), y);
        else ops::clamp(cpu{}, y, acc_t<T>(0), acc_t<T>(4.6), y);
        CHECK(y[0] == T(0));
        CHECK(y[1] == T(0.5));
        CHECK(y[2] == T(acc_t<T>(4.6)));
        CHECK(std::isnan(double(y[3])));
        CHECK(y[4] == T(0));
    }
    auto y = x.clone();
    CHECK_THROWS_WITH_AS(ops::clamp(cpu{}, x, acc_t<T>(1), acc_t<T>(0), y), doctest::Contains("is empty"), Error);
}

TEST_CASE_TEMPLATE("sums over either axis and whole-tensor reductions agree", T, TYPES) {
    for (auto s : {Shape{1, 1}, Shape{7, 3}, Shape{1000, 33}, Shape{2, 3, 4}}) {
        const auto x = rand<T>(s, 8);
        for (double beta : {0.0, 1.0}) {
            agree<T>([&](auto be, auto& o) { ops::sum(be, ops::Axis::rows, acc_t<T>(0.5), x, acc_t<T>(beta), o[0]); },
                     {Shape{s.cols()}}, 1e-5, 1e-5);
            agree<T>([&](auto be, auto& o) { ops::sum(be, ops::Axis::cols, acc_t<T>(2), x, acc_t<T>(beta), o[0]); },
                     {Shape{s.rows()}}, 1e-5, 1e-5);
        }
        for (auto op : {ops::ReduceOp::sum, ops::ReduceOp::sum_squares, ops::ReduceOp::max_abs})
            CHECK(std::abs(ops::reduce_all(cpu{}, op, x) - ops::reduce_all(reference{}, op, x)) < 1e-3);
    }
    auto bad = Tensor<T>::from({4}, {T(1), T(INFINITY), T(NAN), T(2)});
    CHECK(ops::reduce_all(cpu{}, ops::ReduceOp::count_nonfinite, bad) == 2);
    CHECK(ops::reduce_all(reference{}, ops::ReduceOp::count_nonfinite, bad) == 2);
}

TEST_CASE_TEMPLATE("reduce_all_into combines a reduction into a running total", T, TYPES) {
    const auto a = rand<T>(Shape{7, 3}, 8), b = rand<T>(Shape{100}, 9);
    for (auto op : {ops::ReduceOp::sum, ops::ReduceOp::sum_squares, ops::ReduceOp::max_abs}) {
        auto total = Tensor<double>::zeros(Shape{1});
        ops::reduce_all_into(cpu{}, op, a, total);
        ops::reduce_all_into(cpu{}, op, b, total);
        const double ra = ops::reduce_all(reference{}, op, a), rb = ops::reduce_all(reference{}, op, b);
        const double expected = op == ops::ReduceOp::max_abs ? std::max(ra, rb) : ra + rb;
        CHECK(total[0] == doctest::Approx(expected).epsilon(1e-6));
    }
    auto two = Tensor<double>::zeros(Shape{2});
    CHECK_THROWS_WITH_AS(ops::reduce_all_into(cpu{}, ops::ReduceOp::sum, a, two), doctest::Contains("not one value"), Error);
}

TEST_CASE_TEMPLATE("layout primitives agree: transpose, permute, concat/split, gather/scatter, patches", T, TYPES) {
    const auto x = rand<T>(Shape{2, 3, 5, 7}, 9);
    agree<T>([&](auto be, auto& o) { ops::transpose(be, x, o[0]); }, {Shape{2, 3, 7, 5}});
    agree<T>([&](auto be, auto& o) { ops::permute_0213(be, x, o[0]); }, {Shape{2, 5, 3, 7}});
    const auto a = rand<T>(Shape{4, 3}, 10), b = rand<T>(Shape{4, 5}, 11);
    agree<T>([&](auto be, auto& o) { ops::concat_cols(be, a, b, o[0]); }, {Shape{4, 8}});
    const auto ab = rand<T>(Shape{4, 8}, 12);
    agree<T>([&](auto be, auto& o) { ops::split_cols(be, ab, o[0], o[1]); }, {Shape{4, 3}, Shape{4, 5}});
    const auto table = rand<T>(Shape{10, 6}, 13);
    auto index = Tensor<ops::Index>::from({7}, {3, 0, 9, 3, 3, 1, 9});
    agree<T>([&](auto be, auto& o) { ops::gather_rows(be, table, index, o[0]); }, {Shape{7, 6}});
    const auto src = rand<T>(Shape{7, 6}, 14);
    agree<T>([&](auto be, auto& o) { ops::scatter_add_rows(be, src, index, o[0]); }, {Shape{10, 6}});
    auto out_of_range = Tensor<ops::Index>::from({2}, {1, 10});
    auto g = Tensor<T>::empty(Shape{2, 6});
    CHECK_THROWS_WITH_AS(ops::gather_rows(cpu{}, table, out_of_range, g), doctest::Contains("index 10 at position 1"), Error);
    const auto img = rand<T>(Shape{2, 3, 8, 12}, 15);
    agree<T>([&](auto be, auto& o) { ops::im2patch(be, img, 4, o[0]); }, {Shape{2, 6, 48}});
    const auto patches = rand<T>(Shape{2, 6, 48}, 16);
    agree<T>([&](auto be, auto& o) { ops::patch2im(be, patches, 4, o[0]); }, {img.shape()});
    auto p = Tensor<T>::empty(Shape{2, 6, 48});
    CHECK_THROWS_WITH_AS(ops::im2patch(cpu{}, img, 5, p), doctest::Contains("not divisible into 5x5"), Error);
}

TEST_CASE_TEMPLATE("softmax family agrees, including masks and all-masked rows", T, TYPES) {
    const auto x = rand<T>(Shape{2, 3, 9, 9}, 17, 3.0);
    agree<T>([&](auto be, auto& o) { ops::softmax(be, x, {}, static_cast<const Tensor<T>*>(nullptr), o[0]); }, {x.shape()});
    agree<T>([&](auto be, auto& o) { ops::softmax(be, x, {true}, static_cast<const Tensor<T>*>(nullptr), o[0]); },
             {x.shape()});
    const std::vector<std::int64_t> lengths{4, 9};  // two sequences of 3·9 rows: a key-padding mask
    for (bool causal : {false, true})
        agree<T>([&](auto be, auto& o) {
            ops::softmax(be, x, ops::SoftmaxMask{causal, lengths}, static_cast<const Tensor<T>*>(nullptr), o[0]);
        }, {x.shape()});
    auto padded = Tensor<T>::empty(x.shape());
    ops::softmax(cpu{}, x, ops::SoftmaxMask{false, lengths}, static_cast<const Tensor<T>*>(nullptr), padded);
    for (std::int64_t r = 0; r < 27; ++r)
        for (std::int64_t c = 4; c < 9; ++c) CHECK(padded[r * 9 + c] == T(0));  // sequence 0 sees keys 0..3 only
    auto bias = rand<T>(Shape{9, 9}, 18);
    for (int c = 0; c < 9; ++c) bias.at(4, c) = -INFINITY;  // row 4 of every block fully masked
    agree<T>([&](auto be, auto& o) { ops::softmax(be, x, {}, &bias, o[0]); }, {x.shape()});
    auto y = Tensor<T>::empty(x.shape());
    ops::softmax(cpu{}, x, {}, &bias, y);
    for (int c = 0; c < 9; ++c) CHECK(y.at(0, 0, 4, c) == T(0));
    const auto dy = rand<T>(x.shape(), 19);
    agree<T>([&](auto be, auto& o) { ops::softmax_backward(be, y, dy, o[0]); }, {x.shape()});
    agree<T>([&](auto be, auto& o) { ops::log_softmax(be, x, o[0]); }, {x.shape()});
    auto ly = Tensor<T>::empty(x.shape());
    ops::log_softmax(reference{}, x, ly);
    agree<T>([&](auto be, auto& o) { ops::log_softmax_backward(be, ly, dy, o[0]); }, {x.shape()});
    // ±1e4 logits: no overflow.
    auto huge = Tensor<T>::from({2, 3}, {T(1e4), T(-1e4), T(0), T(-1e4), T(-1e4), T(1e4)});
    agree<T>([&](auto be, auto& o) { ops::log_softmax(be, huge, o[0]); }, {huge.shape()});
    agree<T>([&](auto be, auto& o) { ops::softmax(be, huge, {}, static_cast<const Tensor<T>*>(nullptr), o[0]); },
             {huge.shape()});
}

TEST_CASE_TEMPLATE("attention from a fused qkv agrees (forward and backward), with and without the causal mask", T, TYPES) {
    // Shapes of CLIP's towers in miniature, plus one token and one head.
    for (auto [n, t, w, h] : {std::array<std::int64_t, 4>{3, 7, 12, 3}, {2, 17, 16, 2}, {1, 1, 4, 1}, {2, 50, 64, 4}})
        for (bool causal : {false, true}) {
            CAPTURE(t);
            CAPTURE(causal);
            const auto qkv = rand<T>(Shape{n, t, 3 * w}, 21, 2.0);
            const auto dout = rand<T>(Shape{n, t, w}, 22);
            const double scale = 1.0 / std::sqrt(double(w / h));
            agree<T>([&](auto be, auto& o) { ops::attention(be, qkv, h, ops::SoftmaxMask{causal}, scale, o[0], o[1]); },
                     {Shape{n, t, w}, Shape{n, h, t, t}});
            auto out = Tensor<T>::empty(Shape{n, t, w}), probs = Tensor<T>::empty(Shape{n, h, t, t});
            ops::attention(reference{}, qkv, h, ops::SoftmaxMask{causal}, scale, out, probs);
            agree<T>([&](auto be, auto& o) { ops::attention_backward(be, qkv, probs, dout, h, scale, o[0]); },
                     {Shape{n, t, 3 * w}});
        }
}

TEST_CASE_TEMPLATE("attention with a key-padding mask agrees, and equals attention over the unpadded sequence", T, TYPES) {
    const std::int64_t n = 3, t = 7, w = 12, h = 3;
    const std::vector<std::int64_t> lengths{7, 3, 1};
    const auto qkv = rand<T>(Shape{n, t, 3 * w}, 25, 2.0);
    const double scale = 1.0 / std::sqrt(double(w / h));
    for (bool causal : {false, true})
        agree<T>([&](auto be, auto& o) { ops::attention(be, qkv, h, ops::SoftmaxMask{causal, lengths}, scale, o[0], o[1]); },
                 {Shape{n, t, w}, Shape{n, h, t, t}});
    // Sequence 1 cut to its 3 tokens gives, on those tokens, what the padded batch gives.
    auto out = Tensor<T>::empty(Shape{n, t, w}), probs = Tensor<T>::empty(Shape{n, h, t, t});
    ops::attention(cpu{}, qkv, h, ops::SoftmaxMask{false, lengths}, scale, out, probs);
    auto alone = Tensor<T>::empty(Shape{1, 3, 3 * w});
    for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t c = 0; c < 3 * w; ++c) alone[i * 3 * w + c] = qkv[(t + i) * 3 * w + c];
    auto alone_out = Tensor<T>::empty(Shape{1, 3, w}), alone_probs = Tensor<T>::empty(Shape{1, h, 3, 3});
    ops::attention(cpu{}, alone, h, ops::SoftmaxMask{}, scale, alone_out, alone_probs);
    for (std::int64_t i = 0; i < 3 * w; ++i) CHECK(double(out[t * w + i]) == doctest::Approx(double(alone_out[i])).epsilon(1e-5));
    CHECK_THROWS_WITH_AS(ops::attention(cpu{}, qkv, h, ops::SoftmaxMask{false, std::vector<std::int64_t>{7, 0, 1}}, scale, out, probs),
                         doctest::Contains("key length 0 is outside [1, 7]"), Error);
    CHECK_THROWS_WITH_AS(ops::attention(cpu{}, qkv, h, ops::SoftmaxMask{false, std::vector<std::int64_t>{7}}, scale, out, probs),
                         doctest::Contains("1 key lengths for 3 sequences"), Error);
}

TEST_CASE("attention checks its shapes") {
    auto qkv = Tensor<float>::zeros(Shape{2, 5, 12}), out = Tensor<float>::zeros(Shape{2, 5, 4});
    auto probs = Tensor<float>::zeros(Shape{2, 2, 5, 4});
    CHECK_THROWS_WITH_AS(ops::attention(cpu{}, qkv, 3, {}, 1.0, out, probs), doctest::Contains("not [N, T, 3W]"), Error);
    CHECK_THROWS_WITH_AS(ops::attention(cpu{}, qkv, 2, {}, 1.0, out, probs), doctest::Contains("attention: probabilities"), Error);
}

TEST_CASE_TEMPLATE("layer norm agrees, also for rows with mean 1e4 and variance 1", T, TYPES) {
    for (auto s : {Shape{1, 1}, Shape{5, 7}, Shape{64, 128}, Shape{3, 2, 33}}) {
        const auto x = rand<T>(s, 20, 2.0);
        const auto gamma = rand<T>(Shape{s.cols()}, 21), beta = rand<T>(Shape{s.cols()}, 22);
        agree<T>([&](auto be, auto& o) { ops::layer_norm(be, x, gamma, beta, 1e-5, o[0], o[1], o[2]); },
                 {s, Shape{s.rows()}, Shape{s.rows()}}, 1e-4, 1e-4);
        auto y = Tensor<T>::empty(s), mu = Tensor<T>::empty(Shape{s.rows()}), rs = Tensor<T>::empty(Shape{s.rows()});
        ops::layer_norm(reference{}, x, gamma, beta, 1e-5, y, mu, rs);
        const auto dy = rand<T>(s, 23);
        agree<T>([&](auto be, auto& o) { ops::layer_norm_backward(be, x, gamma, mu, rs, dy, o[0], o[1], o[2]); },
                 {s, Shape{s.cols()}, Shape{s.cols()}}, 1e-4, 1e-4);
    }
    // Mean 1e4, variance 1: a one-pass E[x²] − E[x]² formula loses every digit here in float.
    auto x = rand<T>(Shape{8, 256}, 24);
    for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = T(1e4 + double(x[i]));
    auto gamma = Tensor<T>::full(Shape{256}, T(1)), beta = Tensor<T>::full(Shape{256}, T(0));
    auto y = Tensor<T>::empty(x.shape()), mu = Tensor<T>::empty(Shape{8}), rs = Tensor<T>::empty(Shape{8});
    ops::layer_norm(cpu{}, x, gamma, beta, 1e-5, y, mu, rs);
    auto yr = Tensor<T>::empty(x.shape());
    ops::layer_norm(reference{}, x, gamma, beta, 1e-5, yr, mu, rs);
    CHECK(test::max_abs_diff(y, yr) < (std::is_same_v<T, float> ? 2e-2 : 1e-9));
    double mean_sq = 0;
    for (std::int64_t i = 0; i < 256; ++i) mean_sq += double(y[i]) * double(y[i]);
    CHECK(std::abs(mean_sq / 256 - 1) < 0.05);  // unit variance survived
}

TEST_CASE_TEMPLATE("l2 normalisation agrees, including zero rows", T, TYPES) {
    auto x = rand<T>(Shape{6, 10}, 25);
    for (int c = 0; c < 10; ++c) x.at(2, c) = T(0);
    agree<T>([&](auto be, auto& o) { ops::l2_normalize(be, x, 1e-12, o[0], o[1]); }, {x.shape(), Shape{6}});
    auto y = Tensor<T>::empty(x.shape()), n = Tensor<T>::empty(Shape{6});
    ops::l2_normalize(reference{}, x, 1e-12, y, n);
    const auto dy = rand<T>(x.shape(), 26);
    agree<T>([&](auto be, auto& o) { ops::l2_normalize_backward(be, y, n, 1e-12, dy, o[0]); }, {x.shape()}, 1e-5, 1e-5);
}

TEST_CASE_TEMPLATE("activations and their derivatives agree", T, TYPES) {
    const auto x = rand<T>(Shape{5, 41}, 27, 3.0), dy = rand<T>(Shape{5, 41}, 28);
    using A = ops::Activation;
    for (auto f : {A::quick_gelu, A::gelu, A::gelu_tanh, A::relu}) {
        agree<T>([&](auto be, auto& o) { ops::activation(be, f, x, o[0]); }, {x.shape()}, 1e-5, 1e-5);
        agree<T>([&](auto be, auto& o) { ops::activation_backward(be, f, x, dy, o[0]); }, {x.shape()}, 1e-5, 1e-5);
    }
}

TEST_CASE_TEMPLATE("cross-entropy agrees, safe for ±1e4 logits and rows of −inf", T, TYPES) {
    auto logits = rand<T>(Shape{5, 7}, 29, 2.0);
    for (int c = 0; c < 7; ++c) {
        logits.at(1, c) = T(c % 2 ? 1e4 : -1e4);
        logits.at(3, c) = T(-INFINITY);
    }
    auto target = Tensor<ops::Index>::from({5}, {0, 1, 6, 2, 3});
    agree<T>([&](auto be, auto& o) { ops::cross_entropy(be, logits, target, o[0], o[1]); }, {Shape{5}, Shape{5}});
    auto loss = Tensor<T>::empty(Shape{5}), lse = Tensor<T>::empty(Shape{5});
    ops::cross_entropy(cpu{}, logits, target, loss, lse);
    CHECK(loss[1] == doctest::Approx(std::log(3.0)));  // three columns tie at +1e4, target 1 among them
    CHECK(std::isinf(loss[3]));
    CHECK(loss[3] > 0);
    auto dloss = rand<T>(Shape{5}, 30);
    agree<T>([&](auto be, auto& o) { ops::cross_entropy_backward(be, logits, target, lse, dloss, o[0]); }, {logits.shape()});
    auto dl = Tensor<T>::empty(logits.shape());
    ops::cross_entropy_backward(cpu{}, logits, target, lse, dloss, dl);
    for (int c = 0; c < 7; ++c) CHECK(dl.at(3, c) == T(0));
    auto bad = Tensor<ops::Index>::from({5}, {0, 1, 7, 2, 3});
    CHECK_THROWS_WITH_AS(ops::cross_entropy(cpu{}, logits, bad, loss, lse), doctest::Contains("target 7 of row 2"), Error);
}

TEST_CASE_TEMPLATE("the CLIP loss and its backward agree, in place too, from one pair to N = 70", T, TYPES) {
    for (const std::int64_t n : {1, 5, 33, 70})
        for (const double logit_scale : {std::log(1 / 0.07), std::log(100.0)}) {
            CAPTURE(n);
            CAPTURE(logit_scale);
            const auto cosines = rand<T>(Shape{n, n}, 36, 0.4);
            const auto scale = Tensor<T>::full(Shape{}, T(logit_scale));
            agree<T>([&](auto be, auto& o) { ops::clip_loss(be, cosines, scale, o[0], o[1], o[2], o[3]); },
                     {Shape{n, n}, Shape{n}, Shape{n}, Shape{}});
            agree<T>([&](auto be, auto& o) {  // logits = cosines: scaled in place
                auto logits = cosines.clone();
                ops::clip_loss(be, logits, scale, logits, o[0], o[1], o[2]);
                ops::affine(be, logits, acc_t<T>(1), acc_t<T>(0), o[3]);
            }, {Shape{n}, Shape{n}, Shape{}, Shape{n, n}});
            auto logits = Tensor<T>::empty(Shape{n, n}), rows = Tensor<T>::empty(Shape{n}), cols = Tensor<T>::empty(Shape{n});
            auto loss = Tensor<T>::empty(Shape{});
            ops::clip_loss(reference{}, cosines, scale, logits, rows, cols, loss);
            const auto dloss = Tensor<T>::full(Shape{}, T(0.7));
            agree<T>([&](auto be, auto& o) { ops::clip_loss_backward(be, logits, rows, cols, scale, dloss, o[0], o[1]); },
                     {Shape{n, n}, Shape{}});
        }
    // s = e¹² ≈ 1.6e5: logits of ±1e5, whose exponentials overflow unless the maximum is taken out.
    const auto cosines = rand<T>(Shape{33, 33}, 37, 0.4);
    const auto huge = Tensor<T>::full(Shape{}, T(12));
    agree<T>([&](auto be, auto& o) { ops::clip_loss(be, cosines, huge, o[0], o[1], o[2], o[3]); },
             {Shape{33, 33}, Shape{33}, Shape{33}, Shape{}});
    auto logits = Tensor<T>::empty(Shape{33, 33}), rows = Tensor<T>::empty(Shape{33}), cols = Tensor<T>::empty(Shape{33});
    auto loss = Tensor<T>::empty(Shape{});
    ops::clip_loss(cpu{}, cosines, huge, logits, rows, cols, loss);
    CHECK(std::isfinite(double(loss.item())));
    CHECK(loss.item() > 0);
}

TEST_CASE("the CLIP loss says which argument has the wrong shape") {
    auto cosines = Tensor<float>::zeros(Shape{4, 4}), scale = Tensor<float>::zeros(Shape{});
    auto logits = Tensor<float>::zeros(Shape{4, 4}), rows = Tensor<float>::zeros(Shape{4}), cols = Tensor<float>::zeros(Shape{4});
    auto loss = Tensor<float>::zeros(Shape{});
    auto wide = Tensor<float>::zeros(Shape{4, 5}), empty = Tensor<float>::zeros(Shape{0, 0}), three = Tensor<float>::zeros(Shape{3});
    CHECK_THROWS_WITH_AS(ops::clip_loss(cpu{}, wide, scale, wide, rows, cols, loss),
                         doctest::Contains("clip_loss: needs [N, N] scores of N ≥ 1 pairs"), Error);
    CHECK_THROWS_WITH_AS(ops::clip_loss(cpu{}, empty, scale, empty, three, three, loss), doctest::Contains("got [0,0]"), Error);
    CHECK_THROWS_WITH_AS(ops::clip_loss(cpu{}, cosines, rows, logits, rows, cols, loss),
                         doctest::Contains("clip_loss: logit_scale [4] is not one value"), Error);
    CHECK_THROWS_WITH_AS(ops::clip_loss(cpu{}, cosines, scale, wide, rows, cols, loss),
                         doctest::Contains("cosines and logits shapes differ"), Error);
    CHECK_THROWS_WITH_AS(ops::clip_loss(cpu{}, cosines, scale, logits, three, cols, loss),
                         doctest::Contains("clip_loss: lse_rows [3] needs 4 elements"), Error);
    CHECK_THROWS_WITH_AS(ops::clip_loss(cpu{}, cosines, scale, logits, rows, three, loss),
                         doctest::Contains("clip_loss: lse_cols [3] needs 4 elements"), Error);
    CHECK_THROWS_WITH_AS(ops::clip_loss(cpu{}, cosines, scale, logits, rows, cols, rows),
                         doctest::Contains("clip_loss: loss [4] is not one value"), Error);
    auto dcosines = Tensor<float>::zeros(Shape{4, 4}), dscale = Tensor<float>::zeros(Shape{});
    CHECK_THROWS_WITH_AS(ops::clip_loss_backward(cpu{}, logits, rows, cols, scale, loss, wide, dscale),
                         doctest::Contains("logits and dcosines shapes differ"), Error);
    CHECK_THROWS_WITH_AS(ops::clip_loss_backward(cpu{}, logits, rows, three, scale, loss, dcosines, dscale),
                         doctest::Contains("clip_loss_backward: lse_cols [3] needs 4 elements"), Error);
    CHECK_THROWS_WITH_AS(ops::clip_loss_backward(cpu{}, logits, rows, cols, scale, rows, dcosines, dscale),
                         doctest::Contains("dloss [4] and dlogit_scale [] must be one value each"), Error);
}

TEST_CASE_TEMPLATE("convolution with padding and stride agrees (forward and both adjoints)", T, TYPES) {
    for (auto [stride, pad, k] : {std::array<int, 3>{1, 1, 3}, {2, 1, 3}, {2, 0, 1}, {4, 0, 4}}) {
        const auto x = rand<T>(Shape{2, 3, 9, 8}, 31), w = rand<T>(Shape{4, 3, k, k}, 32);
        const ops::Conv2dShape s{stride, pad};
        const Shape ys{2, 4, ops::conv2d_out_extent(9, k, s), ops::conv2d_out_extent(8, k, s)};
        agree<T>([&](auto be, auto& o) { ops::conv2d(be, x, w, s, o[0]); }, {ys}, 1e-5, 1e-5);
        const auto dy = rand<T>(ys, 33);
        agree<T>([&](auto be, auto& o) { ops::conv2d_backward_data(be, dy, w, s, o[0]); }, {x.shape()}, 1e-5, 1e-5);
        agree<T>([&](auto be, auto& o) { ops::conv2d_backward_weight(be, dy, x, s, o[0]); }, {w.shape()}, 1e-5, 1e-5);
    }
}

TEST_CASE_TEMPLATE("adamw agrees over several steps", T, TYPES) {
    auto run = [&](auto be) {
        auto p = rand<T>(Shape{3, 50}, 34);
        auto m = Tensor<T>::zeros(p.shape()), v = Tensor<T>::zeros(p.shape());
        for (int step = 1; step <= 5; ++step) {
            const auto g = rand<T>(p.shape(), 35 + step);
            ops::adamw(be, p, g, m, v, ops::AdamWStep{1e-2, 0.9, 0.98, 1e-6, 0.2, step});
        }
        return p;
    };
    CHECK_CLOSE(run(cpu{}), run(reference{}), 1e-5, 1e-6);
}
