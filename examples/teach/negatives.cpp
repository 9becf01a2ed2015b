// examples/teach/negatives.cpp — what the batch size does to InfoNCE. At initialisation, when
// images and captions are unrelated, the loss is about log N: the model guesses among N captions.
// Each image's gradient pushes it away from its N − 1 negatives with weights softmax(logits);
// how much of that push lands on the hardest negative depends on N and on the scale.
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
        double hardest = 0;
        for (std::int64_t j = 0; j < n; ++j)
            if (j != i) hardest = std::max(hardest, p.at(i, j));
        w.hardest += hardest / double(n);
        w.share += hardest / (1 - p.at(i, i)) / double(n);
    }
    return w;
}

int main() {
    const std::int64_t e = 512;  // the embedding width of ViT-B/32
    const int draws = 8;
    loss::InfoNce<double, cpu> info_nce;
    info_nce.initialize(0);  // scale 1/0.07
    const double s = std::exp(info_nce.logit_scale.value().item());
    std::printf("E = %lld, scale %.2f at initialisation; means over %d random batches\n", (long long)e, s, draws);
    std::printf("%5s %8s %10s %14s %12s %12s %14s\n", "N", "log N", "loss", "log N+s^2/2E", "hardest w", "its share",
                "share @ s=100");
    bool near_log_n = true;
    for (std::int64_t n = 4; n <= 256; n *= 2) {
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
        near_log_n = near_log_n && std::abs(loss - std::log(double(n))) < 0.3;
    }
    return near_log_n ? 0 : 1;
}
