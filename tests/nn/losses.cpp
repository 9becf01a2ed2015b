// The contrastive losses against direct float64 evaluations of their formulas, and the fused
// InfoNCE against its composite twin (value and gradients).
#include <doctest/doctest.h>

#include <contra/nn/nn.hpp>

#include "../support/compare.hpp"

using namespace contra;
using test::random_tensor;

namespace {
// Row-normalised copy of x [N, E].
std::vector<std::vector<double>> normalized_rows(const Tensor<double>& x) {
    std::vector<std::vector<double>> out(std::size_t(x.size(0)), std::vector<double>(std::size_t(x.size(1))));
    for (std::int64_t i = 0; i < x.size(0); ++i) {
        double norm = 0;
        for (std::int64_t j = 0; j < x.size(1); ++j) norm += x[i * x.size(1) + j] * x[i * x.size(1) + j];
        for (std::int64_t j = 0; j < x.size(1); ++j) out[std::size_t(i)][std::size_t(j)] = x[i * x.size(1) + j] / std::sqrt(norm);
    }
    return out;
}
double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (std::size_t k = 0; k < a.size(); ++k) s += a[k] * b[k];
    return s;
}
}  // namespace

TEST_CASE("SigLIP loss equals −Σ log σ(z·(e^t·x̂ᵢ·ŷⱼ + b)) / N evaluated directly") {
    const auto img = random_tensor(Shape{5, 4}, 1), txt = random_tensor(Shape{5, 4}, 2);
    loss::SigLip<double, cpu> siglip;
    siglip.initialize(0);
    for (double t : {std::log(10.0), 0.3}) {
        for (double b : {-10.0, 1.5}) {
            init_constant(siglip.logit_scale, t);
            init_constant(siglip.logit_bias, b);
            const double got = siglip(Var<double>(img), Var<double>(txt)).value().item();
            const auto x = normalized_rows(img), y = normalized_rows(txt);
            double expected = 0;
            for (std::size_t i = 0; i < 5; ++i)
                for (std::size_t j = 0; j < 5; ++j) {
                    const double z = i == j ? 1 : -1, logit = std::exp(t) * dot(x[i], y[j]) + b;
                    expected -= std::log(1 / (1 + std::exp(-z * logit)));
                }
            expected /= 5;
            CHECK(got == doctest::Approx(expected).epsilon(1e-12));
        }
    }
    CHECK(siglip.logit_bias.value().item() == 1.5);
}

TEST_CASE("InfoNCE equals (CE(rows) + CE(columns)) / 2 evaluated directly, fused and composite") {
    const auto img = random_tensor(Shape{6, 3}, 3), txt = random_tensor(Shape{6, 3}, 4);
    const auto x = normalized_rows(img), y = normalized_rows(txt);
    const double scale = 1 / 0.07;
    double expected = 0;
    for (std::size_t i = 0; i < 6; ++i) {
        double row = 0, col = 0;
        for (std::size_t j = 0; j < 6; ++j) {
            row += std::exp(scale * dot(x[i], y[j]));
            col += std::exp(scale * dot(x[j], y[i]));
        }
        expected += (std::log(row) - scale * dot(x[i], y[i])) + (std::log(col) - scale * dot(x[i], y[i]));
    }
    expected /= 12;
    loss::InfoNce<double, cpu, ad::Fused> fused;
    loss::InfoNce<double, cpu, ad::Composite> composite;
    fused.initialize(0);
    composite.initialize(0);
    CHECK(fused(Var<double>(img), Var<double>(txt)).value().item() == doctest::Approx(expected).epsilon(1e-12));
    CHECK(composite(Var<double>(img), Var<double>(txt)).value().item() == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("fused InfoNCE gives the composite's loss and gradients for the embeddings and logit_scale") {
    for (const std::int64_t n : {1, 7, 37}) {  // one pair; a partial warp; more than a warp
        CAPTURE(n);
        const auto img = random_tensor(Shape{n, 5}, 5), txt = random_tensor(Shape{n, 5}, 6);
        auto run = [&](auto& loss_fn) {
            loss_fn.initialize(0);
            init_constant(loss_fn.logit_scale, 1.3);  // not the initial value: a wrong scale would show
            Tape tape;
            Tape::Active recording(tape);
            auto a = leaf<cpu>(img.clone()), b = leaf<cpu>(txt.clone());
            const auto loss = loss_fn(a, b);
            backward(loss);
            return std::vector<Tensor<double>>{loss.value().clone(), a.grad().clone(), b.grad().clone(),
                                               loss_fn.logit_scale.grad().clone()};
        };
        loss::InfoNce<double, cpu, ad::Fused> fused;
        loss::InfoNce<double, cpu, ad::Composite> composite;
        const auto f = run(fused), c = run(composite);
        for (std::size_t i = 0; i < f.size(); ++i) {
            INFO("output " << i << " (loss, dimage, dtext, dlogit_scale)");
            CHECK(test::max_abs_diff(f[i], c[i]) < 1e-12);
        }
        if (n > 1) CHECK(std::abs(c[3].item()) > 1e-6);  // logit_scale does get a gradient to compare
    }
}
