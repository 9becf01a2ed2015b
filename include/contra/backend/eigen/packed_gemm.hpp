// contra/backend/eigen/packed_gemm.hpp — the cpu backend's float GEMM: BLIS's loop nest.
//
//   for each NC-wide column block of C, for each KC-deep slice of the inner dimension:
//     pack op(B)[KC, NC] into NR-wide panels (shared by the team of threads);
//     for each tile (an MC-row block of C × a group of panels), on some thread:
//       pack op(A)[MC, KC] into MR-tall panels (that thread's own buffer);
//       for every MR×NR block: the micro-kernel, an MR×NR register tile of FMAs over KC.
//
// Packing makes every operand layout (plain or transposed, any strides) look the same to the
// micro-kernel, zero-pads the ragged edges, and keeps the panels in L1/L2 while they are reused.
// The micro-kernel is written once over GCC vector types of `Lanes` floats; Gemm<8, 6> (AVX2)
// and Gemm<16, 8> (AVX-512) are the configurations used. Either runs, more slowly, on any x86
// build, so tests check both on one machine.
// defines: contra::eig::packed::Gemm, contra::eig::packed::StridedMatrix, kPackedGemm, sgemm
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../../core/parallel.hpp"

namespace contra::eig::packed {

using std::int64_t;

// A read-only matrix with arbitrary strides: element (i, j) is data[i·row_stride + j·col_stride].
struct StridedMatrix {
    const float* data;
    int64_t row_stride, col_stride;
    float at(int64_t i, int64_t j) const { return data[i * row_stride + j * col_stride]; }
};

namespace detail {

// GCC vector types of 8 and 16 floats (an alias template would drop the attribute).
template <int Lanes> struct VecOf;
template <> struct VecOf<8> { typedef float type __attribute__((vector_size(32))); };
template <> struct VecOf<16> { typedef float type __attribute__((vector_size(64))); };
template <int Lanes> using Vec = typename VecOf<Lanes>::type;

template <int Lanes>
inline Vec<Lanes> fmadd(Vec<Lanes> a, Vec<Lanes> b, Vec<Lanes> c) {
#if defined(__AVX512F__)
    if constexpr (Lanes == 16) return Vec<Lanes>(_mm512_fmadd_ps(__m512(a), __m512(b), __m512(c)));
#endif
#if defined(__FMA__)
    if constexpr (Lanes == 8) return Vec<Lanes>(_mm256_fmadd_ps(__m256(a), __m256(b), __m256(c)));
#endif
    return a * b + c;
}
template <int Lanes>
inline Vec<Lanes> broadcast(const float* p) {  // every lane = *p, as one vbroadcastss
#if defined(__AVX512F__)
    if constexpr (Lanes == 16) return Vec<Lanes>(_mm512_set1_ps(*p));
#endif
#if defined(__AVX__)
    if constexpr (Lanes == 8) return Vec<Lanes>(_mm256_broadcast_ss(p));
#endif
    return Vec<Lanes>{} + *p;
}
template <int Lanes>
inline Vec<Lanes> load_unaligned(const float* p) {
    Vec<Lanes> v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <int Lanes>
inline void store_unaligned(float* p, Vec<Lanes> v) {
    std::memcpy(p, &v, sizeof v);
}

// A growable 64-byte-aligned scratch buffer, one per thread and role.
struct Scratch {
    float* data = nullptr;
    std::size_t capacity = 0;
    float* reserve(std::size_t floats) {
        if (floats > capacity) {
            std::free(data);
            capacity = (floats + 15) / 16 * 16;
            data = static_cast<float*>(std::aligned_alloc(64, capacity * sizeof(float)));
            if (!data) throw std::bad_alloc();
        }
        return data;
    }
    ~Scratch() { std::free(data); }
};

}  // namespace detail

// Gemm<Lanes, MR>: C[M,N] = alpha · A[M,K] · B[K,N] + beta · C (+ bias[j] on every row when a bias
// is given: the linear layer's epilogue), A and B strided, C row-major with leading dimension ldc.
//   requires: C does not overlap A or B.
//   ensures:  beta = 0 never reads C (NaN-safe); the result does not depend on the thread count
//             (every element is one thread's sum over K in the same order).
template <int Lanes, int MR>
struct Gemm {
    using V = detail::Vec<Lanes>;
    static constexpr int NR = 2 * Lanes;          // the register tile is MR × 2 vectors
    static constexpr int64_t KC = 256;            // depth of a packed slice: an A and a B panel stay in L1
    static constexpr int64_t MC = MR * (Lanes == 8 ? 24 : 16);  // rows of a packed A block (L2)
    static constexpr int64_t NC = NR * 128;       // columns of a packed B block (L3)

