// contra/backend/cuda/norm.cuh — layer norm (two-pass; alone or after a residual add) and L2 row
// normalisation, forward and backward: a warp per row (a block for rows longer than kWarpRowLimit), arithmetic in acc_t<T>;
// dgamma and dbeta by the deterministic column reduction of reduce.cuh.
// defines: contra::cu::Norm (the norm part of Kernels<cuda>)
#pragma once
#include "../ops.hpp"
#include "../scalar_math.hpp"
#include "common.cuh"
#include "context.cuh"
#include "reduce.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// mean = Σx/C, then var = Σ(x − mean)²/C over the row again (exact for rows with a large mean).
// kAddBranch: the row normalised is x + branch (rounded to T as binary_kernel rounds it), which
// is stored into `sum` on the way; each thread reads back only the elements it wrote.
template <class Team, class T, bool kAddBranch = false>
__global__ void layer_norm_kernel(Index64 rows, Index64 cols, const T* x, const T* branch, T* sum, const T* gamma,
                                  const T* beta, acc_t<T> eps, T* y, T* mean, T* rstd) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        const T* xr = x + r * cols;
        A s = 0;
        if constexpr (kAddBranch) {
            const T* br = branch + r * cols;
            T* sr = sum + r * cols;
            for (Index64 c = Team::rank(); c < cols; c += Team::size) {
                const T v = T(scalar::apply(ops::BinaryOp::add, A(xr[c]), A(br[c])));
                sr[c] = v;
                s += A(v);
            }
            xr = sr;
        } else {
            for (Index64 c = Team::rank(); c < cols; c += Team::size) s += A(xr[c]);
        }
        const A mu = Team::sum(s, scratch) / A(cols);
        A ss = 0;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) {
            const A d = A(xr[c]) - mu;
            ss += d * d;
        }
        const A rs = A(1) / sqrt(Team::sum(ss, scratch) / A(cols) + eps);
        T* yr = y + r * cols;
        for (Index64 c = Team::rank(); c < cols; c += Team::size)
            yr[c] = T((A(xr[c]) - mu) * rs * A(gamma[c]) + A(beta[c]));
        if (Team::rank() == 0) {
            mean[r] = T(mu);
            rstd[r] = T(rs);
        }
    }
}

// With x̂ = (x − μ)·rstd and g = dy·γ:  dx = rstd · (g − mean(g) − x̂·mean(g·x̂)).
template <class Team, class T>
__global__ void layer_norm_backward_kernel(Index64 rows, Index64 cols, const T* x, const T* gamma, const T* mean,
                                           const T* rstd, const T* dy, T* dx) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        const Index64 o = r * cols;
        const A mu = A(mean[r]), rs = A(rstd[r]);
        A sg = 0, sgx = 0;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) {
            const A g = A(dy[o + c]) * A(gamma[c]);
            sg += g;
            sgx += g * (A(x[o + c]) - mu) * rs;
        }
        const A mean_g = Team::sum(sg, scratch) / A(cols), mean_gx = Team::sum(sgx, scratch) / A(cols);
        for (Index64 c = Team::rank(); c < cols; c += Team::size) {
            const A g = A(dy[o + c]) * A(gamma[c]);
            const A xhat = (A(x[o + c]) - mu) * rs;
            dx[o + c] = T(rs * (g - mean_g - xhat * mean_gx));
        }
    }
}

// (dy·x̂, dy) at (r, c): the terms of dgamma and dbeta.
template <class T>
struct LayerNormParamTerms {
    const T *x, *mean, *rstd, *dy;
    Index64 cols;
    __device__ Sums<acc_t<T>, 2> operator()(Index64 r, Index64 c) const {
        using A = acc_t<T>;
        const A g = A(dy[r * cols + c]);
        return {{g * (A(x[r * cols + c]) - A(mean[r])) * A(rstd[r]), g}};
    }
};

template <class T>
struct StoreParamGrads {
    T *dgamma, *dbeta;
    __device__ void operator()(Index64 c, const Sums<acc_t<T>, 2>& s) const {
        dgamma[c] = T(s.v[0]);
        dbeta[c] = T(s.v[1]);
    }
};

// y = x / max(‖x‖, eps), norm = ‖x‖.
template <class Team, class T>
__global__ void l2_normalize_kernel(Index64 rows, Index64 cols, const T* x, acc_t<T> eps, T* y, T* norm) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        const Index64 o = r * cols;
        A ss = 0;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) ss += A(x[o + c]) * A(x[o + c]);
        const A n = sqrt(Team::sum(ss, scratch)), d = fmax(n, eps);
        for (Index64 c = Team::rank(); c < cols; c += Team::size) y[o + c] = T(A(x[o + c]) / d);
        if (Team::rank() == 0) norm[r] = T(n);
    }
}

