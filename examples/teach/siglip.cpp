// examples/teach/siglip.cpp — SigLIP's pairwise sigmoid loss on the tutorial's batch: every
// (image, caption) pair is its own binary question "do these match?", with a learnable scale
// and bias. By hand, against contra's loss::SigLip, and why no row needs normalising.
#include <CLI/CLI.hpp>
#include <contra/loss/siglip.hpp>

#include <cmath>

#include "batch.hpp"

using namespace contra;

double log_sigmoid(double x) { return x < 0 ? x - std::log1p(std::exp(x)) : -std::log1p(std::exp(-x)); }
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Z = s·I·Tᵀ + b: one logit for each image (row) and caption (column).
Tensor<double> logits(const Tensor<double>& I, const Tensor<double>& T, double s, double b) {
    auto z = Tensor<double>::full(Shape{I.size(0), T.size(0)}, b);
    for (std::int64_t i = 0; i < I.size(0); ++i)
        for (std::int64_t j = 0; j < T.size(0); ++j)
            for (std::int64_t k = 0; k < I.size(1); ++k) z.at(i, j) += s * I.at(i, k) * T.at(j, k);
    return z;
}

// The term of pair (i, j): −log σ(±Z), + when i is j's image. The loss is Σ of these / N.
double pair_term(double z, bool match) { return -log_sigmoid(match ? z : -z); }

// One row of the batch, image 2's, while the cosine c of its hard negative (caption 3) moves
// from −1 to 1, everything else fixed. InfoNCE's softmax: every probability of the row shares one
// denominator, so the match loses what the negative gains. SigLIP's sigmoid: each pair's
// probability σ(s·cos + b) depends on that pair alone, so the match does not move.
// (softmax: InfoNCE's, at its initial scale 1/0.07; sigmoid: SigLIP's, at scale s and bias b)
report::LineChart sigmoid_vs_softmax(const Tensor<double>& I, const Tensor<double>& T, double s, double b) {
    const auto cos = teach::cosines(I, T);
    const double s_info = 1 / 0.07;  // loss::InfoNce's initial scale
    report::Series p_match{"softmax: match", {}, {}}, p_negative{"softmax: negative", {}, {}},
        q_match{"sigmoid: match", {}, {}}, q_negative{"sigmoid: negative", {}, {}};
    for (int k = 0; k <= 80; ++k) {
        const double c = -1 + k / 40.0;
        double denominator = 0;
        for (std::int64_t j = 0; j < cos.size(1); ++j) denominator += std::exp(s_info * (j == 3 ? c : cos.at(2, j)));
        for (auto* series : {&p_match, &p_negative, &q_match, &q_negative}) series->x.push_back(c);
        p_match.y.push_back(std::exp(s_info * cos.at(2, 2)) / denominator);
        p_negative.y.push_back(std::exp(s_info * c) / denominator);
        q_match.y.push_back(sigmoid(s * cos.at(2, 2) + b));
        q_negative.y.push_back(sigmoid(s * c + b));
    }
    std::printf("as cos(image 2, caption 3) goes from -1 to 1: InfoNCE's P(match) %.4f -> %.4f, "
                "SigLIP's sigmoid(match) %.4f -> %.4f\n",
                p_match.y.front(), p_match.y.back(), q_match.y.front(), q_match.y.back());
    std::printf("SigLIP's sigmoid(negative) at cosine 0: %.4f, at cosine 1: %.4f\n", q_negative.y[40], q_negative.y[80]);
    auto chart = teach::line_chart("Softmax over the row against a sigmoid per pair",
                                   "cosine of image 2 with caption 3 (its hard negative)", "probability",
                                   {p_match, p_negative, q_match, q_negative});
    chart.y_min = 0, chart.y_max = 1;
    return chart;
}

