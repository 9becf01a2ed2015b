// contra/autograd/gradcheck.hpp — check a differentiable function's tape gradients against
// central finite differences in float64. Public: check your own ops and modules with it.
// defines: contra::gradcheck, contra::gradcheck_module, contra::GradcheckOptions, contra::GradcheckReport
#pragma once
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "../core/random.hpp"
#include "ops.hpp"
#include "parameter.hpp"

namespace contra {

struct GradcheckOptions {
    double step = 1e-6;                   // h in (f(x+h) − f(x−h)) / 2h
    double atol = 1e-6;                   // pass when |analytic − numeric| ≤ atol + rtol·max(|a|,|n|)
    double rtol = 1e-5;
    std::int64_t max_checks_per_input = 400;  // elements probed per input (a spread-out subset when larger)
    std::uint64_t seed = 7;               // for the projection of non-scalar outputs
};

struct GradcheckReport {
    bool ok = true;
    double worst_abs_error = 0, worst_rel_error = 0;
    std::int64_t checked = 0;
    std::string detail;  // the worst element of each input
    explicit operator bool() const { return ok; }
};

// gradcheck<B>(f, inputs): f maps Vars (one per input tensor, all requiring gradients) to a Var.
// A non-scalar output y is projected to the scalar Σ y ⊙ W with fixed random W, so every output
// element's gradient is exercised. f must be deterministic and differentiable at the inputs.
template <class B = reference, class F>
GradcheckReport gradcheck(F&& f, const std::vector<Tensor<double, cpu>>& inputs, GradcheckOptions options = {}) {
    using D = device_of<B>;
    using V = Var<double, B>;
    std::vector<double> projection;  // W, filled on first evaluation

    // Σ y ⊙ W on the host, for a given set of input values (no tape).
    auto evaluate = [&](const std::vector<Tensor<double, cpu>>& values) {
        std::vector<V> vars;
        for (const auto& t : values) vars.push_back(V(to_device<D>(t)));
        const auto y = f(vars).value().to_vector();
        double total = 0;
        for (std::size_t i = 0; i < y.size(); ++i) total += y[i] * (projection.empty() ? 1.0 : projection[i]);
        return total;
    };

    // Analytic gradients from the tape.
    std::vector<Tensor<double, cpu>> analytic;
    {
        Tape tape;
        Tape::Active active(tape);
        std::vector<V> vars;
        for (const auto& t : inputs) vars.push_back(leaf<B>(to_device<D>(t), true));
        const V y = f(vars);
        Rng rng(options.seed, stream_id("gradcheck.projection"));
        if (y.numel() != 1)
            for (std::int64_t i = 0; i < y.numel(); ++i) projection.push_back(rng.normal());
        else
            projection.push_back(1.0);
        auto seed = Tensor<double, cpu>::from(Shape{y.numel()}, projection);
        backward(y, to_device<D>(seed));
        for (const auto& v : vars) {
            if (v.has_grad()) analytic.push_back(to_device<cpu>(v.grad().clone()));
            else analytic.push_back(Tensor<double, cpu>::zeros(v.shape()));
        }
        tape.reset();
    }

    GradcheckReport report;
    std::ostringstream detail;
    std::vector<Tensor<double, cpu>> probe;
    for (const auto& t : inputs) probe.push_back(t.clone());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const std::int64_t n = inputs[i].numel();
        const std::int64_t stride = std::max<std::int64_t>(1, n / options.max_checks_per_input);
        double worst = 0;
        std::int64_t worst_at = -1;
        double worst_a = 0, worst_n = 0;
        for (std::int64_t j = 0; j < n; j += stride) {
            const double x0 = probe[i][j];
            probe[i][j] = x0 + options.step;
            const double up = evaluate(probe);
            probe[i][j] = x0 - options.step;
            const double down = evaluate(probe);
            probe[i][j] = x0;
            const double numeric = (up - down) / (2 * options.step);
            const double a = analytic[i][j];
            const double err = std::abs(a - numeric);
            const double scale = std::max(std::abs(a), std::abs(numeric));
            ++report.checked;
            report.worst_abs_error = std::max(report.worst_abs_error, err);
            if (scale > 0) report.worst_rel_error = std::max(report.worst_rel_error, err / scale);
            const double excess = err - (options.atol + options.rtol * scale);
            if (!std::isfinite(a) || !std::isfinite(numeric) || excess > 0) report.ok = false;
            if (worst_at < 0 || err > worst || !std::isfinite(err)) {
                worst = err;
                worst_at = j;
                worst_a = a;
                worst_n = numeric;
            }
        }
        detail << "input " << i << " " << inputs[i].shape() << ": worst element " << worst_at << " analytic " << worst_a
               << " numeric " << worst_n << " |diff| " << worst << "\n";
    }
    report.detail = detail.str();
    return report;
}

// gradcheck_module<B>(m, forward): checks ∂forward(m)/∂p for every parameter p of m (double
// precision) against central differences. The parameters are restored afterwards.
template <class B, class M, class F>
GradcheckReport gradcheck_module(M& m, F&& forward, GradcheckOptions options = {}) {
    using P = Parameter<double, B>;
    std::vector<P*> params;
    std::vector<P> saved;
    std::vector<Tensor<double, cpu>> values;
    for_each_parameter(m, [&](const std::string&, P& p) {
        params.push_back(&p);
        saved.push_back(p);
        values.push_back(to_device<cpu>(p.value()).clone());
    });
    auto report = gradcheck<B>(
        [&](std::vector<Var<double, B>>& vars) {
            for (std::size_t i = 0; i < params.size(); ++i) static_cast<Var<double, B>&>(*params[i]) = vars[i];
            return forward(m);
        },
        values, options);
    for (std::size_t i = 0; i < params.size(); ++i) *params[i] = saved[i];
    return report;
}

}  // namespace contra
