// contra/autograd/ops/conv.hpp — differentiable convolution, batch normalisation and average
// pooling over NCHW images (the ResNet image tower).
// defines: ad::conv2d, ad::batch_norm2d, ad::BatchNormMode, ad::avg_pool2d
#pragma once
#include "common.hpp"

namespace contra::ad {

// conv2d(x, w, s): x [N,C,H,W] ⊛ w [O,C,KH,KW] (no bias, zero padding, stride) → [N,O,Ho,Wo].
template <class T, class B>
Var<T, B> conv2d(const Var<T, B>& x, const Var<T, B>& w, ops::Conv2dShape s = {}) {
    CONTRA_CHECK(x.shape().rank() == 4 && w.shape().rank() == 4, "conv2d: expects x [N,C,H,W] and w [O,C,KH,KW], got ",
                 x.shape(), " and ", w.shape());
    const Shape& xs = x.shape();
    const Shape& ws = w.shape();
    auto y = new_tensor<T, B>(Shape{xs[0], ws[0], ops::conv2d_out_extent(xs[2], ws[2], s),
                                    ops::conv2d_out_extent(xs[3], ws[3], s)});
    ops::conv2d(B{}, x.value(), w.value(), s, y);
    return record<T, B>(y, [x, w, s](const TensorOn<T, B>& g) {
        if (x.requires_grad()) {
            auto dx = new_tensor<T, B>(x.shape());
            ops::conv2d_backward_data(B{}, g, w.value(), s, dx);
            x.accumulate(dx);
        }
        if (w.requires_grad()) {
            auto dw = new_tensor<T, B>(w.shape());
            ops::conv2d_backward_weight(B{}, g, x.value(), s, dw);
            w.accumulate(dw);
        }
    }, x, w);
}

// How batch_norm2d normalises.
//   training: with the batch's statistics (over N, H, W); the running statistics, when given,
//             move towards them: r ← (1 − momentum)·r + momentum·batch (the variance unbiased).
//   otherwise: with the running statistics, which are left unchanged.
struct BatchNormMode {
    bool training = false;
    double momentum = 0.1;
    double eps = 1e-5;
};

// batch_norm2d(x, gamma, beta, running_mean, running_var, mode): per channel c of x [N,C,H,W],
//   y = (x − mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c]
// as PyTorch's BatchNorm2d. running_mean and running_var [C] are buffers, not variables: no
// gradient reaches them (in training mode they may be undefined: no running statistics).
template <class T, class B>
Var<T, B> batch_norm2d(const Var<T, B>& x, const Var<T, B>& gamma, const Var<T, B>& beta, TensorOn<T, B> running_mean,
                       TensorOn<T, B> running_var, BatchNormMode mode = {}) {
    const Shape& xs = x.shape();
    CONTRA_CHECK(xs.rank() == 4 && gamma.numel() == xs[1] && beta.numel() == xs[1], "batch_norm2d: x ", xs, ", gamma ",
                 gamma.shape(), ", beta ", beta.shape(), " (expects x [N,C,H,W] and [C] parameters)");
    const bool has_running = running_mean.defined() && running_var.defined();
    CONTRA_CHECK(mode.training || has_running, "batch_norm2d: evaluation mode needs the running statistics");
    CONTRA_CHECK(!has_running || (running_mean.numel() == xs[1] && running_var.numel() == xs[1]),
                 "batch_norm2d: running statistics ", running_mean.shape(), "/", running_var.shape(), " for ", xs[1],
                 " channels");
    const std::int64_t count = xs[0] * xs[2] * xs[3];
    auto mean = new_tensor<T, B>(Shape{xs[1]});  // the statistics used (saved for backward)
    auto var = new_tensor<T, B>(Shape{xs[1]});
    if (mode.training) {
        CONTRA_CHECK(count > 1, "batch_norm2d: training needs more than one value per channel, got ", xs);
        ops::batch_norm2d_statistics(B{}, x.value(), mean, var);
        if (has_running) {
            const auto m = acc_t<T>(mode.momentum);
            ops::affine(B{}, running_mean, acc_t<T>(1) - m, acc_t<T>(0), running_mean);
            ops::axpy(B{}, m, mean, running_mean);
            ops::affine(B{}, running_var, acc_t<T>(1) - m, acc_t<T>(0), running_var);
            ops::axpy(B{}, acc_t<T>(mode.momentum * double(count) / double(count - 1)), var, running_var);
        }
    } else {
        copy(running_mean, mean);
        copy(running_var, var);
    }
    auto y = new_tensor<T, B>(xs);
    auto rstd = new_tensor<T, B>(Shape{xs[1]});
    ops::batch_norm2d(B{}, x.value(), gamma.value(), beta.value(), mean, var, mode.eps, y, rstd);
    const bool batch_statistics = mode.training;
    return record<T, B>(y, [x, gamma, beta, mean, rstd, batch_statistics](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(x.shape());
        auto dgamma = new_tensor<T, B>(gamma.shape());
        auto dbeta = new_tensor<T, B>(beta.shape());
        ops::batch_norm2d_backward(B{}, x.value(), gamma.value(), mean, rstd, g, batch_statistics, dx, dgamma, dbeta);
        x.accumulate(dx);
        gamma.accumulate(dgamma);
        beta.accumulate(dbeta);
    }, x, gamma, beta);
}

// avg_pool2d(x, k): the mean of each k×k window (kernel = stride = k) of x [N,C,H,W] → [N,C,H/k,W/k].
template <class T, class B>
Var<T, B> avg_pool2d(const Var<T, B>& x, int k) {
    const Shape& xs = x.shape();
    CONTRA_CHECK(xs.rank() == 4 && k > 0, "avg_pool2d: expects x [N,C,H,W] and k > 0, got ", xs, " and ", k);
    auto y = new_tensor<T, B>(Shape{xs[0], xs[1], xs[2] / k, xs[3] / k});
    ops::avg_pool2d(B{}, x.value(), k, y);
    return record<T, B>(y, [x, k](const TensorOn<T, B>& g) {
        auto dx = new_tensor<T, B>(x.shape());
        ops::avg_pool2d_backward(B{}, g, k, dx);
        x.accumulate(dx);
    }, x);
}

}  // namespace contra::ad
