// The residual add fused with the layer norm after it (ad::add_layer_norm, ops::add_layer_norm):
// gradchecked in float64, the same bits as its twin (add, then the fused layer norm) on each CPU
// backend, the Eigen backend agreeing with the reference, and the contract's errors.
#include <doctest/doctest.h>

#include <cstring>

#include "../support/agree.hpp"

using namespace contra;
using test::rand;

namespace {

// Both outputs feed the result, one through a square, so both gradient paths count.
template <class T, class B>
Var<T, B> both_outputs(const ad::ResidualAndNorm<T, B>& r) {
    return ad::add(r.sum, ad::mul(r.normed, r.normed));
}

template <class T>
bool same_bits(const Tensor<T, cpu>& a, const Tensor<T, cpu>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.bytes()) == 0;
}

// Value and gradients (x, branch, gamma, beta) of both_outputs over `residual_norm`, seeded by a
// fixed random tensor.
template <class T, class B, class F>
std::vector<Tensor<T, cpu>> value_and_grads(F&& residual_norm, const std::vector<Tensor<T, cpu>>& inputs) {
    Tape tape;
    Tape::Active active(tape);
    std::vector<Var<T, B>> v;
    for (const auto& t : inputs) v.push_back(leaf<B>(to_device<device_of<B>>(t.clone()), true));
    const auto y = both_outputs(residual_norm(v));
    backward(y, to_device<device_of<B>>(rand<T>(y.shape(), 99)));
    std::vector<Tensor<T, cpu>> out{to_device<cpu>(y.value()).clone()};
    for (auto& x : v) out.push_back(to_device<cpu>(x.grad()).clone());
    tape.reset();
    return out;
}

}  // namespace

TEST_CASE_TEMPLATE("gradcheck: add_layer_norm, fused and composite", B, reference, cpu) {
    for (auto s : {Shape{1, 2}, Shape{4, 7}, Shape{2, 3, 5}}) {
        const auto x = test::random_tensor(s, 31), branch = test::random_tensor(s, 32);
        const auto g = test::random_tensor(Shape{s.cols()}, 33), b = test::random_tensor(Shape{s.cols()}, 34);
        test::expect_gradients<B>([](auto& v) { return both_outputs(ad::add_layer_norm<ad::Fused>(v[0], v[1], v[2], v[3])); },
                                  {x, branch, g, b});
        test::expect_gradients<B>(
            [](auto& v) { return both_outputs(ad::add_layer_norm<ad::Composite>(v[0], v[1], v[2], v[3])); },
            {x, branch, g, b});
    }
}

TEST_CASE_TEMPLATE("add_layer_norm gives the bits of add then layer_norm (values and gradients)", B, reference, cpu) {
    auto check = [&]<class T>(T) {
        for (auto s : {Shape{1, 1}, Shape{3, 64}, Shape{2, 50, 96}, Shape{5, 1000}}) {
            INFO("shape " << s);
            const std::vector<Tensor<T, cpu>> in{rand<T>(s, 41), rand<T>(s, 42), rand<T>(Shape{s.cols()}, 43),
                                                 rand<T>(Shape{s.cols()}, 44)};
            const auto fused = value_and_grads<T, B>(
                [](auto& v) { return ad::add_layer_norm<ad::Fused>(v[0], v[1], v[2], v[3]); }, in);
            const auto twin = value_and_grads<T, B>(
                [](auto& v) {
                    const auto sum = ad::add(v[0], v[1]);
                    return ad::ResidualAndNorm<T, B>{sum, ad::layer_norm<ad::Fused>(sum, v[2], v[3])};
                },
                in);
            for (std::size_t i = 0; i < fused.size(); ++i) {
                INFO("tensor " << i << " (0 = value, then the gradients of x, branch, gamma, beta)");
                CHECK(same_bits(fused[i], twin[i]));
            }
        }
    };
    check(float{});
    check(double{});
    if constexpr (std::same_as<B, reference>) check(bf16{});
}

TEST_CASE_TEMPLATE("add_layer_norm: the Eigen backend agrees with the reference", T, float, double) {
    for (auto s : {Shape{1, 3}, Shape{7, 77}, Shape{4, 512}}) {
        const auto x = rand<T>(s, 51), branch = rand<T>(s, 52);
        const auto gamma = rand<T>(Shape{s.cols()}, 53), beta = rand<T>(Shape{s.cols()}, 54);
        test::agree<T>([&](auto be, auto& o) { ops::add_layer_norm(be, x, branch, gamma, beta, 1e-5, o[0], o[1], o[2], o[3]); },
                       {s, s, Shape{s.rows()}, Shape{s.rows()}}, 1e-4, 1e-4);
    }
}

TEST_CASE("add_layer_norm: the contract's errors") {
    const auto x = rand<float>(Shape{3, 4}, 61), branch = rand<float>(Shape{3, 4}, 62);
    const auto gamma = rand<float>(Shape{4}, 63), beta = rand<float>(Shape{4}, 64);
    auto sum = Tensor<float>::empty(Shape{3, 4}), y = Tensor<float>::empty(Shape{3, 4});
    auto mean = Tensor<float>::empty(Shape{3}), rstd = Tensor<float>::empty(Shape{3});
    const auto narrow = rand<float>(Shape{3, 5}, 65);
    CHECK_THROWS_WITH_AS(ops::add_layer_norm(cpu{}, x, narrow, gamma, beta, 1e-5, sum, y, mean, rstd),
                         doctest::Contains("input and branch shapes differ"), Error);
    CHECK_THROWS_WITH_AS(ops::add_layer_norm(cpu{}, x, branch, rand<float>(Shape{5}, 66), beta, 1e-5, sum, y, mean, rstd),
                         doctest::Contains("must have 4 elements"), Error);
    auto short_mean = Tensor<float>::empty(Shape{2});
    CHECK_THROWS_WITH_AS(ops::add_layer_norm(cpu{}, x, branch, gamma, beta, 1e-5, sum, y, short_mean, rstd),
                         doctest::Contains("mean/rstd need 3"), Error);
    CHECK_THROWS_WITH_AS(ops::add_layer_norm(cpu{}, x, branch, gamma, beta, 1e-5, sum, sum, mean, rstd),
                         doctest::Contains("must not share memory"), Error);
    auto in_place = x.clone();
    CHECK_THROWS_WITH_AS(ops::add_layer_norm(cpu{}, in_place, branch, gamma, beta, 1e-5, in_place, y, mean, rstd),
                         doctest::Contains("must not share memory"), Error);
    Tape tape;
    Tape::Active active(tape);
    CHECK_THROWS_WITH_AS(ad::add_layer_norm<ad::Fused>(leaf<cpu>(x.clone()), leaf<cpu>(narrow.clone()),
                                                       leaf<cpu>(gamma.clone()), leaf<cpu>(beta.clone())),
                         doctest::Contains("differ in shape"), Error);
}
