// examples/teach/training_dynamics.cpp — a small training run watched from the inside. N image
// and N caption embeddings are free parameters (no towers), trained with loss::InfoNce at a fixed
// temperature and optim::AdamW. Each modality starts in its own narrow cone, as two freshly
// initialised towers put them (Liang et al., 2022), and caption i starts unrelated to image i.
// The program draws the similarity matrix before and after, alignment and uniformity (Wang &
// Isola, 2020) along the run, and the modality gap: the distance between the two centroids.
#include <CLI/CLI.hpp>
#include <contra/loss/info_nce.hpp>
#include <contra/optim/adamw.hpp>

#include "batch.hpp"

using namespace contra;

// The model: one embedding per image and one per caption, nothing else to learn.
struct FreeEmbeddings {
    using value_type = double;
    using backend = cpu;
    Parameter<double, cpu> images, captions;  // [N, E] each; row i of each is a matching pair
    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(prefix + "images", images);
        f(prefix + "captions", captions);
    }
};

// n unit vectors in a cone around a random direction: normalise(axis + spread · noise / √e).
Tensor<double> cone(std::int64_t n, std::int64_t e, double spread, Rng& rng) {
    auto axis = Tensor<double>::empty(Shape{1, e});
    for (std::int64_t k = 0; k < e; ++k) axis[k] = rng.normal();
    axis = teach::normalised(axis);
    auto rows = Tensor<double>::empty(Shape{n, e});
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t k = 0; k < e; ++k) rows.at(i, k) = axis[k] + spread * rng.normal() / std::sqrt(double(e));
    return rows;
}

double squared_distance(const Tensor<double>& a, std::int64_t i, const Tensor<double>& b, std::int64_t j) {
    double d = 0;
    for (std::int64_t k = 0; k < a.size(1); ++k) d += (a.at(i, k) - b.at(j, k)) * (a.at(i, k) - b.at(j, k));
    return d;
}

// Alignment: the mean squared distance between matching unit embeddings (0 when every pair coincides).
double alignment(const Tensor<double>& x, const Tensor<double>& t) {
    double sum = 0;
    for (std::int64_t i = 0; i < x.size(0); ++i) sum += squared_distance(x, i, t, i) / double(x.size(0));
    return sum;
}

// Uniformity of one modality: log of the mean over pairs i < j of e^{−2‖xᵢ − xⱼ‖²}. Lower means
// spread more evenly over the sphere; all points at one spot give 0.
double uniformity(const Tensor<double>& x) {
    double sum = 0, pairs = 0;
    for (std::int64_t i = 0; i < x.size(0); ++i)
        for (std::int64_t j = i + 1; j < x.size(0); ++j) sum += std::exp(-2 * squared_distance(x, i, x, j)), pairs += 1;
    return std::log(sum / pairs);
}

std::vector<double> centroid(const Tensor<double>& x) {
    std::vector<double> c(std::size_t(x.size(1)), 0.0);
    for (std::int64_t i = 0; i < x.size(0); ++i)
        for (std::int64_t k = 0; k < x.size(1); ++k) c[std::size_t(k)] += x.at(i, k) / double(x.size(0));
    return c;
}

// The modality gap: image centroid − caption centroid (its length is what the figure shows).
std::vector<double> gap_vector(const Tensor<double>& x, const Tensor<double>& t) {
    auto gap = centroid(x);
    const auto c = centroid(t);
    for (std::size_t k = 0; k < gap.size(); ++k) gap[k] -= c[k];
    return gap;
}
double length(const std::vector<double>& v) {
    double s = 0;
    for (double a : v) s += a * a;
    return std::sqrt(s);
}

// Both modalities seen in two dimensions: x along the modality gap, y along the direction of
// largest spread across it (power iteration on the covariance of all 2N points, the gap removed).
report::ScatterPlot projection(const std::string& title, const Tensor<double>& x, const Tensor<double>& t) {
    const std::int64_t e = x.size(1);
    auto along = gap_vector(x, t);
    const double gap = length(along);
    for (std::int64_t k = 0; k < e; ++k) along[std::size_t(k)] = gap > 1e-12 ? along[std::size_t(k)] / gap : k == 0;
    const auto dot = [&](const std::vector<double>& v, const Tensor<double>& m, std::int64_t i) {
        double s = 0;
        for (std::int64_t k = 0; k < e; ++k) s += v[std::size_t(k)] * m.at(i, k);
        return s;
    };
    std::vector<double> across(std::size_t(e), 1.0);  // a fixed start, so the figure is the same every run
    for (int iteration = 0; iteration < 200; ++iteration) {
        std::vector<double> next(std::size_t(e), 0.0);
        for (const auto* m : {&x, &t}) {
            const auto mean = centroid(*m);
            for (std::int64_t i = 0; i < m->size(0); ++i) {
                double projected = 0;  // (row − its modality's centroid) · across
                for (std::int64_t k = 0; k < e; ++k) projected += (m->at(i, k) - mean[std::size_t(k)]) * across[std::size_t(k)];
                for (std::int64_t k = 0; k < e; ++k) next[std::size_t(k)] += projected * (m->at(i, k) - mean[std::size_t(k)]);
            }
        }
        double radial = 0;  // keep it orthogonal to the gap
        for (std::int64_t k = 0; k < e; ++k) radial += next[std::size_t(k)] * along[std::size_t(k)];
        for (std::int64_t k = 0; k < e; ++k) next[std::size_t(k)] -= radial * along[std::size_t(k)];
        const double norm = length(next);
        if (norm < 1e-12) break;
        for (std::int64_t k = 0; k < e; ++k) across[std::size_t(k)] = next[std::size_t(k)] / norm;
    }
    report::ScatterPlot plot{title, "along the gap (image centroid - caption centroid)", "across it", {}};
    for (const auto* m : {&x, &t}) {
        report::Series cloud{m == &x ? "images" : "captions", {}, {}};
        for (std::int64_t i = 0; i < m->size(0); ++i) cloud.x.push_back(dot(along, *m, i)), cloud.y.push_back(dot(across, *m, i));
        plot.series.push_back(cloud);
    }
    return plot;
}

