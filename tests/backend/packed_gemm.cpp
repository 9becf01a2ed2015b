// The cpu backend's packed float GEMM against a float64 product, in both register-tile
// configurations (AVX2 and AVX-512; either runs on any x86 machine), at the edges of every
// blocking size, with strided operands, and independent of the thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <contra/backend/eigen/packed_gemm.hpp>
#include <vector>

#include "../support/compare.hpp"

using namespace contra;
using eig::packed::Gemm;
using eig::packed::StridedMatrix;

namespace {

struct Case {
    std::int64_t m, n, k;
    bool ta, tb;
    float alpha, beta;
};

// Runs G on random operands of the case and returns the worst error against a float64 product,
// scaled by √k (the growth of float rounding over a sum of k terms).
template <class G>
double worst_error(const Case& c) {
    const auto a = test::random_tensor<float>(Shape{c.m * c.k}, std::uint64_t(c.m * 131 + c.k));
    const auto b = test::random_tensor<float>(Shape{c.k * c.n}, std::uint64_t(c.n * 17 + c.k));
    auto out = test::random_tensor<float>(Shape{c.m * c.n}, 5);
    const auto before = out.clone();
    const StridedMatrix A = c.ta ? StridedMatrix{a.data(), 1, c.m} : StridedMatrix{a.data(), c.k, 1};
    const StridedMatrix B = c.tb ? StridedMatrix{b.data(), 1, c.k} : StridedMatrix{b.data(), c.n, 1};
    G::run(c.m, c.n, c.k, c.alpha, A, B, c.beta, out.data(), c.n);
    double worst = 0;
    for (std::int64_t i = 0; i < c.m; ++i)
        for (std::int64_t j = 0; j < c.n; ++j) {
            double sum = 0;
            for (std::int64_t p = 0; p < c.k; ++p) sum += double(A.at(i, p)) * double(B.at(p, j));
            const double want = c.alpha * sum + (c.beta != 0 ? c.beta * double(before[i * c.n + j]) : 0.0);
            worst = std::max(worst, std::abs(want - double(out[i * c.n + j])) / std::sqrt(double(c.k) + 1));
        }
    return worst;
}

template <class G>
void check_edges() {
    // Around MR (6, 8), NR (16, 32), KC (256) and a few MC-sized row counts.
    for (std::int64_t m : {1, 5, 6, 7, 8, 9, 97, 300})
        for (std::int64_t n : {1, 15, 16, 17, 31, 33, 100})
            for (std::int64_t k : {1, 7, 255, 256, 257, 520})
                for (int t = 0; t < 4; ++t) {
                    const Case c{m, n, k, (t & 1) != 0, (t & 2) != 0, 0.75f, (m + n + k) % 3 == 0 ? 0.f : 1.25f};
                    CAPTURE(m);
                    CAPTURE(n);
                    CAPTURE(k);
                    CAPTURE(t);
                    REQUIRE(worst_error<G>(c) < 1e-5);
                }
    CHECK(worst_error<G>(Case{40, G::NC + 37, 20, false, true, 1.f, 0.f}) < 1e-5);  // more than one column block
}

}  // namespace

TEST_CASE("packed GEMM, AVX2 tile (6×16): every transpose, alpha/beta, blocking edges") { check_edges<Gemm<8, 6>>(); }
TEST_CASE("packed GEMM, AVX-512 tile (8×32): every transpose, alpha/beta, blocking edges") { check_edges<Gemm<16, 8>>(); }

