// contra/backend/ops.hpp — THE op contract: every primitive contra computes with, declared once.
//
// Each primitive is a function template over a backend tag B (reference, cpu, cuda; see
// core/device.hpp) and an element type T. This file checks the arguments (shapes, ranges) and
// forwards to Kernels<B>, which each backend specialises: backend/reference (plain loops, the
// oracle), backend/eigen (Eigen + OpenMP), backend/cuda (CUDA/cuBLAS, nvcc only). Backends may
// therefore assume what is written under "requires" here.
//
// Conventions
//   - "[R,C]" means the tensor is read as a matrix: C = its innermost extent, R = all the others
//     (Shape::rows/cols). Callers reshape (a free view) to choose the matrix.
//   - Outputs are passed by reference, allocated by the caller, and overwritten unless a beta or
//     "accumulate" argument says otherwise. Outputs never alias inputs unless stated.
//   - Arithmetic accumulates in acc_t<T> (fp32 for bf16/f16). Scalars are passed as acc_t<T>.
//   - CUDA: kernels are queued on the current stream of backend/cuda/context.cuh; workspaces come
//     from that context; nothing here synchronises unless it returns a host value.
// defines: contra::ops::* (the primitives; the optimizer's in ops_optim.hpp), contra::ops::Kernels<B>
//          (specialised by backends)
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

#include "../core/device.hpp"
#include "../core/tensor.hpp"

