// contra/backend/eigen/reduce.hpp — sums over an axis and whole-tensor reductions.
#pragma once
#include "common.hpp"

namespace contra::eig {

struct Reduce {
    template <class T>
    static void sum(ops::Axis axis, acc_t<T> alpha, const HTensor<T>& x, acc_t<T> beta, HTensor<T>& out) {
        require_eigen_type<T>();
        const int64_t rows = x.rows(), cols = x.cols();
        const T* px = x.data();
        T* po = out.data();
        if (axis == ops::Axis::cols) {
            for_chunks(rows, cols, [&](int64_t r0, int64_t r1) {
                for (int64_t r = r0; r < r1; ++r) {
                    const T s = ConstArrayMap<T>(px + r * cols, cols).sum();
                    po[r] = beta == 0 ? T(alpha) * s : T(alpha) * s + T(beta) * po[r];
                }
            });
            return;
        }
        Eigen::Array<T, Eigen::Dynamic, 1> total(cols);
        reduce_rows_parallel<T>(rows, cols, cols, total.data(), [&](int64_t r0, int64_t r1, auto& acc) {
            for (int64_t r = r0; r < r1; ++r) acc += ConstArrayMap<T>(px + r * cols, cols);
        });
        ArrayMap<T> o(po, cols);
        if (beta == 0) o = T(alpha) * total;
        else o = T(alpha) * total + T(beta) * o;
    }
    template <class T>
    static double reduce_all(ops::ReduceOp op, const HTensor<T>& x) {
        require_eigen_type<T>();
        const T* px = x.data();
        const int64_t n = x.numel();
        const int threads = std::max(1, std::min<int>(num_threads(), int(n / 32768) + 1));
        std::vector<double> partial(std::size_t(threads), 0.0);
        parallel_for(threads, n / threads + 32768, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                const int64_t i0 = n * t / threads, i1 = n * (t + 1) / threads;
                const auto a = ConstArrayMap<T>(px + i0, i1 - i0).template cast<double>();
                double& s = partial[std::size_t(t)];
                switch (op) {
                    case ops::ReduceOp::sum: s = a.sum(); break;
                    case ops::ReduceOp::sum_squares: s = a.square().sum(); break;
                    case ops::ReduceOp::max_abs: s = i1 > i0 ? a.abs().maxCoeff() : 0.0; break;
                    case ops::ReduceOp::count_nonfinite: s = double((!a.isFinite()).count()); break;
                }
            }
        });
        double result = 0;
        for (double p : partial) result = op == ops::ReduceOp::max_abs ? std::max(result, p) : result + p;
        return result;
    }
};

}  // namespace contra::eig
