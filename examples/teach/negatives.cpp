// examples/teach/negatives.cpp — what the batch size does to InfoNCE. At initialisation, when
// images and captions are unrelated, the loss is about log N: the model guesses among N captions.
// Each image's gradient pushes it away from its N − 1 negatives with weights softmax(logits);
// how much of that push lands on the hardest negative depends on N and on the scale.
#include <CLI/CLI.hpp>
#include <contra/loss/info_nce.hpp>

#include <cmath>

#include "batch.hpp"

using namespace contra;

struct Weights {
    double hardest;  // mean over rows of the largest softmax weight on a negative
    double share;    // mean over rows of that weight over the weight of all negatives
};

// P = softmax of each row of the logits; for image i the gradient on its logits is (P[i] − onehot)/2N
// (plus the column term), so P[i, j] is how hard negative j pushes image i away.
Weights negative_weights(const loss::InfoNce<double, cpu>& info_nce, const Tensor<double>& I, const Tensor<double>& T) {
    const auto p = ad::softmax(info_nce.logits(Var<double>(I), Var<double>(T))).value();  // [N, N]
    const std::int64_t n = p.size(0);
    Weights w{0, 0};
    for (std::int64_t i = 0; i < n; ++i) {
        double hardest = 0, all = 0;  // (not 1 − P[i, i], which rounds to 0 when P[i, i] ≈ 1)
        for (std::int64_t j = 0; j < n; ++j)
            if (j != i) hardest = std::max(hardest, p.at(i, j)), all += p.at(i, j);
        w.hardest += hardest / double(n);
        w.share += hardest / all / double(n);
    }
    return w;
}

int main(int argc, char** argv) {
    CLI::App app{"InfoNCE at initialisation: the loss against log N, and the hardest negative's share"};
    std::int64_t e = 512;  // the embedding width of ViT-B/32
    std::int64_t max_batch = 256;
    int draws = 8;
    std::string out = ".";
    app.add_option("--dim", e, "E: embedding width")->check(CLI::Range(2, 4096));
    app.add_option("--max-batch", max_batch, "the largest N (N doubles from 4)")->check(CLI::Range(4, 2048));
    app.add_option("--draws", draws, "random batches averaged per N")->check(CLI::Range(1, 1000));
    app.add_option("--out", out, "folder for the figure");
    CLI11_PARSE(app, argc, argv);

    loss::InfoNce<double, cpu> info_nce;
    info_nce.initialize(0);  // scale 1/0.07
    const double s = std::exp(info_nce.logit_scale.value().item());
    std::printf("E = %lld, scale %.2f at initialisation; means over %d random batches\n", (long long)e, s, draws);
    std::printf("%5s %8s %10s %14s %12s %12s %14s\n", "N", "log N", "loss", "log N+s^2/2E", "hardest w", "its share",
                "share @ s=100");
    report::Series at_init{"its share at s = " + report::detail::label(std::round(s * 100) / 100), {}, {}},
        at_100{"its share at s = 100", {}, {}}, even{"an even share, 1/(N - 1)", {}, {}};
    for (std::int64_t n = 4; n <= max_batch; n *= 2) {
        double loss = 0, hardest = 0, share = 0, share_100 = 0;
        for (int d = 0; d < draws; ++d) {
            // Unrelated images and captions: the images of two independent batches.
            const auto I = teach::random_batch(n, e, 0, 2 * d + 1).images;
            const auto T = teach::random_batch(n, e, 0, 2 * d + 2).images;
            init_constant(info_nce.logit_scale, std::log(s));
            loss += info_nce(Var<double>(I), Var<double>(T)).value().item() / draws;
            const auto w = negative_weights(info_nce, I, T);
            hardest += w.hardest / draws;
            share += w.share / draws;
            init_constant(info_nce.logit_scale, std::log(100.0));
            share_100 += negative_weights(info_nce, I, T).share / draws;
        }
        // logits s·cos with cos ~ N(0, 1/E): E[log Σ_j e^{z_j}] ≈ log N + s²/2E for large N
        std::printf("%5lld %8.4f %10.4f %14.4f %12.4f %12.4f %14.4f\n", (long long)n, std::log(double(n)), loss,
                    std::log(double(n)) + s * s / (2.0 * double(e)), hardest, share, share_100);
        for (auto* series : {&at_init, &at_100, &even}) series->x.push_back(double(n));
        at_init.y.push_back(share), at_100.y.push_back(share_100), even.y.push_back(1 / double(n - 1));
    }
    // What the figure shows: the more negatives, the smaller the hardest one's share of the push,
    // but at s = 100 it keeps far more than an even share.
    auto chart = teach::line_chart("The hardest negative's share of the push", "batch size N (log scale)",
                                   "share of the gradient on the negatives", {at_init, at_100, even});
    chart.y_min = 0, chart.y_max = 1, chart.log_x = true;
    teach::save(out, "hardest_negative_share.svg", chart);
    bool falls = true;
    for (std::size_t k = 1; k < at_init.y.size(); ++k) falls = falls && at_init.y[k] < at_init.y[k - 1] && at_100.y[k] < at_100.y[k - 1];
    std::printf("the hardest negative's share %s as the batch grows\n", falls ? "falls" : "does NOT fall");
    return falls ? 0 : 1;
}
