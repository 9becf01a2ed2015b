// tests/cuda/gpu.cuh — what the CUDA tests share: skipping without a GPU, test data on the host.
#pragma once
#include <contra/cuda.hpp>  // first: it keeps Eigen's nvcc notes quiet for the headers below
#include <doctest/doctest.h>

#include <string>

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

}  // namespace contra::test

#define CUDA_TYPES float, double, contra::bf16
