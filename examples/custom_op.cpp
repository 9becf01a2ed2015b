// examples/custom_op.cpp — writing a new differentiable op and checking its gradient.
//
// softplus(x) = log(1 + eˣ), with d softplus / dx = σ(x). The forward pass is built from
// primitives of the op contract (so it runs on every backend); record() puts one node on the
// tape whose closure turns the output gradient g into the input gradient g ⊙ σ(x).
#include <contra/contra.hpp>

#include <cstdio>

namespace my {
using namespace contra;

template <class T, class B>
Var<T, B> softplus(const Var<T, B>& x) {
    auto e = ad::new_tensor<T, B>(x.shape());             // [..] same shape as x
    auto y = ad::new_tensor<T, B>(x.shape());             // [..]
    ops::unary(B{}, ops::UnaryOp::exp, x.value(), e);     // e = eˣ
    ops::affine(B{}, e, acc_t<T>(1), acc_t<T>(1), e);     // e = 1 + eˣ (affine may work in place)
    ops::unary(B{}, ops::UnaryOp::log, e, y);             // y = log(1 + eˣ)
    return record<T, B>(y, [x](const TensorOn<T, B>& g) {
        auto s = ad::new_tensor<T, B>(g.shape());
        auto dx = ad::new_tensor<T, B>(g.shape());
        ops::unary(B{}, ops::UnaryOp::sigmoid, x.value(), s);  // σ(x)
        ops::binary(B{}, ops::BinaryOp::mul, s, g, dx);        // g ⊙ σ(x)
        x.accumulate(dx);
    }, x);
}
}  // namespace my

int main() {
    using namespace contra;
    // gradcheck compares the tape's gradient with central differences in float64.
    Rng rng(42, stream_id("example.custom_op"));
    auto x = Tensor<double>::empty(Shape{4, 3});
    for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = 3.0 * rng.normal();
    const auto report = gradcheck<cpu>([](auto& v) { return my::softplus(v[0]); }, {x});
    std::printf("softplus gradcheck: %s (max error %.3g)\n", report.ok ? "ok" : "FAILED", report.worst_abs_error);
    return report.ok ? 0 : 1;
}