    static void run(int64_t m, int64_t n, int64_t k, float alpha, StridedMatrix a, StridedMatrix b, float beta,
                    float* c, int64_t ldc, const float* bias = nullptr) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0 || alpha == 0.f) return scale(m, n, beta, c, ldc, bias);
        const int threads = team_size(m, n, k);
        const int64_t mc = block_rows(m, threads);
        static thread_local detail::Scratch b_scratch;
        float* bpack = b_scratch.reserve(std::size_t(KC) * std::size_t(std::min<int64_t>(NC, round_up(n, NR))));
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
        {
#if defined(_OPENMP)
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
            const int t = 0, nt = 1;
#endif
            static thread_local detail::Scratch a_scratch;
            float* apack = a_scratch.reserve(std::size_t(MC) * std::size_t(KC));
            for (int64_t jc = 0; jc < n; jc += NC) {
                const int64_t nc = std::min(NC, n - jc), panels = (nc + NR - 1) / NR;
                for (int64_t pc = 0; pc < k; pc += KC) {
                    const int64_t kc = std::min(KC, k - pc);
                    const float beta_here = pc == 0 ? beta : 1.f;
                    const float* bias_here = pc == 0 ? bias : nullptr;  // added once, with the first slice
                    for (int64_t p = t; p < panels; p += nt) pack_b(b, pc, kc, jc + p * NR, n, bpack + p * NR * kc);
#if defined(_OPENMP)
#pragma omp barrier
#endif
                    const int64_t row_blocks = (m + mc - 1) / mc;
                    const int64_t groups = nt == 1 ? 1 : std::clamp<int64_t>((4 * nt + row_blocks - 1) / row_blocks, 1, panels);
                    const int64_t tiles = row_blocks * groups;
                    int64_t packed_block = -1;
                    for (int64_t tile = tiles * t / nt; tile < tiles * (t + 1) / nt; ++tile) {
                        const int64_t block = tile / groups, group = tile % groups;
                        const int64_t i0 = block * mc, rows = std::min(mc, m - i0);
                        if (block != packed_block) {
                            pack_a(a, i0, rows, pc, kc, apack);
                            packed_block = block;
                        }
                        for (int64_t p = panels * group / groups; p < panels * (group + 1) / groups; ++p) {
                            const int64_t j0 = jc + p * NR;
                            const int cols = int(std::min<int64_t>(NR, n - j0));
                            for (int64_t ip = 0; ip * MR < rows; ++ip) {
                                const int64_t r0 = i0 + ip * MR;
                                micro_kernel(kc, apack + ip * MR * kc, bpack + p * NR * kc, c + r0 * ldc + j0, ldc, alpha,
                                             beta_here, bias_here ? bias_here + j0 : nullptr,
                                             int(std::min<int64_t>(MR, m - r0)), cols);
                            }
                        }
                    }
#if defined(_OPENMP)
#pragma omp barrier
#endif
                }
            }
        }
    }

    // The register tile: C[mr, nr] = alpha · Σ_k a[k, :] ⊗ b[k, :] + beta · C (+ bias[j]), with a
    // packed MR-tall panel (a[k·MR + i]) and a packed NR-wide panel (b[k·NR + j]).
    static void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* __restrict c,
                             int64_t ldc, float alpha, float beta, const float* bias, int mr, int nr) {
        V lo[MR], hi[MR];
        for (int i = 0; i < MR; ++i) lo[i] = hi[i] = V{};
#if !defined(__CUDACC__)  // nvcc's front end does not know GCC's pragma (the host compiler would)
#pragma GCC unroll 4
#endif
        for (int64_t p = 0; p < kc; ++p) {
            const V b0 = *reinterpret_cast<const V*>(b), b1 = *reinterpret_cast<const V*>(b + Lanes);
            for (int i = 0; i < MR; ++i) {
                const V x = detail::broadcast<Lanes>(a + i);
                lo[i] = detail::fmadd<Lanes>(x, b0, lo[i]);
                hi[i] = detail::fmadd<Lanes>(x, b1, hi[i]);
            }
            a += MR;
            b += NR;
        }
        if (mr == MR && nr == NR) {
            const V bias0 = bias ? detail::load_unaligned<Lanes>(bias) : V{};
            const V bias1 = bias ? detail::load_unaligned<Lanes>(bias + Lanes) : V{};
            for (int i = 0; i < MR; ++i) {
                float* row = c + i * ldc;
                V r0 = lo[i] * alpha, r1 = hi[i] * alpha;
                if (bias) {
                    r0 += bias0;
                    r1 += bias1;
                }
                if (beta != 0.f) {
                    r0 += detail::load_unaligned<Lanes>(row) * beta;
                    r1 += detail::load_unaligned<Lanes>(row + Lanes) * beta;
                }
                detail::store_unaligned<Lanes>(row, r0);
                detail::store_unaligned<Lanes>(row + Lanes, r1);
            }
            return;
        }
        alignas(64) float tile[MR * NR];
        for (int i = 0; i < MR; ++i) {
            detail::store_unaligned<Lanes>(tile + i * NR, lo[i] * alpha);
            detail::store_unaligned<Lanes>(tile + i * NR + Lanes, hi[i] * alpha);
        }
        for (int i = 0; i < mr; ++i)
            for (int j = 0; j < nr; ++j) {
                float& out = c[i * ldc + j];
                const float value = bias ? tile[i * NR + j] + bias[j] : tile[i * NR + j];
                out = beta != 0.f ? value + beta * out : value;
            }
    }

