// tests/cuda/gpu.cuh — what the CUDA tests share: skipping without a GPU, test data on the host.
#pragma once
#include <contra/cuda.hpp>  // first: it keeps Eigen's nvcc notes quiet for the headers below
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../support/compare.hpp"
#include "../support/skip.hpp"

namespace contra::test {

// have_gpu(): whether a CUDA device can be used. Without one, the first call says why and marks
// the whole program skipped (it exits with 77); every CUDA test case starts with
//   if (!have_gpu()) return;
inline bool have_gpu() {
    static const bool present = [] {
        int count = 0;
        const cudaError_t status = cudaGetDeviceCount(&count);
        if (status == cudaSuccess && count > 0) return true;
        (void)cudaGetLastError();
        const std::string reason = status == cudaSuccess
                                       ? std::string("cudaGetDeviceCount found 0 devices")
                                       : std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
        skip_program(("no CUDA device (" + reason + "): every CUDA test is skipped").c_str());
        return false;
    }();
    return present;
}

// rand<T>(shape, seed, scale): N(0, scale²) host data, rounded to T.
template <class T>
Tensor<T, cpu> rand(const Shape& shape, std::uint64_t seed, double scale = 1.0) {
    return cast<T>(random_tensor<double>(shape, seed, scale));
}

// Tolerances against the reference backend, which computes in double and rounds once. A bf16
// result may land one bf16 step (under 1% relative) away from the reference's.
template <class T>
double rtol() {
    if constexpr (std::is_same_v<T, double>) return 1e-12;
    else if constexpr (std::is_same_v<T, float>) return 1e-5;
    else return 1e-2;
}
template <class T>
double atol() {
    if constexpr (std::is_same_v<T, double>) return 1e-12;
    else if constexpr (std::is_same_v<T, float>) return 1e-5;
    else return 1e-3;
}

// on(be, t): host test data as backend `be` reads it: t itself for reference and cpu, a device
// copy for cuda.
template <class B, class T>
TensorOn<T, B> on(B, const Tensor<T, cpu>& t) {
    if constexpr (std::same_as<device_of<B>, cpu>) return t;
    else return to_device<device_of<B>>(t);
}

// How close a GPU result must be to the reference: |a − b| ≤ rtol·|b| + atol + scaled·max|b|.
// `scaled` allows for cancellation: an entry that sums to nearly zero keeps the rounding error of
// the largest terms.
struct Tolerance {
    double rtol, atol, scaled;
    Tolerance times(double f) const { return {rtol * f, atol * f, scaled * f}; }
};
template <class T>
Tolerance tolerance() {
    return {rtol<T>(), atol<T>(), std::is_same_v<T, bf16> ? 1e-2 : rtol<T>()};
}

// The largest finite |x|.
template <class T>
double max_finite_abs(const Tensor<T, cpu>& t) {
    double m = 0;
    for (std::int64_t i = 0; i < t.numel(); ++i)
        if (std::isfinite(double(t[i]))) m = std::max(m, std::abs(double(t[i])));
    return m;
}

// agree<T>(op, shapes, tol): op(reference{}, outputs) and op(cuda{}, outputs) from the same
// inputs (op fetches them with on()), the outputs of both starting at 0.25, compared one by one.
template <class T, class F>
void agree(F&& op, const std::vector<Shape>& shapes, Tolerance tol = tolerance<T>()) {
    std::vector<Tensor<T, cpu>> expected;
    std::vector<Tensor<T, cuda>> actual;
    for (const auto& s : shapes) {
        expected.push_back(Tensor<T, cpu>::full(s, T(0.25f)));
        actual.push_back(to_device<cuda>(expected.back()));
    }
    op(reference{}, expected);
    op(cuda{}, actual);
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        INFO("output " << i << " of shape " << shapes[i]);
        CHECK_CLOSE(to_device<cpu>(actual[i]), expected[i], tol.rtol, tol.atol + tol.scaled * max_finite_abs(expected[i]));
    }
}

// Whether two tensors hold the same bits.
template <class T, class D>
bool bitwise_equal(const Tensor<T, D>& a, const Tensor<T, D>& b) {
    const auto x = a.to_vector(), y = b.to_vector();
    return x.size() == y.size() && (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0);
}

}  // namespace contra::test

#define CUDA_TYPES float, double, contra::bf16
