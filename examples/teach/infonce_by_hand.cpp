// examples/teach/infonce_by_hand.cpp — the symmetric InfoNCE loss of a 4×4 batch and its
// gradient, written out by hand, then the same through contra's tape (loss::InfoNce).
#include <CLI/CLI.hpp>
#include <contra/loss/info_nce.hpp>

#include <cmath>

#include "batch.hpp"

using namespace contra;

struct Gradients {
    double loss;
    Tensor<double> d_images, d_texts;  // [N, E]
    double d_logit_scale;
    Tensor<double> d_logits;  // [N, N] (by hand only)
};

// The softmax of every row of z, or of every column.
Tensor<double> softmax(const Tensor<double>& z, bool columns) {
    const std::int64_t n = z.size(0);
    auto p = Tensor<double>::empty(z.shape());
    for (std::int64_t a = 0; a < n; ++a) {
        auto at = [&](std::int64_t b) -> double { return columns ? z.at(b, a) : z.at(a, b); };
        double top = at(0), total = 0;
        for (std::int64_t b = 1; b < n; ++b) top = std::max(top, at(b));
        for (std::int64_t b = 0; b < n; ++b) total += std::exp(at(b) - top);
        for (std::int64_t b = 0; b < n; ++b) (columns ? p.at(b, a) : p.at(a, b)) = std::exp(at(b) - top) / total;
    }
    return p;
}

// Row by row, g − (g·x)x: what the normalisation x̂ = x/‖x‖ passes back at a unit x.
Tensor<double> tangential(Tensor<double> g, const Tensor<double>& x) {
    for (std::int64_t i = 0; i < g.size(0); ++i) {
        double radial = 0;
        for (std::int64_t k = 0; k < g.size(1); ++k) radial += g.at(i, k) * x.at(i, k);
        for (std::int64_t k = 0; k < g.size(1); ++k) g.at(i, k) -= radial * x.at(i, k);
    }
    return g;
}

Gradients by_hand(const Tensor<double>& I, const Tensor<double>& T, double s) {
    const std::int64_t n = I.size(0), e = I.size(1);
    auto Z = Tensor<double>::zeros(Shape{n, n});  // logits: Z = s·I·Tᵀ
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j)
            for (std::int64_t k = 0; k < e; ++k) Z.at(i, j) += s * I.at(i, k) * T.at(j, k);
    const auto P = softmax(Z, false);  // P[i, j]: image i's probability of caption j
    const auto Q = softmax(Z, true);   // Q[i, j]: caption j's probability of image i
    double loss = 0;
    for (std::int64_t i = 0; i < n; ++i) loss += -(std::log(P.at(i, i)) + std::log(Q.at(i, i))) / (2.0 * n);

    // G = ∂loss/∂Z = ((P − 1) + (Q − 1)) / 2N, where 1 is the identity (the one-hot targets).
    auto G = Tensor<double>::empty(Shape{n, n});
    double d_logit_scale = 0;  // Z = e^τ·I·Tᵀ, so ∂Z/∂τ = Z and ∂loss/∂τ = Σ G ⊙ Z
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            G.at(i, j) = (P.at(i, j) + Q.at(i, j) - 2.0 * (i == j)) / (2.0 * n);
            d_logit_scale += G.at(i, j) * Z.at(i, j);
        }
    // ∂loss/∂I = s·G·T and ∂loss/∂T = s·Gᵀ·I ...
    auto dI = Tensor<double>::zeros(Shape{n, e}), dT = Tensor<double>::zeros(Shape{n, e});
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j)
            for (std::int64_t k = 0; k < e; ++k) {
                dI.at(i, k) += s * G.at(i, j) * T.at(j, k);
                dT.at(j, k) += s * G.at(i, j) * I.at(i, k);
            }
    // ... and since the loss normalises its inputs first (x̂ = x/‖x‖, here ‖x‖ = 1), the gradient
    // reaching x is the part of ∂loss/∂x̂ orthogonal to x.
    return {loss, tangential(dI, I), tangential(dT, T), d_logit_scale, G};
}

template <class Impl>
Gradients by_tape(const Tensor<double>& I, const Tensor<double>& T, double s) {
    loss::InfoNce<double, cpu, Impl> info_nce;
    init_constant(info_nce.logit_scale, std::log(s));
    Tape tape;
    Tape::Active recording(tape);
    auto images = leaf<cpu>(I.clone()), texts = leaf<cpu>(T.clone());
    const auto loss = info_nce(images, texts);
    backward(loss);
    return {loss.value().item(), images.grad().clone(), texts.grad().clone(), info_nce.logit_scale.grad().item(), {}};
}

int main(int argc, char** argv) {
    CLI::App app{"The symmetric InfoNCE loss of the tutorial's batch and its gradient, by hand and by the tape"};
    std::string out = ".";
    double scale = 1 / 0.07;  // loss::InfoNce's initial scale
    app.add_option("--scale", scale, "the logit scale s = 1/temperature")->check(CLI::Range(0.01, 1000.0));
    app.add_option("--out", out, "folder for the figure");
    CLI11_PARSE(app, argc, argv);

    const auto [I, T] = teach::batch();
    const auto hand = by_hand(I, T, scale);
    const auto fused = by_tape<ad::Fused>(I, T, scale), composite = by_tape<ad::Composite>(I, T, scale);
    teach::print("cosines I*T^T (row: image, column: caption):", teach::cosines(I, T));
    teach::print("dloss/dlogits = ((P - 1) + (Q - 1)) / 2N:", hand.d_logits, " %9.2e");
    teach::print("dloss/dimages by hand:", hand.d_images);
    teach::print("dloss/dimages from the tape (fused):", fused.d_images);
    std::printf("%-10s %20s %20s %20s\n", "", "loss", "dloss/dlogit_scale", "max |dI|, |dT| diff");
    double worst = 0;
    for (const auto* g : {&hand, &fused, &composite}) {
        const double diff = std::max(teach::max_diff(g->d_images, hand.d_images), teach::max_diff(g->d_texts, hand.d_texts));
        worst = std::max({worst, diff, std::abs(g->loss - hand.loss), std::abs(g->d_logit_scale - hand.d_logit_scale)});
        std::printf("%-10s %20.15f %20.15f %20.1e\n", g == &hand ? "by hand" : g == &fused ? "fused" : "composite",
                    g->loss, g->d_logit_scale, diff);
    }
    std::printf("largest disagreement with the hand derivation: %.1e (%s)\n", worst, worst <= 1e-10 ? "agree" : "DISAGREE");
    teach::save(out, "batch_cosines.svg", teach::similarity_heatmap("The tutorial's batch: cosines I*T^T", teach::cosines(I, T)));
    return worst <= 1e-10 ? 0 : 1;
}
