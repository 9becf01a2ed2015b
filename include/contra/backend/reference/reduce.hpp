// contra/backend/reference/reduce.hpp — sums over an axis, whole-tensor reductions.
#pragma once
#include "common.hpp"

namespace contra::ref {

struct Reduce {
    template <class T>
    static void sum(ops::Axis axis, acc_t<T> alpha, const HTensor<T>& x, acc_t<T> beta, HTensor<T>& out) {
        const int64_t rows = x.rows(), cols = x.cols();
        const int64_t n_out = axis == ops::Axis::rows ? cols : rows;
        for (int64_t o = 0; o < n_out; ++o) {
            R s = 0;
            if (axis == ops::Axis::rows)
                for (int64_t r = 0; r < rows; ++r) s += R(x.data()[r * cols + o]);
            else
                for (int64_t c = 0; c < cols; ++c) s += R(x.data()[o * cols + c]);
            out.data()[o] = T(beta == 0 ? R(alpha) * s : R(alpha) * s + R(beta) * R(out.data()[o]));
        }
    }
    template <class T>
    static double reduce_all(ops::ReduceOp op, const HTensor<T>& x) {
        R s = 0;
        for (int64_t i = 0; i < x.numel(); ++i) {
            const R v = R(x.data()[i]);
            switch (op) {
                case ops::ReduceOp::sum: s += v; break;
                case ops::ReduceOp::sum_squares: s += v * v; break;
                case ops::ReduceOp::max_abs: s = std::max(s, std::abs(v)); break;
                case ops::ReduceOp::count_nonfinite: s += std::isfinite(v) ? 0 : 1; break;
            }
        }
        return s;
    }
};

}  // namespace contra::ref
