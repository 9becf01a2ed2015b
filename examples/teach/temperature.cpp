// examples/teach/temperature.cpp — the logit scale s = e^τ (one over the temperature): what it does
// to the InfoNCE loss and its gradient on the tutorial's batch, and the clamp that stops it at 100.
#include <contra/loss/info_nce.hpp>
#include <contra/optim/adamw.hpp>

#include <cmath>

#include "batch.hpp"

using namespace contra;
using InfoNce = loss::InfoNce<double, cpu>;

struct Measure {
    double loss, feature_grad, d_logit_scale, p_match;
};

// One forward and backward pass of loss::InfoNce at its current logit_scale.
Measure measure(InfoNce& info_nce, const Tensor<double>& I, const Tensor<double>& T) {
    info_nce.logit_scale.zero_grad();
    Tape tape;
    Tape::Active recording(tape);
    auto images = leaf<cpu>(I.clone()), texts = leaf<cpu>(T.clone());
    const auto loss = info_nce(images, texts);
    backward(loss);
    double norm = 0;  // ‖∂loss/∂(images, texts)‖
    for (const auto& g : {images.grad(), texts.grad()})
        for (std::int64_t i = 0; i < g.numel(); ++i) norm += g[i] * g[i];
    // The mean probability an image gives its own caption: softmax of the logits' rows.
    const auto p = ad::softmax(info_nce.logits(Var<double>(I), Var<double>(T))).value();  // [N, N]
    double p_match = 0;
    for (std::int64_t i = 0; i < p.size(0); ++i) p_match += p.at(i, i) / double(p.size(0));
    return {loss.value().item(), std::sqrt(norm), info_nce.logit_scale.grad().item(), p_match};
}

int main() {
    const auto [I, T] = teach::batch();
    const double n = double(I.size(0));
    InfoNce info_nce;
    info_nce.initialize(0);

    std::printf("%8s %8s %10s %10s %12s %14s %10s\n", "scale", "tau", "loss", "ideal", "|dfeatures|",
                "dloss/dtau", "P(match)");
    for (double s : {1.0, 10.0, 1 / 0.07, 30.0, 100.0}) {
        init_constant(info_nce.logit_scale, std::log(s));
        const auto m = measure(info_nce, I, T);
        // The same loss for a perfect batch: each caption equal to its image, the four pairs a
        // regular simplex (cosine 1 with the match, −1/(N−1) with every other).
        const double ideal = std::log(1 + (n - 1) * std::exp(-s * n / (n - 1)));
        std::printf("%8.2f %8.4f %10.6f %10.6f %12.6f %14.6f %10.4f\n", s, std::log(s), m.loss, ideal, m.feature_grad,
                    m.d_logit_scale, m.p_match);
    }

    // The clamp, as open_clip: after every optimizer step, logit_scale is put back into [0, ln 100].
    for (double tau : {std::log(200.0), -0.5}) {
        init_constant(info_nce.logit_scale, tau);
        info_nce.clamp_parameters();
        std::printf("clamp_parameters(): logit_scale %7.4f -> %.4f (scale %.2f)\n", tau,
                    info_nce.logit_scale.value().item(), std::exp(info_nce.logit_scale.value().item()));
    }

    // Learning only the temperature with AdamW (features fixed): with every match already the
    // nearest, ∂loss/∂τ < 0 at every scale, so τ climbs until the clamp holds it.
    double last_tau[2] = {0, 0};  // with, without the clamp
    for (bool clamp : {true, false}) {
        InfoNce learned;
        learned.initialize(0);
        optim::AdamW<double, cpu> optimizer(learned);
        std::printf("%s:", clamp ? "AdamW, lr 0.05, with the clamp" : "the same without it");
        for (int step = 1; step <= 100; ++step) {
            optimizer.zero_grad();
            measure(learned, I, T);
            optimizer.step(0.05);
            if (clamp) learned.clamp_parameters();
            if (step % 25 == 0) std::printf("  step %d: scale %6.2f", step, std::exp(learned.logit_scale.value().item()));
        }
        std::printf("\n");
        last_tau[clamp ? 0 : 1] = learned.logit_scale.value().item();
    }
    return std::abs(last_tau[0] - std::log(100.0)) < 1e-12 && last_tau[1] > std::log(100.0) ? 0 : 1;
}
