// contra/eval/linear_probe.hpp — the linear probe: multinomial logistic regression on frozen
// features (Radford et al., 2021, §3.2; the reference README fits sklearn's LogisticRegression
// with C = 0.316, max_iter = 1000).
//
//   x̃_i = [ (x_i − μ) / σ , 1 ]                      standardised features and a bias column, [E+1]
//   f(W) = 1/N Σ_i CE(x̃_i·W, y_i) + λ/2 ‖W[:E]‖²      W [E+1, C], λ = 1/(C·N), bias unpenalised
// f is sklearn's objective C·Σ_i CE_i + ½‖W‖² divided by C·N: the same minimiser, and a gradient
// whose size does not grow with N. The minimiser is found by L-BFGS (default) or by gradient
// descent (full batch or mini-batches) with a step from the gradient's Lipschitz bound. Both are
// deterministic: the same inputs and options give the same model, whatever the thread count.
// defines: eval::ProbeSolver, eval::LinearProbeOptions, eval::LinearProbeObjective, eval::LinearProbe
#pragma once
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include "../backend/ops.hpp"
#include "../core/parallel.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"
#include "metrics.hpp"

namespace contra::eval {

enum class ProbeSolver { lbfgs, gradient_descent };

struct LinearProbeOptions {
    double C = 0.316;                     // inverse L2 strength, as sklearn's LogisticRegression(C=…)
    std::int64_t max_iterations = 1000;   // L-BFGS iterations, or passes over the data (gradient descent)
    double tolerance = 1e-4;              // converged once max |∇f| ≤ tolerance (sklearn's tol)
    double relative_decrease = 64 * std::numeric_limits<double>::epsilon();  // L-BFGS: converged once a step
                                          // lowers f by less than this, relatively (sklearn's ftol)
    bool standardize = true;              // features → zero mean, unit variance (training statistics)
    ProbeSolver solver = ProbeSolver::lbfgs;
    std::int64_t history = 10;            // L-BFGS: (step, gradient change) pairs kept
    double learning_rate = 0;             // gradient descent: the step; ≤ 0 takes 1/L, L the Lipschitz bound
    std::int64_t batch_size = 0;          // gradient descent: 0 = full batch, else mini-batches
    std::uint64_t seed = 0;               // gradient descent: the order of mini-batches
};

// LinearProbeObjective<B>: f and ∇f for one design matrix (see the top of this file), its products
// computed by backend B on the host (the cpu backend by default, the reference one in tests).
template <class B = cpu>
struct LinearProbeObjective {
    static_assert(std::same_as<device_of<B>, cpu>, "LinearProbeObjective: the probe works on host memory");
    Tensor<double, cpu> design;   // [N, E+1]: standardised features, then a column of ones
    Tensor<Label, cpu> labels;    // [N], each in [0, classes)
    std::int64_t classes = 0;
    double lambda = 0;            // λ: the L2 strength on the weights (not on the bias row)

    // Rows are processed in fixed chunks, their partial sums added in chunk order: the value and
    // gradient are the same bits for any thread count, and each thread touches its rows once.
    static constexpr std::int64_t kChunkRows = 2048;

