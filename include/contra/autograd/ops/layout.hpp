// contra/autograd/ops/layout.hpp — differentiable moves: transpose, head permutes, concat,
// row gathers (embeddings, pooling), patch extraction.
#pragma once
#include "common.hpp"

namespace contra::ad {

// transpose(x): swaps the last two axes of x [..., M, N] → [..., N, M].
template <class T, class B>
Var<T, B> transpose(const Var<T, B>& x) {
    CONTRA_CHECK(x.shape().rank() >= 2, "transpose: needs rank ≥ 2, got ", x.shape());
    Shape s = x.shape();
    std::swap(s[-1], s[-2]);
    auto y = new_tensor<T, B>(s);
    ops::transpose(B{}, x.value(), y);
    return record<T, B>(y, [x](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(x.shape());
        ops::transpose(B{}, g, dx);
        x.accumulate(dx);
    }, x);
}

// permute_0213(x): [A, B, C, D] → [A, C, B, D] (split [N,T,H,Dh] into heads [N,H,T,Dh] and back).
template <class T, class B>
Var<T, B> permute_0213(const Var<T, B>& x) {
    const Shape s = x.shape();
    auto y = new_tensor<T, B>(Shape{s[0], s[2], s[1], s[3]});
    ops::permute_0213(B{}, x.value(), y);
    return record<T, B>(y, [x](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(x.shape());
        ops::permute_0213(B{}, g, dx);
        x.accumulate(dx);
    }, x);
}

// concat_cols(a, b): [R, Ca] | [R, Cb] → [R, Ca+Cb] (reshape to choose the axis).
template <class T, class B>
Var<T, B> concat_cols(const Var<T, B>& a, const Var<T, B>& b) {
    auto out = new_tensor<T, B>(Shape{a.shape()[0], a.shape()[1] + b.shape()[1]});
    ops::concat_cols(B{}, a.value(), b.value(), out);
    return record<T, B>(out, [a, b](const TensorOn<T, B>& g) {
        auto da = new_tensor<T, B>(a.shape());
        auto db = new_tensor<T, B>(b.shape());
        ops::split_cols(B{}, g, da, db);
        a.accumulate(da);
        b.accumulate(db);
    }, a, b);
}

// slice_cols(x, begin, end): columns [begin, end) of x [R, C] → [R, end−begin].
template <class T, class B>
Var<T, B> slice_cols(const Var<T, B>& x, std::int64_t begin, std::int64_t end) {
    const std::int64_t R = x.shape()[0], C = x.shape()[1];
    CONTRA_CHECK(x.shape().rank() == 2 && 0 <= begin && begin <= end && end <= C, "slice_cols: [", begin, ",", end,
                 ") of ", x.shape());
    auto left = new_tensor<T, B>(Shape{R, begin});
    auto middle = new_tensor<T, B>(Shape{R, end - begin});
    auto right = new_tensor<T, B>(Shape{R, C - end});
    auto rest = new_tensor<T, B>(Shape{R, C - begin});
    ops::split_cols(B{}, x.value(), left, rest);
    ops::split_cols(B{}, rest, middle, right);
    return record<T, B>(middle, [x, R, begin, end, C](const TensorOn<T, B>& g) {
        auto zl = new_tensor<T, B>(Shape{R, begin});
        auto zr = new_tensor<T, B>(Shape{R, C - end});
        ops::fill(B{}, acc_t<T>(0), zl);
        ops::fill(B{}, acc_t<T>(0), zr);
        auto tail = new_tensor<T, B>(Shape{R, C - begin});
        auto dx = new_tensor<T, B>(Shape{R, C});
        ops::concat_cols(B{}, g, zr, tail);
        ops::concat_cols(B{}, zl, tail, dx);
        x.accumulate(dx);
    }, x);
}

// with_rows(base, part, first): base [R, …] (a constant) with rows [first, first + n) replaced by
// part [n, …]; the gradient reaches part only (gradient accumulation over cached features).
template <class T, class B>
Var<T, B> with_rows(const TensorOn<T, B>& base, const Var<T, B>& part, std::int64_t first) {
    const std::int64_t n = part.shape()[0];
    CONTRA_CHECK(base.rank() == part.shape().rank() && first >= 0 && first + n <= base.size(0) &&
                     base.numel() / std::max<std::int64_t>(1, base.size(0)) == part.numel() / std::max<std::int64_t>(1, n),
                 "with_rows: rows [", first, ", ", first + n, ") of ", base.shape(), " cannot hold ", part.shape());
    auto out = new_tensor<T, B>(base.shape());
    copy(base, out);
    auto slot = out.rows(first, first + n);
    copy(part.value(), slot);
    return record<T, B>(out, [part, first, n](const TensorOn<T, B>& g) { part.accumulate(g.rows(first, first + n), false); }, part);
}

// gather_rows(table, index): rows of table [V, W] at index [N] → [N, W]: embedding lookup, and
// pooling one row per sequence (the end-of-text token). The gradient scatter-adds back.
template <class T, class B>
Var<T, B> gather_rows(const Var<T, B>& table, const TensorOn<ops::Index, B>& index) {
    auto out = new_tensor<T, B>(Shape{index.numel(), table.shape()[-1]});
    const auto table2 = table.value().reshape(Shape{table.value().rows(), table.value().cols()});
    ops::gather_rows(B{}, table2, index, out);
    return record<T, B>(out, [table, index](const TensorOn<T, B>& g) {
        const Shape t2{table.value().rows(), table.value().cols()};
        auto [dt, beta] = table.slot()->destination(B{}, t2);
        if (beta == acc_t<T>(0)) ops::fill(B{}, acc_t<T>(0), dt);
        ops::scatter_add_rows(B{}, g, index, dt);
    }, table);
}

// im2patch(img, patch): [N,C,H,W] → [N, (H/P)(W/P), C·P·P], the patch matrix of a ViT stem.
template <class T, class B>
Var<T, B> im2patch(const Var<T, B>& img, int patch) {
    const Shape s = img.shape();
    CONTRA_CHECK(s.rank() == 4, "im2patch: expects images [N,C,H,W], got ", s);
    auto out = new_tensor<T, B>(Shape{s[0], (s[2] / patch) * (s[3] / patch), s[1] * patch * patch});
    ops::im2patch(B{}, img.value(), patch, out);
    return record<T, B>(out, [img, patch](const TensorOn<T, B>& g) {
        auto dimg = new_tensor<T, B>(img.shape());
        ops::patch2im(B{}, g, patch, dimg);
        img.accumulate(dimg);
    }, img);
}

}  // namespace contra::ad
