// contra/backend/eigen/common.hpp — what the Eigen (cpu) kernels share.
// The cpu backend computes in the tensor's own type (float or double) with Eigen's vectorised
// expressions and GEMM, split over the machine's cores with OpenMP (core/parallel.hpp).
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <unsupported/Eigen/SpecialFunctions>
#include <vector>

#include "../../core/parallel.hpp"
#include "../ops.hpp"
#include "../scalar_math.hpp"

namespace contra::eig {
using std::int64_t;
template <class T> using HTensor = Tensor<T, cpu>;
template <class T> using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using MatrixMap = Eigen::Map<RowMatrix<T>>;
template <class T> using ConstMatrixMap = Eigen::Map<const RowMatrix<T>>;
template <class T> using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T> using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

template <class T>
constexpr void require_eigen_type() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "the cpu backend computes in float or double; convert bf16/f16 tensors with cast<float>() first");
}

// for_chunks(n, cost, f): f(begin, end) over parallel contiguous ranges of [0, n).
template <class F>
void for_chunks(int64_t n, int64_t cost, F&& f) {
    parallel_for(n, cost, std::forward<F>(f));
}

// Per-thread partial results of a reduction into `width` values, combined at the end.
template <class T, class F>
void reduce_rows_parallel(int64_t rows, int64_t width, int64_t cost, T* out, F&& accumulate_range) {
    const int threads = std::max(1, std::min<int>(num_threads(), int(rows * cost / 32768) + 1));
    std::vector<Eigen::Array<T, Eigen::Dynamic, 1>> partial(std::size_t(threads),
                                                            Eigen::Array<T, Eigen::Dynamic, 1>::Zero(width));
    parallel_for(threads, rows * cost / threads + 32768, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
            accumulate_range(rows * t / threads, rows * (t + 1) / threads, partial[std::size_t(t)]);
    });
    ArrayMap<T> result(out, width);
    result = partial[0];
    for (int t = 1; t < threads; ++t) result += partial[std::size_t(t)];
}

}  // namespace contra::eig
