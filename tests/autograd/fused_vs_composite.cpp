// Fused ops agree with their composite twins (values and gradients), in float and double.
#include <doctest/doctest.h>

#include "../support/compare.hpp"

using namespace contra;

namespace {
// Values and input gradients of f on the cpu backend, for a fixed random output projection.
template <class T, class F>
std::vector<Tensor<T>> value_and_grads(F&& f, const std::vector<Tensor<T>>& inputs) {
    Tape tape;
    Tape::Active active(tape);
    std::vector<Var<T, cpu>> vars;
    for (const auto& t : inputs) vars.push_back(leaf<cpu>(t.clone()));
    const auto y = f(vars);
    auto seed = cast<T>(test::random_tensor<double>(y.shape(), 99));
    std::vector<Tensor<T>> out{y.value().clone()};
    backward(y, seed);
    for (auto& v : vars) out.push_back(v.grad().clone());
    tape.reset();
    return out;
}
template <class T>
void check_all_close(const std::vector<Tensor<T>>& a, const std::vector<Tensor<T>>& b) {
    const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-10;
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("tensor " << i << " (0 = value, then gradients)");
        CHECK_CLOSE(a[i], b[i], tol, tol);
    }
}
}  // namespace

TEST_CASE_TEMPLATE("fused and composite layer norm agree", T, float, double) {
    const std::vector<Tensor<T>> in{cast<T>(test::random_tensor(Shape{6, 3, 16}, 1, 3.0)),
                                    cast<T>(test::random_tensor(Shape{16}, 2)), cast<T>(test::random_tensor(Shape{16}, 3))};
    check_all_close(value_and_grads<T>([](auto& v) { return ad::layer_norm<ad::Fused>(v[0], v[1], v[2]); }, in),
                    value_and_grads<T>([](auto& v) { return ad::layer_norm<ad::Composite>(v[0], v[1], v[2]); }, in));
}

TEST_CASE_TEMPLATE("fused and composite cross-entropy agree", T, float, double) {
    const std::vector<Tensor<T>> in{cast<T>(test::random_tensor(Shape{9, 9}, 4, 4.0))};
    auto target = Tensor<ops::Index>::from({9}, {0, 1, 2, 3, 4, 5, 6, 7, 8});
    check_all_close(value_and_grads<T>([&](auto& v) { return ad::cross_entropy<ad::Fused>(v[0], target); }, in),
                    value_and_grads<T>([&](auto& v) { return ad::cross_entropy<ad::Composite>(v[0], target); }, in));
}

TEST_CASE_TEMPLATE("fused and composite attention agree, with and without the causal and key-padding masks", T, float, double) {
    const std::vector<std::int64_t> lengths{7, 2, 5};
    for (bool causal : {false, true})
        for (bool padded : {false, true}) {
            const std::vector<Tensor<T>> in{cast<T>(test::random_tensor(Shape{3, 7, 3 * 12}, 5))};
            const ops::SoftmaxMask mask{causal, padded ? std::span<const std::int64_t>(lengths) : std::span<const std::int64_t>()};
            check_all_close(value_and_grads<T>([&](auto& v) { return ad::attention<ad::Fused>(v[0], 4, mask); }, in),
                            value_and_grads<T>([&](auto& v) { return ad::attention<ad::Composite>(v[0], 4, mask); }, in));
        }
}
