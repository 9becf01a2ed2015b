// contra/autograd/ops/reduce.hpp — sum and mean, over everything or over one matrix axis;
// the broadcast-gradient helper the elementwise ops use.
#pragma once
#include "common.hpp"

namespace contra::ad {

// reduce_to(g [R,C], rows, cols): g summed down to a [rows, cols] matrix, rows ∈ {1, R},
// cols ∈ {1, C}: the gradient of an operand that was broadcast.
template <class T, class B>
TensorOn<T, B> reduce_to(const TensorOn<T, B>& g, std::int64_t rows, std::int64_t cols, acc_t<T> alpha = 1) {
    const std::int64_t R = g.rows(), C = g.cols();
    if (rows == R && cols == C) {
        if (alpha == acc_t<T>(1)) return g;
        auto out = new_tensor<T, B>(Shape{rows, cols});
        ops::affine(B{}, g, alpha, acc_t<T>(0), out);
        return out;
    }
    auto g2 = g.reshape(Shape{R, C});
    if (rows == 1 && cols == C) {
        auto out = new_tensor<T, B>(Shape{C});
        ops::sum(B{}, ops::Axis::rows, alpha, g2, acc_t<T>(0), out);
        return out.reshape(Shape{1, C});
    }
    auto per_row = new_tensor<T, B>(Shape{R, 1});
    ops::sum(B{}, ops::Axis::cols, alpha, g2, acc_t<T>(0), per_row);
    if (rows == R) return per_row;
    auto out = new_tensor<T, B>(Shape{1, 1});
    ops::sum(B{}, ops::Axis::rows, acc_t<T>(1), per_row, acc_t<T>(0), out);
    return out;
}

// broadcast(g [rows, cols] (rows, cols ∈ {1,...}), shape): g spread over a tensor of `shape`.
template <class T, class B>
TensorOn<T, B> broadcast(const TensorOn<T, B>& g, const Shape& shape) {
    auto out = new_tensor<T, B>(shape);
    ops::fill(B{}, acc_t<T>(0), out);
    ops::binary(B{}, ops::BinaryOp::add, out, g, out);
    return out;
}

// sum(x): the sum of all elements, shape [].
template <class T, class B>
Var<T, B> sum(const Var<T, B>& x) {
    auto flat = x.value().reshape(Shape{x.numel(), 1});
    auto out = new_tensor<T, B>(Shape{});
    auto out1 = out.reshape(Shape{1});
    ops::sum(B{}, ops::Axis::rows, acc_t<T>(1), flat, acc_t<T>(0), out1);
    const Shape shape = x.shape();
    return record<T, B>(out, [x, shape](const TensorOn<T, B>& g) {
        x.accumulate(broadcast<T, B>(g.reshape(Shape{1, 1}), shape));
    }, x);
}

// mean(x): the mean of all elements, shape [].
template <class T, class B>
Var<T, B> mean(const Var<T, B>& x) {
    auto flat = x.value().reshape(Shape{x.numel(), 1});
    auto out = new_tensor<T, B>(Shape{});
    const acc_t<T> inv = acc_t<T>(1) / acc_t<T>(std::max<std::int64_t>(1, x.numel()));
    auto out1 = out.reshape(Shape{1});
    ops::sum(B{}, ops::Axis::rows, inv, flat, acc_t<T>(0), out1);
    const Shape shape = x.shape();
    return record<T, B>(out, [x, shape, inv](const TensorOn<T, B>& g) {
        auto spread = broadcast<T, B>(g.reshape(Shape{1, 1}), shape);
        ops::affine(B{}, spread, inv, acc_t<T>(0), spread);
        x.accumulate(spread);
    }, x);
}

// sum(x, axis): x read as [R,C]; Axis::rows sums the rows away (→ [C]), Axis::cols the columns (→ [R]).
template <class T, class B>
Var<T, B> sum(const Var<T, B>& x, ops::Axis axis, acc_t<T> alpha = 1) {
    const std::int64_t R = x.value().rows(), C = x.value().cols();
    auto out = new_tensor<T, B>(axis == ops::Axis::rows ? Shape{C} : Shape{R});
    ops::sum(B{}, axis, alpha, x.value(), acc_t<T>(0), out);
    const Shape shape = x.shape();
    return record<T, B>(out, [x, shape, axis, alpha, R, C](const TensorOn<T, B>& g) {
        auto g2 = axis == ops::Axis::rows ? g.reshape(Shape{1, C}) : g.reshape(Shape{R, 1});
        auto spread = broadcast<T, B>(g2, Shape{R, C});
        if (alpha != acc_t<T>(1)) ops::affine(B{}, spread, alpha, acc_t<T>(0), spread);
        x.accumulate(spread.reshape(shape));
    }, x);
}

// mean(x, axis): as sum(x, axis) divided by the extent summed over.
template <class T, class B>
Var<T, B> mean(const Var<T, B>& x, ops::Axis axis) {
    const std::int64_t n = axis == ops::Axis::rows ? x.value().rows() : x.value().cols();
    return sum(x, axis, acc_t<T>(1) / acc_t<T>(std::max<std::int64_t>(1, n)));
}

}  // namespace contra::ad