int main(int argc, char** argv) {
    CLI::App app{"SigLIP's pairwise sigmoid loss by hand, against loss::SigLip and InfoNCE"};
    double figure_scale = 10, figure_bias = -10;
    std::string out = ".";
    app.add_option("--scale", figure_scale, "SigLIP's scale s in the figure")->check(CLI::Range(0.0, 1000.0));
    app.add_option("--bias", figure_bias, "SigLIP's bias b in the figure")->check(CLI::Range(-1000.0, 1000.0));
    app.add_option("--out", out, "folder for the figure");
    CLI11_PARSE(app, argc, argv);

    const auto [I, T] = teach::batch();
    const std::int64_t n = I.size(0);
    loss::SigLip<double, cpu> siglip;
    siglip.initialize(0);  // logit_scale = ln 10, logit_bias = −10
    const double s = std::exp(siglip.logit_scale.value().item()), b = siglip.logit_bias.value().item();

    // By hand: the loss, and ∂loss/∂Z = (σ(Z) − Y)/N with Y the identity: each entry its own pair.
    const auto Z = logits(I, T, s, b);
    double loss = 0, positives = 0, d_bias = 0, d_scale = 0;
    auto G = Tensor<double>::empty(Z.shape());
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            const double term = pair_term(Z.at(i, j), i == j) / double(n);
            loss += term;
            if (i == j) positives += term;
            G.at(i, j) = (sigmoid(Z.at(i, j)) - double(i == j)) / double(n);
            d_bias += G.at(i, j);                     // ∂Z/∂b = 1
            d_scale += G.at(i, j) * (Z.at(i, j) - b);  // ∂Z/∂τ = s·cos = Z − b
        }
    teach::print("dloss/dlogits = (sigmoid(Z) - Y) / N:", G, " %9.2e");

    // The same through the tape.
    Tape tape;
    Tape::Active recording(tape);
    auto images = leaf<cpu>(I.clone()), texts = leaf<cpu>(T.clone());
    const auto tape_loss = siglip(images, texts);
    backward(tape_loss);
    std::printf("loss          by hand %.15f  loss::SigLip %.15f\n", loss, tape_loss.value().item());
    std::printf("dloss/dbias   by hand %.15f  loss::SigLip %.15f\n", d_bias, siglip.logit_bias.grad().item());
    std::printf("dloss/dtau    by hand %.15f  loss::SigLip %.15f\n", d_scale, siglip.logit_scale.grad().item());
    std::printf("of the loss, the 4 matching pairs give %.4f and the 12 others %.4f\n", positives, loss - positives);
    double worst = std::max({std::abs(loss - tape_loss.value().item()), std::abs(d_bias - siglip.logit_bias.grad().item()),
                             std::abs(d_scale - siglip.logit_scale.grad().item())});
    // ∂loss/∂I = s·G·T, minus its radial part (the loss normalises its inputs).
    for (std::int64_t i = 0; i < n; ++i) {
        std::vector<double> g(std::size_t(I.size(1)), 0.0);
        double radial = 0;
        for (std::int64_t k = 0; k < I.size(1); ++k) {
            for (std::int64_t j = 0; j < n; ++j) g[std::size_t(k)] += s * G.at(i, j) * T.at(j, k);
            radial += g[std::size_t(k)] * I.at(i, k);
        }
        for (std::int64_t k = 0; k < I.size(1); ++k)
            worst = std::max(worst, std::abs(g[std::size_t(k)] - radial * I.at(i, k) - images.grad().at(i, k)));
    }
    std::printf("largest disagreement with loss::SigLip (loss, bias, scale, dimages): %.1e\n", worst);

    // No global normalisation: split the batch into two halves, A = pairs {0, 1}, B = pairs {2, 3}.
    // The loss is the sum of four independent 2×2 blocks. The diagonal blocks are SigLIP losses of
    // the half batches (loss::SigLip on 2 pairs, ×2 to undo its /2); the off-diagonal blocks hold
    // only non-matching pairs and need nothing but their own logits.
    const auto A_img = I.rows(0, 2), B_img = I.rows(2, 4), A_txt = T.rows(0, 2), B_txt = T.rows(2, 4);
    const double AA = 2 * siglip(Var<double>(A_img), Var<double>(A_txt)).value().item();
    const double BB = 2 * siglip(Var<double>(B_img), Var<double>(B_txt)).value().item();
    double AB = 0, BA = 0;
    const auto zAB = logits(A_img, B_txt, s, b), zBA = logits(B_img, A_txt, s, b);
    for (std::int64_t k = 0; k < 4; ++k) AB += pair_term(zAB[k], false), BA += pair_term(zBA[k], false);
    const double blocks = (AA + AB + BA + BB) / double(n);
    std::printf("blocks AA %.6f  AB %.6f  BA %.6f  BB %.6f  ->  (sum)/N = %.15f\n", AA, AB, BA, BB, blocks);
    worst = std::max(worst, std::abs(blocks - loss));

    // InfoNCE cannot be split so: each row's log Σ_j exp(Z_ij) runs over every caption in the batch.
    loss::InfoNce<double, cpu> info_nce;
    info_nce.initialize(0);
    const double whole = info_nce(Var<double>(I), Var<double>(T)).value().item();
    const double halves = (info_nce(Var<double>(A_img), Var<double>(A_txt)).value().item() +
                           info_nce(Var<double>(B_img), Var<double>(B_txt)).value().item()) / 2;
    std::printf("InfoNCE: whole batch %.6f, mean of the two half batches %.6f\n", whole, halves);
    std::printf("largest disagreement: %.1e (%s)\n", worst, worst <= 1e-10 ? "agree" : "DISAGREE");

    const auto chart = sigmoid_vs_softmax(I, T, figure_scale, figure_bias);
    teach::save(out, "sigmoid_vs_softmax.svg", chart);
    const auto& siglip_match = chart.series[2].y;  // the figure's claim: SigLIP's match does not move
    const bool independent = *std::max_element(siglip_match.begin(), siglip_match.end()) ==
                             *std::min_element(siglip_match.begin(), siglip_match.end());
    return worst <= 1e-10 && independent ? 0 : 1;
}