private:
    static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

    static void scale(int64_t m, int64_t n, float beta, float* c, int64_t ldc, const float* bias) {
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                float& out = c[i * ldc + j];
                out = (beta == 0.f ? 0.f : beta * out) + (bias ? bias[j] : 0.f);
            }
    }

    // Threads for this product: none nested inside another parallel region, and only as many as
    // the work keeps busy (about 64k multiply-adds per thread at least).
    static int team_size(int64_t m, int64_t n, int64_t k) {
#if defined(_OPENMP)
        if (omp_in_parallel()) return 1;
        const int64_t work = m * n * k / 65536;
        return int(std::clamp<int64_t>(work, 1, num_threads()));
#else
        (void)m, (void)n, (void)k;
        return 1;
#endif
    }

    // Rows per A block: MC, or fewer (a multiple of MR) so that every thread has rows to work on.
    static int64_t block_rows(int64_t m, int threads) {
        const int64_t share = round_up((m + threads - 1) / threads, MR);
        return std::clamp<int64_t>(share, MR, MC);
    }

    // bpack[p·NR + j] = B(pc + p, j0 + j) for p < kc, zero for the columns past n.
    static void pack_b(StridedMatrix b, int64_t pc, int64_t kc, int64_t j0, int64_t n, float* __restrict dst) {
        const int cols = int(std::min<int64_t>(NR, n - j0));
        if (b.col_stride == 1) {
            for (int64_t p = 0; p < kc; ++p) {
                const float* src = b.data + (pc + p) * b.row_stride + j0;
                std::memcpy(dst + p * NR, src, sizeof(float) * std::size_t(cols));
                std::fill(dst + p * NR + cols, dst + (p + 1) * NR, 0.f);
            }
            return;
        }
        for (int j = 0; j < NR; ++j) {
            if (j >= cols) {
                for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = 0.f;
                continue;
            }
            const float* src = b.data + pc * b.row_stride + (j0 + j) * b.col_stride;
            for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = src[p * b.row_stride];
        }
    }

    // apack[(ip·kc + p)·MR + i] = A(i0 + ip·MR + i, pc + p), zero for the rows past the block.
    static void pack_a(StridedMatrix a, int64_t i0, int64_t rows, int64_t pc, int64_t kc, float* __restrict apack) {
        for (int64_t ip = 0; ip * MR < rows; ++ip) {
            float* __restrict dst = apack + ip * MR * kc;
            const int mr = int(std::min<int64_t>(MR, rows - ip * MR));
            const float* base = a.data + (i0 + ip * MR) * a.row_stride + pc * a.col_stride;
            if (a.row_stride == 1 && mr == MR) {  // op(A) is a transposed row-major matrix: rows are contiguous here
                for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * MR, base + p * a.col_stride, sizeof(float) * MR);
                continue;
            }
            if (mr == MR && a.col_stride == 1) {
                const float* src[MR];
                for (int i = 0; i < MR; ++i) src[i] = base + i * a.row_stride;
                for (int64_t p = 0; p < kc; ++p)
                    for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i][p];
                continue;
            }
            for (int64_t p = 0; p < kc; ++p)
                for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < mr ? base[i * a.row_stride + p * a.col_stride] : 0.f;
        }
    }
};

// The configuration this build runs: AVX-512 or AVX2+FMA; on other machines the cpu backend
// keeps Eigen's GEMM (kPackedGemm is false).
#if defined(__AVX512F__)
inline constexpr bool kPackedGemm = true;
using NativeGemm = Gemm<16, 8>;
#elif defined(__AVX2__) && defined(__FMA__)
inline constexpr bool kPackedGemm = true;
using NativeGemm = Gemm<8, 6>;
#else
inline constexpr bool kPackedGemm = false;
using NativeGemm = Gemm<8, 6>;
#endif

// sgemm: C = alpha · op(A) · op(B) + beta · C for row-major A, B, C (op = transpose when the flag
// is set): A is [m,k] (or [k,m] transposed), B is [k,n] (or [n,k]), C is [m,n].
// With a bias [n], every row of C also gets bias added (once).
inline void sgemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  const float* b, float beta, float* c, const float* bias = nullptr) {
    const StridedMatrix A = transpose_a ? StridedMatrix{a, 1, m} : StridedMatrix{a, k, 1};
    const StridedMatrix B = transpose_b ? StridedMatrix{b, 1, k} : StridedMatrix{b, n, 1};
    NativeGemm::run(m, n, k, alpha, A, B, beta, c, n, bias);
}

}  // namespace contra::eig::packed
