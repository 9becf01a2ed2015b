// examples/teach/temperature.cpp — the logit scale s = e^τ (one over the temperature): what it does
// to the InfoNCE loss and its gradient on the tutorial's batch, and the clamp that stops it at 100.
#include <CLI/CLI.hpp>
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

// The loss of a batch at each temperature 1/s of the clamp's range, 0.01 to 1 (s from 100 to 1).
report::Series loss_curve(const std::string& name, const teach::Batch& batch) {
    InfoNce info_nce;
    report::Series curve{name, {}, {}};
    for (int k = 0; k <= 40; ++k) {
        const double temperature = std::pow(10.0, -2 + k / 20.0);
        init_constant(info_nce.logit_scale, -std::log(temperature));
        curve.x.push_back(temperature);
        curve.y.push_back(info_nce(Var<double>(batch.images), Var<double>(batch.texts)).value().item());
    }
    return curve;
}

int main(int argc, char** argv) {
    CLI::App app{"The InfoNCE loss against the temperature, and the clamp on the logit scale"};
    std::int64_t pairs = 16;
    double noise = 1.0;
    std::uint64_t seed = 3;
    std::string out = ".";
    app.add_option("--pairs", pairs, "N of the noisier batch in the figure")->check(CLI::Range(2, 1024));
    app.add_option("--noise", noise, "how far its captions are from their images")->check(CLI::Range(0.0, 100.0));
    app.add_option("--seed", seed, "its random seed");
    app.add_option("--out", out, "folder for the figure");
    CLI11_PARSE(app, argc, argv);

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

    // The figure: the tutorial's batch, whose matches are all the nearest, gains from every lowering
    // of the temperature; a noisier batch, where some caption is nearer another image than its own,
    // has a best temperature: lower, and the confident mistakes cost more than the sharper matches gain.
    auto tutorial = loss_curve("the tutorial's batch (N = 4)", {I, T});
    const auto noisy_batch = teach::random_batch(pairs, 4, noise, seed);
    auto noisy = loss_curve("N = " + std::to_string(pairs) + ", noise " + report::detail::label(noise), noisy_batch);
    const auto best = std::min_element(noisy.y.begin(), noisy.y.end()) - noisy.y.begin();
    std::printf("N = %lld, noise %g: %.0f%% of the images nearest their own caption; lowest loss %.4f at temperature %.3f\n",
                (long long)pairs, noise, 100 * teach::matched(noisy_batch.images, noisy_batch.texts), noisy.y[best],
                noisy.x[best]);
    bool falls = true;  // the tutorial's batch: lower temperature, lower loss, all the way down
    for (std::size_t k = 1; k < tutorial.y.size(); ++k) falls = falls && tutorial.y[k] > tutorial.y[k - 1];
    auto chart = teach::line_chart("InfoNCE loss against the temperature", "temperature 1/s (log scale)", "loss",
                                   {tutorial, noisy});
    chart.y_min = 0, chart.log_x = true;
    teach::save(out, "loss_vs_temperature.svg", chart);
    return falls && std::abs(last_tau[0] - std::log(100.0)) < 1e-12 && last_tau[1] > std::log(100.0) ? 0 : 1;
}