    // f(W) for W [E+1, C]; writes ∇f [E+1, C] into *gradient when it is given.
    double operator()(const Tensor<double, cpu>& weights, Tensor<double, cpu>* gradient = nullptr) const {
        const std::int64_t n = design.size(0), e1 = design.size(1), c = classes;
        CONTRA_CHECK(weights.shape() == (Shape{e1, c}), "LinearProbeObjective: weights ", weights.shape(), " should be ",
                     Shape{e1, c});
        CONTRA_CHECK(!gradient || gradient->shape() == weights.shape(), "LinearProbeObjective: gradient ",
                     gradient->shape(), " should be ", weights.shape());
        const std::int64_t chunks = (n + kChunkRows - 1) / kChunkRows;
        std::vector<double> chunk_loss(static_cast<std::size_t>(chunks));
        std::vector<Tensor<double, cpu>> chunk_gradient(static_cast<std::size_t>(gradient ? chunks : 0));
        parallel_for(chunks, kChunkRows * e1 * c * 4, [&](std::int64_t k0, std::int64_t k1) {
            for (std::int64_t k = k0; k < k1; ++k) {
                const std::int64_t r0 = k * kChunkRows, r1 = std::min(n, r0 + kChunkRows), b = r1 - r0;
                const auto x = design.rows(r0, r1);  // [b, E+1]
                const auto y = labels.rows(r0, r1);  // [b]
                auto logits = Tensor<double, cpu>::empty(Shape{b, c});  // [b, C] = X̃·W
                ops::gemm(B{}, ops::Trans::N, ops::Trans::N, 1.0, x, weights, 0.0, logits);
                auto loss = Tensor<double, cpu>::empty(Shape{b});  // [b]: logsumexp(z_i) − z_i[y_i]
                auto lse = Tensor<double, cpu>::empty(Shape{b});   // [b]
                ops::cross_entropy(B{}, logits, y, loss, lse);
                double sum = 0;
                for (std::int64_t i = 0; i < b; ++i) sum += loss[i];
                chunk_loss[std::size_t(k)] = sum;
                if (!gradient) continue;
                auto dloss = Tensor<double, cpu>::full(Shape{b}, 1.0 / double(n));  // [b]
                auto dlogits = Tensor<double, cpu>::empty(Shape{b, c});              // [b, C] = (softmax − onehot) / N
                ops::cross_entropy_backward(B{}, logits, y, lse, dloss, dlogits);
                auto& g = chunk_gradient[std::size_t(k)] = Tensor<double, cpu>::empty(Shape{e1, c});  // [E+1, C]
                ops::gemm(B{}, ops::Trans::T, ops::Trans::N, 1.0, x, dlogits, 0.0, g);              // X̃ᵀ·dz
            }
        });

        double value = 0;
        for (double l : chunk_loss) value += l;
        value /= double(n);
        double penalty = 0;
        for (std::int64_t i = 0; i < (e1 - 1) * c; ++i) penalty += weights[i] * weights[i];
        value += 0.5 * lambda * penalty;
        if (gradient) {
            gradient->zero_();
            for (const auto& g : chunk_gradient) ops::axpy(B{}, 1.0, g, *gradient);
            for (std::int64_t i = 0; i < (e1 - 1) * c; ++i) (*gradient)[i] += lambda * weights[i];
        }
        return value;
    }

    // The objective on a subset of the rows (a mini-batch), with the same λ.
    LinearProbeObjective rows(std::span<const Label> which) const {
        auto index = Tensor<ops::Index, cpu>::from(Shape{std::int64_t(which.size())},
                                                   std::vector<ops::Index>(which.begin(), which.end()));  // [B]
        auto sub = Tensor<double, cpu>::empty(Shape{index.numel(), design.size(1)});                       // [B, E+1]
        ops::gather_rows(B{}, design, index, sub);
        auto sub_labels = Tensor<Label, cpu>::empty(Shape{index.numel()});  // [B]
        for (std::int64_t i = 0; i < index.numel(); ++i) sub_labels[i] = labels[index[i]];
        return {sub, sub_labels, classes, lambda};
    }