TEST_CASE("packed GEMM: beta = 0 never reads C, k = 0 scales C, alpha = 0 scales C") {
    const std::int64_t m = 13, n = 21, k = 9;
    const auto a = test::random_tensor<float>(Shape{m, k}, 1), b = test::random_tensor<float>(Shape{k, n}, 2);
    auto c = Tensor<float>::empty(Shape{m, n});
    for (std::int64_t i = 0; i < c.numel(); ++i) c[i] = NAN;
    eig::packed::sgemm(false, false, m, n, k, 1.f, a.data(), b.data(), 0.f, c.data());
    CHECK(ops::reduce_all(cpu{}, ops::ReduceOp::count_nonfinite, c) == 0);
    auto scaled = test::random_tensor<float>(Shape{m, n}, 3);
    const auto before = scaled.clone();
    eig::packed::sgemm(false, false, m, n, 0, 1.f, a.data(), b.data(), 2.f, scaled.data());
    for (std::int64_t i = 0; i < scaled.numel(); ++i) REQUIRE(scaled[i] == 2.f * before[i]);
    eig::packed::sgemm(false, false, m, n, k, 0.f, a.data(), b.data(), 0.5f, scaled.data());
    for (std::int64_t i = 0; i < scaled.numel(); ++i) REQUIRE(scaled[i] == before[i]);
}

TEST_CASE("packed GEMM: the bias epilogue adds the bias once, also when K spans several slices") {
    for (std::int64_t k : {5, 600}) {
        const std::int64_t m = 37, n = 45;
        const auto a = test::random_tensor<float>(Shape{m, k}, 13), b = test::random_tensor<float>(Shape{n, k}, 14);
        const auto bias = test::random_tensor<float>(Shape{n}, 15);
        auto c = Tensor<float>::empty(Shape{m, n});
        eig::packed::sgemm(false, true, m, n, k, 1.f, a.data(), b.data(), 0.f, c.data(), bias.data());
        for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < n; ++j) {
                double sum = bias[j];
                for (std::int64_t p = 0; p < k; ++p) sum += double(a[i * k + p]) * double(b[j * k + p]);
                REQUIRE(std::abs(sum - c[i * n + j]) < 1e-4);
            }
    }
}

TEST_CASE("packed GEMM: strided operands (column slices of wider matrices) and a leading dimension for C") {
    // A = columns [3, 3+k) of a [m, 40] matrix; B = rows of a transposed [n, 50] slice; C inside [m, 64].
    const std::int64_t m = 29, n = 23, k = 17;
    const auto wide_a = test::random_tensor<float>(Shape{m, 40}, 7), wide_b = test::random_tensor<float>(Shape{n, 50}, 8);
    auto c = test::random_tensor<float>(Shape{m, 64}, 9);
    const auto before = c.clone();
    const StridedMatrix A{wide_a.data() + 3, 40, 1}, B{wide_b.data() + 5, 1, 50};  // B(p, j) = wide_b[j, 5 + p]
    Gemm<8, 6>::run(m, n, k, 1.f, A, B, 0.f, c.data() + 2, 64);
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < 64; ++j) {
            if (j < 2 || j >= 2 + n) {
                REQUIRE(c[i * 64 + j] == before[i * 64 + j]);  // outside the target block: untouched
                continue;
            }
            double sum = 0;
            for (std::int64_t p = 0; p < k; ++p) sum += double(A.at(i, p)) * double(B.at(p, j - 2));
            REQUIRE(std::abs(sum - c[i * 64 + j]) < 1e-5);
        }
}

TEST_CASE("packed GEMM: the same bits with one thread and with all of them") {
    const std::int64_t m = 700, n = 130, k = 600;
    const auto a = test::random_tensor<float>(Shape{m, k}, 11), b = test::random_tensor<float>(Shape{n, k}, 12);
    auto serial = Tensor<float>::empty(Shape{m, n}), parallel = Tensor<float>::empty(Shape{m, n});
    const int threads = num_threads();
    set_num_threads(1);
    eig::packed::sgemm(false, true, m, n, k, 1.f, a.data(), b.data(), 0.f, serial.data());
    set_num_threads(threads);
    eig::packed::sgemm(false, true, m, n, k, 1.f, a.data(), b.data(), 0.f, parallel.data());
    CHECK(test::max_abs_diff(serial, parallel) == 0.0);
}