// dx = (dy − y·(y·dy)) / ‖x‖ where ‖x‖ > eps, else dy / eps.
template <class Team, class T>
__global__ void l2_normalize_backward_kernel(Index64 rows, Index64 cols, const T* y, const T* norm, acc_t<T> eps,
                                             const T* dy, T* dx) {
    using A = acc_t<T>;
    __shared__ A scratch[32];
    for (Index64 r = Team::first_row(); r < rows; r += Team::row_stride()) {
        const Index64 o = r * cols;
        const A n = A(norm[r]);
        A dot = 0;
        for (Index64 c = Team::rank(); c < cols; c += Team::size) dot += A(y[o + c]) * A(dy[o + c]);
        dot = Team::sum(dot, scratch);
        if (!(n > eps)) dot = 0;
        const A d = fmax(n, eps);
        for (Index64 c = Team::rank(); c < cols; c += Team::size) dx[o + c] = T((A(dy[o + c]) - A(y[o + c]) * dot) / d);
    }
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

template <class T>
void launch_layer_norm(cudaStream_t stream, Index64 rows, Index64 cols, const T* x, const T* gamma, const T* beta,
                       double eps, T* y, T* mean, T* rstd) {
    launch_rows(stream, rows, cols, layer_norm_kernel<RowTeam<32>, T>, layer_norm_kernel<RowTeam<kBlock>, T>, x,
                static_cast<const T*>(nullptr), static_cast<T*>(nullptr), gamma, beta, acc_t<T>(eps), y, mean, rstd);
}

template <class T>
void launch_add_layer_norm(cudaStream_t stream, Index64 rows, Index64 cols, const T* x, const T* branch, T* sum,
                           const T* gamma, const T* beta, double eps, T* y, T* mean, T* rstd) {
    launch_rows(stream, rows, cols, layer_norm_kernel<RowTeam<32>, T, true>, layer_norm_kernel<RowTeam<kBlock>, T, true>,
                x, branch, sum, gamma, beta, acc_t<T>(eps), y, mean, rstd);
}

template <class T>
void launch_layer_norm_backward(cudaStream_t stream, Index64 rows, Index64 cols, const T* x, const T* gamma,
                                const T* mean, const T* rstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
    launch_rows(stream, rows, cols, layer_norm_backward_kernel<RowTeam<32>, T>,
                layer_norm_backward_kernel<RowTeam<kBlock>, T>, x, gamma, mean, rstd, dy, dx);
    reduce_columns<acc_t<T>, 2>(stream, rows, cols, LayerNormParamTerms<T>{x, mean, rstd, dy, cols},
                                StoreParamGrads<T>{dgamma, dbeta});
}

template <class T>
void launch_l2_normalize(cudaStream_t stream, Index64 rows, Index64 cols, const T* x, double eps, T* y, T* norm) {
    launch_rows(stream, rows, cols, l2_normalize_kernel<RowTeam<32>, T>, l2_normalize_kernel<RowTeam<kBlock>, T>, x,
                acc_t<T>(eps), y, norm);
}

template <class T>
void launch_l2_normalize_backward(cudaStream_t stream, Index64 rows, Index64 cols, const T* y, const T* norm,
                                  double eps, const T* dy, T* dx) {
    launch_rows(stream, rows, cols, l2_normalize_backward_kernel<RowTeam<32>, T>,
                l2_normalize_backward_kernel<RowTeam<kBlock>, T>, y, norm, acc_t<T>(eps), dy, dx);
}

// ─── Kernels<cuda>: normalisation ─────────────────────────────────────────────────────────────

struct Norm {
    template <class T>
    static void layer_norm(const Tensor<T, cuda>& x, const Tensor<T, cuda>& gamma, const Tensor<T, cuda>& beta, double eps,
                           Tensor<T, cuda>& y, Tensor<T, cuda>& mean, Tensor<T, cuda>& rstd) {
        require_cuda_type<T>();
        launch_layer_norm(current_stream(), x.rows(), x.cols(), x.data(), gamma.data(), beta.data(), eps, y.data(),
                          mean.data(), rstd.data());
    }
    template <class T>
    static void add_layer_norm(const Tensor<T, cuda>& x, const Tensor<T, cuda>& branch, const Tensor<T, cuda>& gamma,
                               const Tensor<T, cuda>& beta, double eps, Tensor<T, cuda>& sum, Tensor<T, cuda>& y,
                               Tensor<T, cuda>& mean, Tensor<T, cuda>& rstd) {
        require_cuda_type<T>();
        launch_add_layer_norm(current_stream(), x.rows(), x.cols(), x.data(), branch.data(), sum.data(), gamma.data(),
                              beta.data(), eps, y.data(), mean.data(), rstd.data());
    }
    template <class T>
    static void layer_norm_backward(const Tensor<T, cuda>& x, const Tensor<T, cuda>& gamma, const Tensor<T, cuda>& mean,
                                    const Tensor<T, cuda>& rstd, const Tensor<T, cuda>& dy, Tensor<T, cuda>& dx, Tensor<T, cuda>& dgamma,
                                    Tensor<T, cuda>& dbeta) {
        require_cuda_type<T>();
        launch_layer_norm_backward(current_stream(), x.rows(), x.cols(), x.data(), gamma.data(), mean.data(),
                                   rstd.data(), dy.data(), dx.data(), dgamma.data(), dbeta.data());
    }
    template <class T>
    static void l2_normalize(const Tensor<T, cuda>& x, double eps, Tensor<T, cuda>& y, Tensor<T, cuda>& norm) {
        require_cuda_type<T>();
        launch_l2_normalize(current_stream(), x.rows(), x.cols(), x.data(), eps, y.data(), norm.data());
    }
    template <class T>
    static void l2_normalize_backward(const Tensor<T, cuda>& y, const Tensor<T, cuda>& norm, double eps, const Tensor<T, cuda>& dy,
                                      Tensor<T, cuda>& dx) {
        require_cuda_type<T>();
        launch_l2_normalize_backward(current_stream(), y.rows(), y.cols(), y.data(), norm.data(), eps, dy.data(),
                                     dx.data());
    }
};

}  // namespace contra::cu