    // L: a bound on the Lipschitz constant of ∇f. The Hessian of softmax cross-entropy in the
    // logits is at most ½·I, so ∇²f ≤ ½·λmax(X̃ᵀX̃/N) + λ.
    double lipschitz_bound() const {
        const std::int64_t n = design.size(0), e1 = design.size(1);
        const std::int64_t chunks = (n + kChunkRows - 1) / kChunkRows;
        std::vector<Tensor<double, cpu>> partial(static_cast<std::size_t>(chunks));
        parallel_for(chunks, kChunkRows * e1 * e1, [&](std::int64_t k0, std::int64_t k1) {
            for (std::int64_t k = k0; k < k1; ++k) {
                const auto x = design.rows(k * kChunkRows, std::min(n, (k + 1) * kChunkRows));  // [b, E+1]
                auto& p = partial[std::size_t(k)] = Tensor<double, cpu>::empty(Shape{e1, e1});   // [E+1, E+1]
                ops::gemm(B{}, ops::Trans::T, ops::Trans::N, 1.0 / double(n), x, x, 0.0, p);
            }
        });
        auto gram = Tensor<double, cpu>::zeros(Shape{e1, e1});  // [E+1, E+1] = X̃ᵀX̃ / N, summed in chunk order
        for (const auto& p : partial) ops::axpy(B{}, 1.0, p, gram);
        const Eigen::Map<const Eigen::MatrixXd> g(gram.data(), e1, e1);
        const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(g, Eigen::EigenvaluesOnly);
        return 0.5 * solver.eigenvalues().maxCoeff() + lambda;
    }
};

namespace detail {

using Vec = Eigen::VectorXd;
inline Eigen::Map<Vec> as_vector(Tensor<double, cpu>& t) { return {t.data(), t.numel()}; }
inline Eigen::Map<const Vec> as_vector(const Tensor<double, cpu>& t) { return {t.data(), t.numel()}; }

struct ProbeTrace {
    std::vector<double> loss;  // f at the start and after each iteration
    std::int64_t iterations = 0;
    bool converged = false;
};

// L-BFGS (Nocedal & Wright, algorithms 7.4 and 7.5) with a backtracking Armijo line search;
// minimises f from w, in place. f is convex, so every accepted step has sᵀy ≥ 0; pairs with too
// little curvature are skipped.
template <class B>
ProbeTrace minimize_lbfgs(const LinearProbeObjective<B>& f, Tensor<double, cpu>& w, const LinearProbeOptions& o) {
    ProbeTrace trace;
    auto g = Tensor<double, cpu>::empty(w.shape());
    auto w_next = Tensor<double, cpu>::empty(w.shape());
    auto g_next = Tensor<double, cpu>::empty(w.shape());
    double value = f(w, &g);
    trace.loss.push_back(value);
    std::deque<Vec> s_hist, y_hist;  // newest last
    std::deque<double> rho_hist;     // 1 / sᵀy
    while (trace.iterations < o.max_iterations) {
        if (as_vector(g).lpNorm<Eigen::Infinity>() <= o.tolerance) {
            trace.converged = true;
            break;
        }
        // Two-loop recursion: d = −H·g, with H the L-BFGS inverse-Hessian estimate.
        Vec d = -as_vector(g);
        std::vector<double> alpha(s_hist.size());
        for (std::size_t i = s_hist.size(); i-- > 0;) {
            alpha[i] = rho_hist[i] * s_hist[i].dot(d);
            d -= alpha[i] * y_hist[i];
        }
        if (!s_hist.empty()) d *= s_hist.back().dot(y_hist.back()) / y_hist.back().squaredNorm();
        for (std::size_t i = 0; i < s_hist.size(); ++i) d += s_hist[i] * (alpha[i] - rho_hist[i] * y_hist[i].dot(d));
        double slope = as_vector(g).dot(d);
        if (!(slope < 0)) {  // not a descent direction: forget the history, follow the gradient
            s_hist.clear(), y_hist.clear(), rho_hist.clear();
            d = -as_vector(g);
            slope = -d.squaredNorm();
        }

        // Backtracking line search: halve the step until f decreases enough (Armijo). The first
        // step moves by at most 1; later L-BFGS directions are already well scaled.
        double step = s_hist.empty() ? std::min(1.0, 1.0 / d.norm()) : 1.0;
        auto value_at_step = [&] {
            as_vector(w_next) = as_vector(w) + step * d;
            return f(w_next, &g_next);
        };
        double value_next = value_at_step();
        for (int halvings = 0; !(value_next <= value + 1e-4 * step * slope); ++halvings) {
            if (halvings == 60) return trace;  // no decrease left at this precision
            step *= 0.5;
            value_next = value_at_step();
        }

        Vec s = as_vector(w_next) - as_vector(w), y = as_vector(g_next) - as_vector(g);
        const double sy = s.dot(y);
        if (sy > 1e-10 * y.squaredNorm()) {
            s_hist.push_back(std::move(s)), y_hist.push_back(std::move(y)), rho_hist.push_back(1 / sy);
            if (std::int64_t(s_hist.size()) > o.history) s_hist.pop_front(), y_hist.pop_front(), rho_hist.pop_front();
        }
        const double decrease = value - value_next;
        const double size = std::max({std::abs(value), std::abs(value_next), 1.0});
        std::swap(w, w_next), std::swap(g, g_next);
        value = value_next;
        trace.loss.push_back(value);
        ++trace.iterations;
        if (decrease <= o.relative_decrease * size) {
            trace.converged = true;
            break;
        }
    }
    return trace;
}

// Gradient descent with a fixed step: one step per pass over the data (full batch), or one per
// mini-batch with the rows in a fresh seeded order each pass. The loss is recorded after each pass.
template <class B>
ProbeTrace minimize_gradient_descent(const LinearProbeObjective<B>& f, Tensor<double, cpu>& w,
                                            const LinearProbeOptions& o) {
    ProbeTrace trace;
    const double step = o.learning_rate > 0 ? o.learning_rate : 1.0 / f.lipschitz_bound();
    const std::int64_t n = f.design.size(0);
    const std::int64_t batch = o.batch_size > 0 ? std::min(o.batch_size, n) : n;
    auto g = Tensor<double, cpu>::empty(w.shape());
    trace.loss.push_back(f(w, &g));
    std::vector<Label> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), Label(0));
    Rng rng(o.seed, stream_id("linear_probe.batches"));
    for (; trace.iterations < o.max_iterations; ++trace.iterations) {
        if (as_vector(g).lpNorm<Eigen::Infinity>() <= o.tolerance) {  // g: the full gradient at w
            trace.converged = true;
            break;
        }
        if (batch == n) {
            as_vector(w) -= step * as_vector(g);
        } else {
            rng.shuffle(order);
            for (std::int64_t b0 = 0; b0 < n; b0 += batch) {
                const auto part = f.rows(std::span(order).subspan(std::size_t(b0), std::size_t(std::min(batch, n - b0))));
                part(w, &g);
                as_vector(w) -= step * as_vector(g);
            }
        }
        trace.loss.push_back(f(w, &g));
    }
    return trace;
}

}  // namespace detail