int main(int argc, char** argv) {
    CLI::App app{"A small InfoNCE training run: similarity matrix, alignment, uniformity, modality gap"};
    std::int64_t pairs = 10, dim = 8;
    int steps = 300;
    double temperature = 0.07, lr = 0.02, spread = 0.6;
    std::uint64_t seed = 1;
    std::string out = ".";
    app.add_option("--pairs", pairs, "N: image/caption pairs")->check(CLI::Range(2, 64));
    app.add_option("--dim", dim, "E: embedding width")->check(CLI::Range(2, 256));
    app.add_option("--steps", steps, "AdamW steps")->check(CLI::Range(1, 5000));
    app.add_option("--temperature", temperature, "fixed softmax temperature 1/s")->check(CLI::Range(0.01, 1.0));
    app.add_option("--lr", lr, "learning rate")->check(CLI::Range(1e-5, 1.0));
    app.add_option("--spread", spread, "width of each modality's starting cone")->check(CLI::Range(0.0, 100.0));
    app.add_option("--seed", seed, "random seed");
    app.add_option("--out", out, "folder for the figures");
    CLI11_PARSE(app, argc, argv);

    Rng rng(seed, stream_id("teach.training_dynamics"));
    FreeEmbeddings model{Parameter<double, cpu>(Shape{pairs, dim}), Parameter<double, cpu>(Shape{pairs, dim})};
    copy(cone(pairs, dim, spread, rng), model.images.value());
    copy(cone(pairs, dim, spread, rng), model.captions.value());
    optim::AdamW<double, cpu> optimizer(model, {.weight_decay = 0});
    loss::InfoNce<double, cpu> info_nce;
    init_constant(info_nce.logit_scale, std::log(1 / temperature));
    info_nce.logit_scale.freeze();  // the temperature stays where --temperature put it

    const auto unit = [](const Parameter<double, cpu>& p) { return teach::normalised(p.value()); };
    const auto x0 = unit(model.images), t0 = unit(model.captions);  // before training
    report::Series loss_curve{"loss", {}, {}}, align{"alignment", {}, {}}, uniform{"uniformity", {}, {}},
        gap{"modality gap", {}, {}};
    std::printf("N = %lld pairs, E = %lld, temperature %.3g, AdamW lr %.3g\n", (long long)pairs, (long long)dim,
                temperature, lr);
    std::printf("%6s %9s %10s %11s %8s %8s\n", "step", "loss", "alignment", "uniformity", "gap", "matched");
    for (int step = 0; step <= steps; ++step) {
        const auto x = unit(model.images), t = unit(model.captions);
        Tape tape;
        Tape::Active recording(tape);
        const auto loss = info_nce(model.images, model.captions);
        for (auto* s : {&loss_curve, &align, &uniform, &gap}) s->x.push_back(step);
        loss_curve.y.push_back(loss.value().item());
        align.y.push_back(alignment(x, t));
        uniform.y.push_back((uniformity(x) + uniformity(t)) / 2);
        gap.y.push_back(length(gap_vector(x, t)));
        if (step % (steps / 6 > 0 ? steps / 6 : 1) == 0 || step == steps)
            std::printf("%6d %9.4f %10.4f %11.4f %8.4f %7.0f%%\n", step, loss_curve.y.back(), align.y.back(),
                        uniform.y.back(), gap.y.back(), 100 * teach::matched(x, t));
        if (step == steps) break;
        optimizer.zero_grad();
        backward(loss);
        optimizer.step(lr);
    }
    const auto x = unit(model.images), t = unit(model.captions);

    // What the learner sees: the diagonal lights up, pairs align, each cloud spreads out, and the
    // two clouds move towards each other without (at a low temperature) meeting.
    const std::filesystem::path folder = out;
    teach::save(folder, "similarity_before.svg",
                teach::similarity_heatmap("Cosine similarity before training", teach::cosines(x0, t0)));
    teach::save(folder, "similarity_after.svg",
                teach::similarity_heatmap("Cosine similarity after " + std::to_string(steps) + " steps", teach::cosines(x, t)));
    teach::save(folder, "alignment_uniformity.svg",
                teach::line_chart("Alignment and uniformity (lower is better)", "step", "value", {align, uniform, loss_curve}));
    auto gap_chart = teach::line_chart("Modality gap: distance between the centroids", "step",
                                       "|mean image - mean caption|", {gap});
    gap_chart.y_min = 0;
    teach::save(folder, "modality_gap.svg", gap_chart);
    teach::save(folder, "embeddings_before.svg", projection("Embeddings before training", x0, t0));
    teach::save(folder, "embeddings_after.svg", projection("Embeddings after training", x, t));
    // The run is a success when every image's nearest caption has become its own, and the loss fell.
    const bool learned = teach::matched(x, t) == 1 && loss_curve.y.back() < loss_curve.y.front();
    std::printf("%s\n", learned ? "every image is nearest its own caption" : "NOT every image is nearest its own caption");
    return learned ? 0 : 1;
}