namespace contra::ops {

template <class B> struct Kernels;  // specialised by each backend

using Index = std::int32_t;  // token ids, class labels, row indices

enum class Trans : std::uint8_t { N, T };
enum class BinaryOp : std::uint8_t { add, sub, mul, div };
enum class UnaryOp : std::uint8_t { neg, exp, log, sqrt, rsqrt, tanh, erf, sigmoid, square, reciprocal, abs, log_sigmoid };
enum class Axis : std::uint8_t { rows, cols };  // rows: reduce over rows (→ [C]); cols: over columns (→ [R])
enum class ReduceOp : std::uint8_t { sum, sum_squares, max_abs, count_nonfinite };
enum class Activation : std::uint8_t { quick_gelu, gelu, gelu_tanh, relu };

// Which keys (columns) a query (row) sees. The rows form equal groups, one per sequence; row r of
// a group of G rows is query r mod C of sequence r / G.
//   causal:      query q sees keys ≤ q.
//   key_lengths: empty, or one count per sequence in host memory: sequence n's queries see only
//                keys [0, key_lengths[n]) (a key-padding mask: the keys past it are padding).
struct SoftmaxMask {
    bool causal = false;
    std::span<const std::int64_t> key_lengths{};
    // The keys [0, live) that query q of sequence n sees, of `keys`.
    std::int64_t live(std::int64_t n, std::int64_t q, std::int64_t keys) const {
        const std::int64_t visible = causal ? std::min(q + 1, keys) : keys;
        return key_lengths.empty() ? visible : std::min(visible, key_lengths[std::size_t(n)]);
    }
};

namespace detail {
// The mask's key lengths: none, or one per sequence in [1, keys].
inline void check_key_lengths(const char* op, const SoftmaxMask& mask, std::int64_t sequences, std::int64_t keys) {
    if (mask.key_lengths.empty()) return;
    CONTRA_CHECK(std::int64_t(mask.key_lengths.size()) == sequences, op, ": ", mask.key_lengths.size(),
                 " key lengths for ", sequences, " sequences");
    for (const auto length : mask.key_lengths)
        CONTRA_CHECK(length >= 1 && length <= keys, op, ": key length ", length, " is outside [1, ", keys, "]");
}
}  // namespace detail

struct Conv2dShape {
    int stride = 1;
    int padding = 0;
};

namespace detail {
template <class A, class Bt>
void check_same(const char* op, const char* what, const A& a, const Bt& b) {
    CONTRA_CHECK(a.shape() == b.shape(), op, ": ", what, " shapes differ: ", a.shape(), " vs ", b.shape());
}
template <class A>
void check_shape(const char* op, const char* what, const A& a, const Shape& expected) {
    CONTRA_CHECK(a.shape() == expected, op, ": ", what, " has shape ", a.shape(), ", expected ", expected);
}
}  // namespace detail

// ─── linear algebra ───────────────────────────────────────────────────────────────────────────

// gemm: C[M,N] = alpha · op(A) · op(B) + beta · C, with op(X) = X or Xᵀ.
//   requires: A is [M,K] (Trans::N) or [K,M] (Trans::T) as a matrix; B is [K,N] or [N,K]; C is [M,N].
//   ensures:  with beta = 0, C's old contents are never read (NaN-safe).
template <class B, class T>
void gemm(B, Trans ta, Trans tb, acc_t<T> alpha, const TensorOn<T, B>& a, const TensorOn<T, B>& b, acc_t<T> beta,
          TensorOn<T, B>& c) {
    const std::int64_t m = ta == Trans::N ? a.rows() : a.cols(), k = ta == Trans::N ? a.cols() : a.rows();
    const std::int64_t kb = tb == Trans::N ? b.rows() : b.cols(), n = tb == Trans::N ? b.cols() : b.rows();
    CONTRA_CHECK(k == kb && c.rows() == m && c.cols() == n, "gemm: op(A) ", m, "x", k, " times op(B) ", kb, "x", n,
                 " into C ", c.rows(), "x", c.cols(), " (A ", a.shape(), ", B ", b.shape(), ", C ", c.shape(), ")");
    Kernels<B>::gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
}

// linear: y[R, O] = x[R, I] · w[O, I]ᵀ + bias[O] (the bias added to every row; none when bias is
// null): a linear layer's forward in one pass over y.
//   requires: x read as a matrix [R, I]; y [R, O] as a matrix; y overwritten.
template <class B, class T>
void linear(B, const TensorOn<T, B>& x, const TensorOn<T, B>& w, const TensorOn<T, B>* bias, TensorOn<T, B>& y) {
    CONTRA_CHECK(w.rank() == 2 && x.cols() == w.size(1) && y.cols() == w.size(0) && y.rows() == x.rows(), "linear: x ",
                 x.shape(), " times weight ", w.shape(), "ᵀ does not give y ", y.shape());
    CONTRA_CHECK(!bias || bias->numel() == w.size(0), "linear: bias ", (bias ? bias->shape() : Shape{}), " for weight ",
                 w.shape());
    Kernels<B>::linear(x, w, bias, y);
}

// gemm_batched: for each l, C[l] = alpha · op(A[l]) · op(B[l]) + beta · C[l].
//   requires: rank ≥ 3; the last two axes are the matrices, all leading axes the batch (equal in
//             A, B and C); matrix shapes as in gemm.
template <class B, class T>
void gemm_batched(B, Trans ta, Trans tb, acc_t<T> alpha, const TensorOn<T, B>& a, const TensorOn<T, B>& b,
                  acc_t<T> beta, TensorOn<T, B>& c) {
    CONTRA_CHECK(a.rank() >= 3 && b.rank() == a.rank() && c.rank() == a.rank(), "gemm_batched: needs rank ≥ 3, got A ",
                 a.shape(), ", B ", b.shape(), ", C ", c.shape());
    const std::int64_t batch = a.numel() / std::max<std::int64_t>(1, a.size(-1) * a.size(-2));
    const std::int64_t m = ta == Trans::N ? a.size(-2) : a.size(-1), k = ta == Trans::N ? a.size(-1) : a.size(-2);
    const std::int64_t kb = tb == Trans::N ? b.size(-2) : b.size(-1), n = tb == Trans::N ? b.size(-1) : b.size(-2);
    bool same_batch = true;
    for (int i = 0; i < a.rank() - 2; ++i) same_batch &= a.size(i) == b.size(i) && a.size(i) == c.size(i);
    CONTRA_CHECK(same_batch && k == kb && c.size(-2) == m && c.size(-1) == n, "gemm_batched: A ", a.shape(), ", B ",
                 b.shape(), ", C ", c.shape(), " do not multiply");
    Kernels<B>::gemm_batched(ta, tb, batch, m, n, k, alpha, a, b, beta, c);
}

// ─── elementwise ──────────────────────────────────────────────────────────────────────────────

// binary: out = a ∘ b with ∘ in {+, −, ×, ÷}, b broadcast as a matrix:
//   requires: a, out same element count, read as [R,C] with a's matrix shape; b is [Rb,Cb] with
//             Rb ∈ {1, R} and Cb ∈ {1, C} (a row, a column, a scalar or a full matrix).
//             out may alias a.
template <class B, class T>
void binary(B, BinaryOp op, const TensorOn<T, B>& a, const TensorOn<T, B>& b, TensorOn<T, B>& out) {
    CONTRA_CHECK(out.numel() == a.numel(), "binary: output ", out.shape(), " differs from input ", a.shape());
    const bool rows_ok = b.rows() == 1 || b.rows() == a.rows();
    const bool cols_ok = b.cols() == 1 || b.cols() == a.cols();
    CONTRA_CHECK(rows_ok && cols_ok, "binary: cannot broadcast ", b.shape(), " over ", a.shape());
    Kernels<B>::binary(op, a.rows(), a.cols(), a, b.rows(), b.cols(), b, out);
}

// unary: out = f(x) elementwise. requires: equal element counts; out may alias x.
template <class B, class T>
void unary(B, UnaryOp op, const TensorOn<T, B>& x, TensorOn<T, B>& out) {
    CONTRA_CHECK(out.numel() == x.numel(), "unary: output ", out.shape(), " differs from input ", x.shape());
    Kernels<B>::unary(op, x, out);
}

// affine: out = alpha · x + beta (scalars). out may alias x.
template <class B, class T>
void affine(B, const TensorOn<T, B>& x, acc_t<T> alpha, acc_t<T> beta, TensorOn<T, B>& out) {
    CONTRA_CHECK(out.numel() == x.numel(), "affine: output ", out.shape(), " differs from input ", x.shape());
    Kernels<B>::affine(x, alpha, beta, out);
}

// axpy: y += alpha · x. requires: equal element counts.
template <class B, class T>
void axpy(B, acc_t<T> alpha, const TensorOn<T, B>& x, TensorOn<T, B>& y) {
    CONTRA_CHECK(y.numel() == x.numel(), "axpy: ", x.shape(), " and ", y.shape(), " differ in size");
    Kernels<B>::axpy(alpha, x, y);
}

// clamp: out = x limited to [lo, hi] elementwise; NaN stays NaN. requires: lo ≤ hi, equal element
// counts; out may alias x.
template <class B, class T>
void clamp(B, const TensorOn<T, B>& x, acc_t<T> lo, acc_t<T> hi, TensorOn<T, B>& out) {
    CONTRA_CHECK(out.numel() == x.numel(), "clamp: output ", out.shape(), " differs from input ", x.shape());
    CONTRA_CHECK(lo <= hi, "clamp: the range [", double(lo), ", ", double(hi), "] is empty");
    Kernels<B>::clamp(x, lo, hi, out);
}

// convert: out = x, every element converted to U (exact when U is wider; rounded to nearest even
// when narrower: float → bf16). requires: equal element counts.
template <class B, class T, class U>
void convert(B, const TensorOn<T, B>& x, TensorOn<U, B>& out) {
    CONTRA_CHECK(out.numel() == x.numel(), "convert: output ", out.shape(), " differs from input ", x.shape());
    Kernels<B>::convert(x, out);
}

// fill: every element of out = value.
template <class B, class T>
void fill(B, acc_t<T> value, TensorOn<T, B>& out) {
    Kernels<B>::fill(value, out);
}

// ─── reductions ───────────────────────────────────────────────────────────────────────────────

// sum: out = alpha · (sum of x [R,C] over rows → [C], or over columns → [R]) + beta · out.
template <class B, class T>
void sum(B, Axis axis, acc_t<T> alpha, const TensorOn<T, B>& x, acc_t<T> beta, TensorOn<T, B>& out) {
    const std::int64_t expected = axis == Axis::rows ? x.cols() : x.rows();
    CONTRA_CHECK(out.numel() == expected, "sum: output ", out.shape(), " should hold ", expected,
                 " values for input ", x.shape());
    Kernels<B>::sum(axis, alpha, x, beta, out);
}

// reduce_all: one number over every element (in double, on the host):
// sum, sum of squares, largest |x|, or the count of NaN/±inf elements.
template <class B, class T>
double reduce_all(B, ReduceOp op, const TensorOn<T, B>& x) {
    return Kernels<B>::reduce_all(op, x);
}

// reduce_all_into: total ⊕= reduce_all(op, x), left where x is: on a GPU the host does not wait.
// ⊕ is + for sum, sum of squares and the non-finite count, the larger (NaN ignored) for max_abs.
//   requires: total holds one double on x's device.
template <class B, class T>
void reduce_all_into(B, ReduceOp op, const TensorOn<T, B>& x, TensorOn<double, B>& total) {
    CONTRA_CHECK(total.numel() == 1, "reduce_all_into: the total ", total.shape(), " is not one value");
    if constexpr (std::same_as<device_of<B>, cpu>) {  // host backends: the value is at hand
        const double value = Kernels<B>::reduce_all(op, x);
        double& t = total.data()[0];
        t = op == ReduceOp::max_abs ? std::fmax(t, value) : t + value;
    } else {
        Kernels<B>::reduce_all_into(op, x, total);
    }
}

// ─── layout ───────────────────────────────────────────────────────────────────────────────────

// transpose: out[l, j, i] = x[l, i, j] for x [L..., M, N] (rank ≥ 2; leading axes are a batch).
template <class B, class T>
void transpose(B, const TensorOn<T, B>& x, TensorOn<T, B>& out) {
    CONTRA_CHECK(x.rank() >= 2 && out.numel() == x.numel() && out.size(-1) == x.size(-2) && out.size(-2) == x.size(-1),
                 "transpose: ", x.shape(), " into ", out.shape());
    Kernels<B>::transpose(x.numel() / std::max<std::int64_t>(1, x.size(-1) * x.size(-2)), x.size(-2), x.size(-1), x, out);
}

// permute_0213: out[a, c, b, d] = x[a, b, c, d] (split or merge attention heads).
template <class B, class T>
void permute_0213(B, const TensorOn<T, B>& x, TensorOn<T, B>& out) {
    CONTRA_CHECK(x.rank() == 4, "permute_0213: needs rank 4, got ", x.shape());
    detail::check_shape("permute_0213", "output", out, Shape{x.size(0), x.size(2), x.size(1), x.size(3)});
    Kernels<B>::permute_0213(x, out);
}

// concat_cols: out [R, Ca+Cb] = [a | b] for a [R,Ca], b [R,Cb] (rank-2 views).
template <class B, class T>
void concat_cols(B, const TensorOn<T, B>& a, const TensorOn<T, B>& b, TensorOn<T, B>& out) {
    CONTRA_CHECK(a.rank() == 2 && b.rank() == 2 && out.rank() == 2 && a.size(0) == b.size(0) &&
                     out.size(0) == a.size(0) && out.size(1) == a.size(1) + b.size(1),
                 "concat_cols: ", a.shape(), " | ", b.shape(), " into ", out.shape());
    Kernels<B>::concat_cols(a, b, out);
}

// split_cols: the inverse of concat_cols: a = x[:, :Ca], b = x[:, Ca:].
template <class B, class T>
void split_cols(B, const TensorOn<T, B>& x, TensorOn<T, B>& a, TensorOn<T, B>& b) {
    CONTRA_CHECK(a.rank() == 2 && b.rank() == 2 && x.rank() == 2 && a.size(0) == b.size(0) &&
                     x.size(0) == a.size(0) && x.size(1) == a.size(1) + b.size(1),
                 "split_cols: ", x.shape(), " into ", a.shape(), " | ", b.shape());
    Kernels<B>::split_cols(x, a, b);
}

// gather_rows: out[i, :] = table[index[i], :].
//   requires: table [V, W], index [N] with 0 ≤ index[i] < V (checked), out [N, W].
template <class B, class T>
void gather_rows(B, const TensorOn<T, B>& table, const TensorOn<Index, B>& index, TensorOn<T, B>& out) {
    CONTRA_CHECK(table.rank() == 2 && out.rank() == 2 && out.size(0) == index.numel() && out.size(1) == table.size(1),
                 "gather_rows: table ", table.shape(), ", ", index.numel(), " indices, output ", out.shape());
    Kernels<B>::gather_rows(table, index, out);
}

// scatter_add_rows: table[index[i], :] += src[i, :] (repeated indices add up).
template <class B, class T>
void scatter_add_rows(B, const TensorOn<T, B>& src, const TensorOn<Index, B>& index, TensorOn<T, B>& table) {
    CONTRA_CHECK(table.rank() == 2 && src.rank() == 2 && src.size(0) == index.numel() && src.size(1) == table.size(1),
                 "scatter_add_rows: source ", src.shape(), ", ", index.numel(), " indices, table ", table.shape());
    Kernels<B>::scatter_add_rows(src, index, table);
}

// im2patch: non-overlapping P×P patches (a convolution with stride = kernel, as matrices).
//   img [N,C,H,W] → out [N, (H/P)·(W/P), C·P·P]; patches in row-major order of the patch grid,
//   each flattened as (c, y, x) to match a conv weight [O, C, P, P].
//   requires: P divides H and W.
template <class B, class T>
void im2patch(B, const TensorOn<T, B>& img, int patch, TensorOn<T, B>& out) {
    CONTRA_CHECK(img.rank() == 4 && patch > 0 && img.size(2) % patch == 0 && img.size(3) % patch == 0,
                 "im2patch: image ", img.shape(), " is not divisible into ", patch, "x", patch, " patches");
    const std::int64_t n = img.size(0), c = img.size(1), h = img.size(2), w = img.size(3);
    detail::check_shape("im2patch", "output", out, Shape{n, (h / patch) * (w / patch), c * patch * patch});
    Kernels<B>::im2patch(img, patch, out);
}

// patch2im: the adjoint of im2patch: img = the patches put back in place (overwrites img).
template <class B, class T>
void patch2im(B, const TensorOn<T, B>& patches, int patch, TensorOn<T, B>& img) {
    CONTRA_CHECK(img.rank() == 4 && patch > 0 && img.size(2) % patch == 0 && img.size(3) % patch == 0,
                 "patch2im: image ", img.shape(), " is not divisible into ", patch, "x", patch, " patches");
    const std::int64_t n = img.size(0), c = img.size(1), h = img.size(2), w = img.size(3);
    detail::check_shape("patch2im", "patches", patches, Shape{n, (h / patch) * (w / patch), c * patch * patch});
    Kernels<B>::patch2im(patches, patch, img);
}

// ─── softmax ──────────────────────────────────────────────────────────────────────────────────

// softmax: y = softmax over the columns of (x + bias) for x [R,C], with an optional mask (causal,
// key lengths: the R rows are key_lengths.size() equal groups) and an optional additive bias [P,C]
// (row r adds bias row r mod P; −inf entries mask). Masked entries come out 0.
//   ensures: a row whose entries are all −inf (masked) comes out all zeros, never NaN.
//   requires: causal ⇒ the rows are groups of C queries (R a multiple of C).
template <class B, class T>
void softmax(B, const TensorOn<T, B>& x, SoftmaxMask mask, const TensorOn<T, B>* bias, TensorOn<T, B>& y) {
    detail::check_same("softmax", "input and output", x, y);
    CONTRA_CHECK(!mask.causal || x.rows() % x.cols() == 0, "softmax: a causal mask needs square blocks, got ", x.shape());
    CONTRA_CHECK(mask.key_lengths.empty() || x.rows() % std::int64_t(mask.key_lengths.size()) == 0, "softmax: ",
                 mask.key_lengths.size(), " key lengths do not divide the ", x.rows(), " rows into sequences");
    detail::check_key_lengths("softmax", mask, std::int64_t(mask.key_lengths.size()), x.cols());
    CONTRA_CHECK(!bias || (bias->cols() == x.cols() && bias->rows() > 0 && x.rows() % bias->rows() == 0),
                 "softmax: additive mask ", (bias ? bias->shape() : Shape{}), " does not tile ", x.shape());
    Kernels<B>::softmax(x, mask, bias, y);
}

// softmax_backward: dx = y ⊙ (dy − Σ_c dy·y), rowwise.
template <class B, class T>
void softmax_backward(B, const TensorOn<T, B>& y, const TensorOn<T, B>& dy, TensorOn<T, B>& dx) {
    detail::check_same("softmax_backward", "y and dy", y, dy);
    detail::check_same("softmax_backward", "y and dx", y, dx);
    Kernels<B>::softmax_backward(y, dy, dx);
}

// log_softmax: y = x − logsumexp(x) rowwise (a row of all −inf gives all −inf).
template <class B, class T>
void log_softmax(B, const TensorOn<T, B>& x, TensorOn<T, B>& y) {
    detail::check_same("log_softmax", "input and output", x, y);
    Kernels<B>::log_softmax(x, y);
}

// log_softmax_backward: dx = dy − exp(y) · Σ_c dy, rowwise.
template <class B, class T>
void log_softmax_backward(B, const TensorOn<T, B>& y, const TensorOn<T, B>& dy, TensorOn<T, B>& dx) {
    detail::check_same("log_softmax_backward", "y and dy", y, dy);
    detail::check_same("log_softmax_backward", "y and dx", y, dx);
    Kernels<B>::log_softmax_backward(y, dy, dx);
}

// ─── attention ────────────────────────────────────────────────────────────────────────────────

// attention: multi-head scaled dot-product self-attention straight from the fused projection.
//   qkv [N, T, 3W] holds queries | keys | values side by side; head h of H reads columns
//   h·D … h·D+D−1 of each (D = W/H). For every image or text n and head h:
//     probs[n, h] = softmax(scale · q_h k_hᵀ, mask)   [T, T]   (causal: query t sees keys ≤ t;
//                                                              key_lengths[n]: keys < it only)
//     out[n, :, h·D : h·D+D] = probs[n, h] · v_h       [T, D]
//   requires: 3W divisible by 3H; out [N, T, W]; probs [N, H, T, T] (saved for the backward pass).
template <class B, class T>
void attention(B, const TensorOn<T, B>& qkv, std::int64_t heads, SoftmaxMask mask, double scale, TensorOn<T, B>& out,
               TensorOn<T, B>& probs) {
    CONTRA_CHECK(qkv.rank() == 3 && qkv.size(2) % 3 == 0 && heads > 0 && (qkv.size(2) / 3) % heads == 0,
                 "attention: qkv ", qkv.shape(), " is not [N, T, 3W] with W divisible into ", heads, " heads");
    const std::int64_t n = qkv.size(0), t = qkv.size(1), w = qkv.size(2) / 3;
    detail::check_shape("attention", "output", out, Shape{n, t, w});
    detail::check_shape("attention", "probabilities", probs, Shape{n, heads, t, t});
    detail::check_key_lengths("attention", mask, n, t);
    Kernels<B>::attention(qkv, heads, mask, scale, out, probs);
}

// attention_backward: dqkv [N, T, 3W] (overwritten: every column is some head's q, k or v) from
// dout [N, T, W], given the forward's qkv and probs:
//   dv = pᵀ·dout,  dp = dout·vᵀ,  ds = scale · p ⊙ (dp − rowsum(dp ⊙ p)),  dq = ds·k,  dk = dsᵀ·q.
template <class B, class T>
void attention_backward(B, const TensorOn<T, B>& qkv, const TensorOn<T, B>& probs, const TensorOn<T, B>& dout,
                        std::int64_t heads, double scale, TensorOn<T, B>& dqkv) {
    CONTRA_CHECK(qkv.rank() == 3 && qkv.size(2) % 3 == 0 && heads > 0 && (qkv.size(2) / 3) % heads == 0,
                 "attention_backward: qkv ", qkv.shape(), " is not [N, T, 3W] with W divisible into ", heads, " heads");
    const std::int64_t n = qkv.size(0), t = qkv.size(1), w = qkv.size(2) / 3;
    detail::check_shape("attention_backward", "probabilities", probs, Shape{n, heads, t, t});
    detail::check_shape("attention_backward", "dout", dout, Shape{n, t, w});
    detail::check_same("attention_backward", "qkv and dqkv", qkv, dqkv);
    Kernels<B>::attention_backward(qkv, probs, dout, heads, scale, dqkv);
}

// ─── normalisation ────────────────────────────────────────────────────────────────────────────

// layer_norm: y = (x − mean) · rstd · gamma + beta per row of x [R,C]; rstd = 1/sqrt(var + eps),
// var the biased variance (two-pass, so rows with a large mean keep their precision).
// mean [R] and rstd [R] are saved for the backward pass.
template <class B, class T>
void layer_norm(B, const TensorOn<T, B>& x, const TensorOn<T, B>& gamma, const TensorOn<T, B>& beta, double eps,
                TensorOn<T, B>& y, TensorOn<T, B>& mean, TensorOn<T, B>& rstd) {
    detail::check_same("layer_norm", "input and output", x, y);
    CONTRA_CHECK(gamma.numel() == x.cols() && beta.numel() == x.cols(), "layer_norm: gamma ", gamma.shape(), " and beta ",
                 beta.shape(), " must have ", x.cols(), " elements for input ", x.shape());
    CONTRA_CHECK(mean.numel() == x.rows() && rstd.numel() == x.rows(), "layer_norm: mean/rstd need ", x.rows(), " elements");
    Kernels<B>::layer_norm(x, gamma, beta, eps, y, mean, rstd);
}

// add_layer_norm: a residual add and the layer norm after it, in one pass over the rows:
//   sum = x + branch (rounded to T), then layer_norm(sum) into y, mean, rstd.
// The same bits as binary(add) followed by layer_norm on the same backend; the backward pass is
// layer_norm_backward on `sum`.
//   requires: x, branch, sum and y of one shape [R, C], sum and y distinct from the inputs.
template <class B, class T>
void add_layer_norm(B, const TensorOn<T, B>& x, const TensorOn<T, B>& branch, const TensorOn<T, B>& gamma,
                    const TensorOn<T, B>& beta, double eps, TensorOn<T, B>& sum, TensorOn<T, B>& y, TensorOn<T, B>& mean,
                    TensorOn<T, B>& rstd) {
    detail::check_same("add_layer_norm", "input and branch", x, branch);
    detail::check_same("add_layer_norm", "input and sum", x, sum);
    detail::check_same("add_layer_norm", "input and output", x, y);
    CONTRA_CHECK(sum.data() != y.data() && sum.data() != x.data() && sum.data() != branch.data() &&
                     y.data() != x.data() && y.data() != branch.data(),
                 "add_layer_norm: sum and y must not share memory with each other or with the inputs");
    CONTRA_CHECK(gamma.numel() == x.cols() && beta.numel() == x.cols(), "add_layer_norm: gamma ", gamma.shape(),
                 " and beta ", beta.shape(), " must have ", x.cols(), " elements for input ", x.shape());
    CONTRA_CHECK(mean.numel() == x.rows() && rstd.numel() == x.rows(), "add_layer_norm: mean/rstd need ", x.rows(),
                 " elements");
    Kernels<B>::add_layer_norm(x, branch, gamma, beta, eps, sum, y, mean, rstd);
}

// layer_norm_backward: dx, dgamma = Σ_rows dy·x̂, dbeta = Σ_rows dy (all overwritten).
template <class B, class T>
void layer_norm_backward(B, const TensorOn<T, B>& x, const TensorOn<T, B>& gamma, const TensorOn<T, B>& mean,
                         const TensorOn<T, B>& rstd, const TensorOn<T, B>& dy, TensorOn<T, B>& dx, TensorOn<T, B>& dgamma,
                         TensorOn<T, B>& dbeta) {
    detail::check_same("layer_norm_backward", "x and dy", x, dy);
    detail::check_same("layer_norm_backward", "x and dx", x, dx);
    CONTRA_CHECK(dgamma.numel() == x.cols() && dbeta.numel() == x.cols() && gamma.numel() == x.cols(),
                 "layer_norm_backward: gamma-sized tensors need ", x.cols(), " elements");
    Kernels<B>::layer_norm_backward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
}

// l2_normalize: y = x / max(‖x‖, eps) per row; norm [R] holds ‖x‖ for the backward pass.
template <class B, class T>
void l2_normalize(B, const TensorOn<T, B>& x, double eps, TensorOn<T, B>& y, TensorOn<T, B>& norm) {
    detail::check_same("l2_normalize", "input and output", x, y);
    CONTRA_CHECK(norm.numel() == x.rows(), "l2_normalize: norm needs ", x.rows(), " elements");
    Kernels<B>::l2_normalize(x, eps, y, norm);
}

// l2_normalize_backward: dx = (dy − y·(y·dy)) / ‖x‖ where ‖x‖ > eps, else dy / eps.
template <class B, class T>
void l2_normalize_backward(B, const TensorOn<T, B>& y, const TensorOn<T, B>& norm, double eps, const TensorOn<T, B>& dy,
                           TensorOn<T, B>& dx) {
    detail::check_same("l2_normalize_backward", "y and dy", y, dy);
    detail::check_same("l2_normalize_backward", "y and dx", y, dx);
    Kernels<B>::l2_normalize_backward(y, norm, eps, dy, dx);
}

// ─── activations ──────────────────────────────────────────────────────────────────────────────

// activation: y = f(x): quick_gelu x·σ(1.702x), gelu x·Φ(x) (erf), gelu_tanh, relu.
template <class B, class T>
void activation(B, Activation f, const TensorOn<T, B>& x, TensorOn<T, B>& y) {
    CONTRA_CHECK(y.numel() == x.numel(), "activation: output ", y.shape(), " differs from input ", x.shape());
    Kernels<B>::activation(f, x, y);
}

// activation_backward: dx = f'(x) · dy.
template <class B, class T>
void activation_backward(B, Activation f, const TensorOn<T, B>& x, const TensorOn<T, B>& dy, TensorOn<T, B>& dx) {
    CONTRA_CHECK(dy.numel() == x.numel() && dx.numel() == x.numel(), "activation_backward: sizes differ");
    Kernels<B>::activation_backward(f, x, dy, dx);
}

// ─── losses ───────────────────────────────────────────────────────────────────────────────────

// cross_entropy: loss[r] = logsumexp(logits[r,:]) − logits[r, target[r]]; lse [R] is saved.
//   requires: 0 ≤ target[r] < C (checked).
//   ensures:  exact for logits of any magnitude; a row of all −inf gives loss +inf (no NaN).
template <class B, class T>
void cross_entropy(B, const TensorOn<T, B>& logits, const TensorOn<Index, B>& target, TensorOn<T, B>& loss,
                   TensorOn<T, B>& lse) {
    CONTRA_CHECK(target.numel() == logits.rows() && loss.numel() == logits.rows() && lse.numel() == logits.rows(),
                 "cross_entropy: logits ", logits.shape(), " need ", logits.rows(), " targets, losses and lse values");
    Kernels<B>::cross_entropy(logits, target, loss, lse);
}

// cross_entropy_backward: dlogits[r,c] = dloss[r] · (exp(logits[r,c] − lse[r]) − [c = target[r]]).
//   ensures: rows with lse = −inf get a zero gradient.
template <class B, class T>
void cross_entropy_backward(B, const TensorOn<T, B>& logits, const TensorOn<Index, B>& target, const TensorOn<T, B>& lse,
                            const TensorOn<T, B>& dloss, TensorOn<T, B>& dlogits) {
    detail::check_same("cross_entropy_backward", "logits and dlogits", logits, dlogits);
    CONTRA_CHECK(target.numel() == logits.rows() && dloss.numel() == logits.rows() && lse.numel() == logits.rows(),
                 "cross_entropy_backward: per-row tensors need ", logits.rows(), " elements");
    Kernels<B>::cross_entropy_backward(logits, target, lse, dloss, dlogits);
}

namespace detail {
template <class C, class S>
void check_clip_loss_square(const char* op, const C& scores, const S& logit_scale) {
    CONTRA_CHECK(scores.rank() == 2 && scores.size(0) == scores.size(1) && scores.size(0) >= 1, op,
                 ": needs [N, N] scores of N ≥ 1 pairs (row i image i, column j text j), got ", scores.shape());
    CONTRA_CHECK(logit_scale.numel() == 1, op, ": logit_scale ", logit_scale.shape(), " is not one value");
}
template <class V>
void check_clip_loss_vector(const char* op, const char* what, const V& v, std::int64_t n) {
    CONTRA_CHECK(v.numel() == n, op, ": ", what, " ", v.shape(), " needs ", n, " elements (one per pair)");
}
}  // namespace detail

// clip_loss: the symmetric CLIP (InfoNCE) loss of N matching pairs, whose targets are the diagonal:
//   s = exp(logit_scale[0]) (read where the tensors are: nothing comes back to the host)
//   logits = s·cosines;  lse_rows[i] = logsumexp_j logits[i,j];  lse_cols[j] = logsumexp_i logits[i,j]
//   loss = (Σ_i (lse_rows[i] − logits[i,i]) + Σ_j (lse_cols[j] − logits[j,j])) / 2N
//   requires: cosines [N, N] with N ≥ 1; logit_scale, loss one value each; lse_rows, lse_cols [N];
//             logits [N, N], which may alias cosines (scaled in place).
//   ensures:  logsumexp taken around the maximum (any logit_scale that keeps s·cosines finite);
//             on a GPU the same bits on every run.
template <class B, class T>
void clip_loss(B, const TensorOn<T, B>& cosines, const TensorOn<T, B>& logit_scale, TensorOn<T, B>& logits,
               TensorOn<T, B>& lse_rows, TensorOn<T, B>& lse_cols, TensorOn<T, B>& loss) {
    detail::check_clip_loss_square("clip_loss", cosines, logit_scale);
    const std::int64_t n = cosines.size(0);
    detail::check_same("clip_loss", "cosines and logits", cosines, logits);
    detail::check_clip_loss_vector("clip_loss", "lse_rows", lse_rows, n);
    detail::check_clip_loss_vector("clip_loss", "lse_cols", lse_cols, n);
    CONTRA_CHECK(loss.numel() == 1, "clip_loss: loss ", loss.shape(), " is not one value");
    Kernels<B>::clip_loss(cosines, logit_scale, logits, lse_rows, lse_cols, loss);
}

// clip_loss_backward: with g = dloss[0] / 2N and s = exp(logit_scale[0]) (read on the device),
//   dlogits[i,j]  = g·(exp(logits[i,j] − lse_rows[i]) + exp(logits[i,j] − lse_cols[j]) − 2·[i = j])
//   dcosines      = s·dlogits
//   dlogit_scale  = Σ_ij dlogits[i,j]·logits[i,j]      (∂logits/∂logit_scale = logits)
//   requires: logits, lse_rows, lse_cols as clip_loss left them; dloss, dlogit_scale one value each;
//             dcosines [N, N]. Both outputs overwritten.
//   ensures:  on a GPU the same bits on every run.
template <class B, class T>
void clip_loss_backward(B, const TensorOn<T, B>& logits, const TensorOn<T, B>& lse_rows, const TensorOn<T, B>& lse_cols,
                        const TensorOn<T, B>& logit_scale, const TensorOn<T, B>& dloss, TensorOn<T, B>& dcosines,
                        TensorOn<T, B>& dlogit_scale) {
    detail::check_clip_loss_square("clip_loss_backward", logits, logit_scale);
    const std::int64_t n = logits.size(0);
    detail::check_same("clip_loss_backward", "logits and dcosines", logits, dcosines);
    detail::check_clip_loss_vector("clip_loss_backward", "lse_rows", lse_rows, n);
    detail::check_clip_loss_vector("clip_loss_backward", "lse_cols", lse_cols, n);
    CONTRA_CHECK(dloss.numel() == 1 && dlogit_scale.numel() == 1, "clip_loss_backward: dloss ", dloss.shape(),
                 " and dlogit_scale ", dlogit_scale.shape(), " must be one value each");
    Kernels<B>::clip_loss_backward(logits, lse_rows, lse_cols, logit_scale, dloss, dcosines, dlogit_scale);
}

// ─── convolution ──────────────────────────────────────────────────────────────────────────────

inline std::int64_t conv2d_out_extent(std::int64_t in, std::int64_t kernel, Conv2dShape s) {
    return (in + 2 * s.padding - kernel) / s.stride + 1;
}

namespace detail {
template <class X, class Wt, class Y>
void check_conv2d(const char* op, const X& x, const Wt& w, Conv2dShape s, const Y& y) {
    CONTRA_CHECK(x.rank() == 4 && w.rank() == 4 && y.rank() == 4 && s.stride > 0 && s.padding >= 0, op,
                 ": needs x [N,C,H,W], w [O,C,KH,KW], y [N,O,Ho,Wo]; got ", x.shape(), ", ", w.shape(), ", ", y.shape());
    CONTRA_CHECK(x.size(1) == w.size(1) && x.size(2) + 2 * s.padding >= w.size(2) && x.size(3) + 2 * s.padding >= w.size(3),
                 op, ": input ", x.shape(), " does not fit kernel ", w.shape());
    check_shape(op, "output", y,
                Shape{x.size(0), w.size(0), conv2d_out_extent(x.size(2), w.size(2), s),
                      conv2d_out_extent(x.size(3), w.size(3), s)});
}
}  // namespace detail

// conv2d: y[n,o,i,j] = Σ_{c,u,v} w[o,c,u,v] · x[n, c, i·stride+u−pad, j·stride+v−pad] (zero padding).
template <class B, class T>
void conv2d(B, const TensorOn<T, B>& x, const TensorOn<T, B>& w, Conv2dShape s, TensorOn<T, B>& y) {
    detail::check_conv2d("conv2d", x, w, s, y);
    Kernels<B>::conv2d(x, w, s, y);
}

// conv2d_backward_data: dx = the adjoint of conv2d in x applied to dy (overwrites dx).
template <class B, class T>
void conv2d_backward_data(B, const TensorOn<T, B>& dy, const TensorOn<T, B>& w, Conv2dShape s, TensorOn<T, B>& dx) {
    detail::check_conv2d("conv2d_backward_data", dx, w, s, dy);
    Kernels<B>::conv2d_backward_data(dy, w, s, dx);
}

// conv2d_backward_weight: dw = the adjoint of conv2d in w applied to dy (overwrites dw).
template <class B, class T>
void conv2d_backward_weight(B, const TensorOn<T, B>& dy, const TensorOn<T, B>& x, Conv2dShape s, TensorOn<T, B>& dw) {
    detail::check_conv2d("conv2d_backward_weight", x, dw, s, dy);
    Kernels<B>::conv2d_backward_weight(dy, x, s, dw);
}

// ─── batch normalisation (NCHW, statistics per channel over N, H, W) ───────────────────────────

namespace detail {
template <class X, class P>
void check_channel_vector(const char* op, const char* what, const X& x, const P& p) {
    CONTRA_CHECK(p.numel() == x.size(1), op, ": ", what, " ", p.shape(), " needs ", x.size(1), " elements (one per channel of ",
                 x.shape(), ")");
}
template <class X>
void check_nchw(const char* op, const X& x) {
    CONTRA_CHECK(x.rank() == 4 && x.size(0) * x.size(2) * x.size(3) > 0, op, ": needs a non-empty x [N,C,H,W], got ",
                 x.shape());
}
}  // namespace detail

// batch_norm2d_statistics: mean[c] and the biased variance var[c] of x [N,C,H,W] over N, H and W
// (two-pass, so channels with a large mean keep their precision).
template <class B, class T>
void batch_norm2d_statistics(B, const TensorOn<T, B>& x, TensorOn<T, B>& mean, TensorOn<T, B>& var) {
    detail::check_nchw("batch_norm2d_statistics", x);
    detail::check_channel_vector("batch_norm2d_statistics", "mean", x, mean);
    detail::check_channel_vector("batch_norm2d_statistics", "var", x, var);
    Kernels<B>::batch_norm2d_statistics(x, mean, var);
}

// batch_norm2d: y = (x − mean[c]) · rstd[c] · gamma[c] + beta[c] with rstd = 1/sqrt(var + eps), for
// x [N,C,H,W]; mean/var are the batch's (training) or the running statistics (evaluation).
// rstd [C] is written for the backward pass. y may not alias x.
template <class B, class T>
void batch_norm2d(B, const TensorOn<T, B>& x, const TensorOn<T, B>& gamma, const TensorOn<T, B>& beta,
                  const TensorOn<T, B>& mean, const TensorOn<T, B>& var, double eps, TensorOn<T, B>& y, TensorOn<T, B>& rstd) {
    detail::check_nchw("batch_norm2d", x);
    detail::check_same("batch_norm2d", "input and output", x, y);
    for (const auto* p : {&gamma, &beta, &mean, &var, static_cast<const TensorOn<T, B>*>(&rstd)})
        detail::check_channel_vector("batch_norm2d", "a per-channel tensor", x, *p);
    Kernels<B>::batch_norm2d(x, gamma, beta, mean, var, eps, y, rstd);
}

// batch_norm2d_backward: dgamma = Σ dy·x̂, dbeta = Σ dy (sums over N, H, W; x̂ = (x − mean)·rstd) and
//   batch statistics (training):  dx = gamma·rstd·(dy − avg(dy) − x̂·avg(dy·x̂))   (averages per channel)
//   fixed statistics (evaluation): dx = gamma·rstd·dy
// (all three overwritten).
template <class B, class T>
void batch_norm2d_backward(B, const TensorOn<T, B>& x, const TensorOn<T, B>& gamma, const TensorOn<T, B>& mean,
                           const TensorOn<T, B>& rstd, const TensorOn<T, B>& dy, bool batch_statistics, TensorOn<T, B>& dx,
                           TensorOn<T, B>& dgamma, TensorOn<T, B>& dbeta) {
    detail::check_nchw("batch_norm2d_backward", x);
    detail::check_same("batch_norm2d_backward", "x and dy", x, dy);
    detail::check_same("batch_norm2d_backward", "x and dx", x, dx);
    for (const auto* p : {&gamma, &mean, &rstd, static_cast<const TensorOn<T, B>*>(&dgamma),
                          static_cast<const TensorOn<T, B>*>(&dbeta)})
        detail::check_channel_vector("batch_norm2d_backward", "a per-channel tensor", x, *p);
    Kernels<B>::batch_norm2d_backward(x, gamma, mean, rstd, dy, batch_statistics, dx, dgamma, dbeta);
}

// ─── pooling ──────────────────────────────────────────────────────────────────────────────────

// avg_pool2d: y[n,c,i,j] = the mean of the k×k window x[n, c, i·k .. i·k+k−1, j·k .. j·k+k−1]
// (kernel = stride = k, no padding) for x [N,C,H,W] → y [N, C, H/k, W/k] (floor: trailing rows or
// columns that fill no window are dropped, as PyTorch's AvgPool2d(k)).
template <class B, class T>
void avg_pool2d(B, const TensorOn<T, B>& x, int k, TensorOn<T, B>& y) {
    CONTRA_CHECK(x.rank() == 4 && k > 0 && x.size(2) >= k && x.size(3) >= k, "avg_pool2d: x ", x.shape(),
                 " cannot be pooled with a ", k, "x", k, " window");
    detail::check_shape("avg_pool2d", "output", y, Shape{x.size(0), x.size(1), x.size(2) / k, x.size(3) / k});
    Kernels<B>::avg_pool2d(x, k, y);
}

// avg_pool2d_backward: dx = the adjoint of avg_pool2d applied to dy: each element of a window gets
// dy/k², dropped rows and columns get 0 (overwrites dx).
template <class B, class T>
void avg_pool2d_backward(B, const TensorOn<T, B>& dy, int k, TensorOn<T, B>& dx) {
    CONTRA_CHECK(dx.rank() == 4 && k > 0 && dx.size(2) >= k && dx.size(3) >= k, "avg_pool2d_backward: dx ", dx.shape(),
                 " cannot be pooled with a ", k, "x", k, " window");
    detail::check_shape("avg_pool2d_backward", "dy", dy, Shape{dx.size(0), dx.size(1), dx.size(2) / k, dx.size(3) / k});
    Kernels<B>::avg_pool2d_backward(dy, k, dx);
}

}  // namespace contra::ops

#include "ops_optim.hpp"  // the optimizer primitives, the rest of the contract