// LinearProbe: a fitted classifier, its standardisation, and how the fit went.
struct LinearProbe {
    std::vector<double> mean, scale;   // [E]: features are (x − mean) / scale before the weights
    Tensor<double, cpu> weights;       // [E+1, C]; the last row is the bias
    std::vector<double> loss_history;  // f at the start and after each iteration
    std::int64_t iterations = 0;
    bool converged = false;            // a stopping rule was met before max_iterations

    std::int64_t feature_dim() const { return std::int64_t(mean.size()); }
    std::int64_t classes() const { return weights.size(1); }

    // fit<B>(features [N,E], labels (N), classes, options): trains on frozen features (host memory),
    // the products on backend B (default cpu).
    //   requires: N ≥ 1, E ≥ 1, classes ≥ 2, labels in [0, classes), finite features, C > 0.
    template <class B = cpu, class T>
    static LinearProbe fit(const Tensor<T, cpu>& features, std::span<const Label> labels, std::int64_t classes,
                           const LinearProbeOptions& options = {}) {
        CONTRA_CHECK(features.rank() == 2 && features.size(0) >= 1 && features.size(1) >= 1, "LinearProbe::fit: features ",
                     features.shape(), " must be [N, E] with N, E ≥ 1");
        const std::int64_t n = features.size(0), e = features.size(1);
        CONTRA_CHECK(std::int64_t(labels.size()) == n, "LinearProbe::fit: ", labels.size(), " labels for features ",
                     features.shape(), " (one per row)");
        CONTRA_CHECK(classes >= 2, "LinearProbe::fit: needs at least 2 classes, got ", classes);
        CONTRA_CHECK(options.C > 0 && options.max_iterations >= 0 && options.history >= 1,
                     "LinearProbe::fit: needs C > 0, max_iterations ≥ 0 and history ≥ 1 (got ", options.C, ", ",
                     options.max_iterations, ", ", options.history, ")");
        detail::check_labels("LinearProbe::fit", labels, classes);

        LinearProbe probe;
        probe.mean.assign(std::size_t(e), 0.0);
        probe.scale.assign(std::size_t(e), 1.0);
        if (options.standardize) {
            // Population mean and standard deviation per feature (two passes); a constant feature keeps scale 1.
            std::vector<double> var(std::size_t(e), 0.0);
            for (std::int64_t i = 0; i < n; ++i) {
                const T* row = features.data() + i * e;  // [E]
                for (std::int64_t k = 0; k < e; ++k) probe.mean[std::size_t(k)] += double(row[k]);
            }
            for (auto& m : probe.mean) m /= double(n);
            for (std::int64_t i = 0; i < n; ++i) {
                const T* row = features.data() + i * e;  // [E]
                for (std::int64_t k = 0; k < e; ++k) {
                    const double d = double(row[k]) - probe.mean[std::size_t(k)];
                    var[std::size_t(k)] += d * d;
                }
            }
            for (std::int64_t k = 0; k < e; ++k)
                if (var[std::size_t(k)] > 0) probe.scale[std::size_t(k)] = std::sqrt(var[std::size_t(k)] / double(n));
        }

        LinearProbeObjective<B> objective;
        objective.design = probe.design(features);  // [N, E+1]
        CONTRA_CHECK(ops::reduce_all(B{}, ops::ReduceOp::count_nonfinite, objective.design) == 0,
                     "LinearProbe::fit: features ", features.shape(), " contain NaN or infinite values");
        objective.labels = Tensor<Label, cpu>::from(Shape{n}, std::vector<Label>(labels.begin(), labels.end()));
        objective.classes = classes;
        objective.lambda = 1.0 / (options.C * double(n));

        probe.weights = Tensor<double, cpu>::zeros(Shape{e + 1, classes});  // [E+1, C]
        const auto trace = options.solver == ProbeSolver::lbfgs
                               ? detail::minimize_lbfgs(objective, probe.weights, options)
                               : detail::minimize_gradient_descent(objective, probe.weights, options);
        probe.loss_history = trace.loss;
        probe.iterations = trace.iterations;
        probe.converged = trace.converged;
        return probe;
    }

