// tests/support/compare.hpp — tensor comparison and random test data.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <contra/contra.hpp>
#include <string>
#include <vector>

namespace contra::test {

// random_tensor(shape, seed, scale): N(0, scale²) entries, the same on every machine.
template <class T = double>
Tensor<T, cpu> random_tensor(const Shape& shape, std::uint64_t seed, double scale = 1.0) {
    auto t = Tensor<T, cpu>::empty(shape);
    RandomStream rs{seed, 0x7e57};
    for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = T(scale * rs.normal(std::uint64_t(i)));
    return t;
}

// max_abs_diff(a, b) over all elements (NaN anywhere counts as infinite).
template <class T, class U>
double max_abs_diff(const Tensor<T, cpu>& a, const Tensor<U, cpu>& b) {
    REQUIRE(a.numel() == b.numel());
    double worst = 0;
    for (std::int64_t i = 0; i < a.numel(); ++i) {
        const double d = std::abs(double(a[i]) - double(b[i]));
        if (std::isnan(d) && !(std::isnan(double(a[i])) && std::isnan(double(b[i])))) return INFINITY;
        if (!std::isnan(d)) worst = std::max(worst, d);
    }
    return worst;
}

// close(a, b, rtol, atol): every element |a − b| ≤ atol + rtol·|b|; infinities must match exactly.
template <class T, class U>
bool close(const Tensor<T, cpu>& a, const Tensor<U, cpu>& b, double rtol, double atol, std::string* why = nullptr) {
    if (a.numel() != b.numel()) return false;
    for (std::int64_t i = 0; i < a.numel(); ++i) {
        const double x = double(a[i]), y = double(b[i]);
        if (std::isnan(x) || std::isnan(y) || std::isinf(x) || std::isinf(y)) {
            if (!(x == y || (std::isnan(x) && std::isnan(y)))) {
                if (why) *why = "element " + std::to_string(i) + ": " + std::to_string(x) + " vs " + std::to_string(y);
                return false;
            }
            continue;
        }
        if (std::abs(x - y) > atol + rtol * std::abs(y)) {
            if (why) *why = "element " + std::to_string(i) + ": " + std::to_string(x) + " vs " + std::to_string(y);
            return false;
        }
    }
    return true;
}

// expect_gradients<B>(f, inputs, options): f's tape gradients on backend B agree with central
// differences in float64 (gradcheck), the report printed when they do not.
template <class B, class F>
void expect_gradients(F&& f, std::vector<Tensor<double, cpu>> inputs, GradcheckOptions options = {}) {
    const auto report = gradcheck<B>(f, inputs, options);
    INFO(report.detail);
    CHECK(report.ok);
}

#define CHECK_CLOSE(a, b, rtol, atol)                               \
    do {                                                            \
        std::string why_;                                           \
        const bool ok_ = ::contra::test::close((a), (b), (rtol), (atol), &why_); \
        INFO(why_);                                                 \
        CHECK(ok_);                                                 \
    } while (0)

}  // namespace contra::test