    // design(features [N,E]): the standardised features with a column of ones, [N, E+1].
    template <class T>
    Tensor<double, cpu> design(const Tensor<T, cpu>& features) const {
        CONTRA_CHECK(features.rank() == 2 && features.size(1) == feature_dim(), "LinearProbe: features ", features.shape(),
                     " must be [N, ", feature_dim(), "]");
        const std::int64_t n = features.size(0), e = features.size(1);
        auto x = Tensor<double, cpu>::empty(Shape{n, e + 1});  // [N, E+1]
        for (std::int64_t i = 0; i < n; ++i) {
            const T* in = features.data() + i * e;  // [E]
            double* out = x.data() + i * (e + 1);   // [E+1]
            for (std::int64_t k = 0; k < e; ++k) out[k] = (double(in[k]) - mean[std::size_t(k)]) / scale[std::size_t(k)];
            out[e] = 1.0;
        }
        return x;
    }

    // decision_function<B>(features [N,E]): the logits [N, C] (as sklearn's decision_function).
    template <class B = cpu, class T>
    Tensor<double, cpu> decision_function(const Tensor<T, cpu>& features) const {
        const auto x = design(features);                                        // [N, E+1]
        auto logits = Tensor<double, cpu>::empty(Shape{x.size(0), classes()});  // [N, C]
        ops::gemm(B{}, ops::Trans::N, ops::Trans::N, 1.0, x, weights, 0.0, logits);
        return logits;
    }

    // predict(features [N,E]): the most likely class of each row (the lowest on ties).
    template <class B = cpu, class T>
    std::vector<Label> predict(const Tensor<T, cpu>& features) const {
        return argmax_rows(decision_function<B>(features));
    }

    // accuracy(features [N,E], labels (N)): the fraction predicted correctly. requires: N ≥ 1.
    template <class B = cpu, class T>
    double accuracy(const Tensor<T, cpu>& features, std::span<const Label> labels) const {
        CONTRA_CHECK(features.rank() == 2 && features.size(0) >= 1 && std::int64_t(labels.size()) == features.size(0),
                     "LinearProbe::accuracy: ", labels.size(), " labels for features ", features.shape());
        return topk_accuracy(decision_function<B>(features), labels, 1);
    }
};

}  // namespace contra::eval
