// contra/backend/eigen/layout.hpp — transposes, head permutes, concat/split, gather/scatter,
// patch extraction: memory movement in contiguous runs.
#pragma once
#include <cstring>

#include "../reference/layout.hpp"
#include "common.hpp"

namespace contra::eig {

struct Layout {
    template <class T>
    static void transpose(int64_t batch, int64_t m, int64_t n, const HTensor<T>& x, HTensor<T>& out) {
        const T* px = x.data();
        T* po = out.data();
        for_chunks(batch, m * n, [&](int64_t l0, int64_t l1) {
            for (int64_t l = l0; l < l1; ++l)
                Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(po + l * m * n, n, m) =
                    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(px + l * m * n, m, n)
                        .transpose();
        });
    }
    template <class T>
    static void permute_0213(const HTensor<T>& x, HTensor<T>& out) {
        const int64_t A = x.size(0), Bn = x.size(1), C = x.size(2), D = x.size(3);
        const T* px = x.data();
        T* po = out.data();
        for_chunks(A * Bn, C * D, [&](int64_t i0, int64_t i1) {
            for (int64_t ab = i0; ab < i1; ++ab) {
                const int64_t a = ab / Bn, b = ab % Bn;
                for (int64_t c = 0; c < C; ++c)
                    std::memcpy(po + ((a * C + c) * Bn + b) * D, px + ((a * Bn + b) * C + c) * D, sizeof(T) * D);
            }
        });
    }
    template <class T>
    static void concat_cols(const HTensor<T>& a, const HTensor<T>& b, HTensor<T>& out) {
        const int64_t rows = a.size(0), ca = a.size(1), cb = b.size(1);
        for_chunks(rows, ca + cb, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                std::memcpy(out.data() + r * (ca + cb), a.data() + r * ca, sizeof(T) * ca);
                std::memcpy(out.data() + r * (ca + cb) + ca, b.data() + r * cb, sizeof(T) * cb);
            }
        });
    }
    template <class T>
    static void split_cols(const HTensor<T>& x, HTensor<T>& a, HTensor<T>& b) {
        const int64_t rows = a.size(0), ca = a.size(1), cb = b.size(1);
        for_chunks(rows, ca + cb, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                std::memcpy(a.data() + r * ca, x.data() + r * (ca + cb), sizeof(T) * ca);
                std::memcpy(b.data() + r * cb, x.data() + r * (ca + cb) + ca, sizeof(T) * cb);
            }
        });
    }
    template <class T>
    static void gather_rows(const HTensor<T>& table, const HTensor<ops::Index>& index, HTensor<T>& out) {
        ref::Layout::check_indices(index, table.size(0), "gather_rows");
        const int64_t w = table.size(1);
        for_chunks(index.numel(), w, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i)
                std::memcpy(out.data() + i * w, table.data() + int64_t(index.data()[i]) * w, sizeof(T) * w);
        });
    }
    template <class T>
    static void scatter_add_rows(const HTensor<T>& src, const HTensor<ops::Index>& index, HTensor<T>& table) {
        ref::Layout::check_indices(index, table.size(0), "scatter_add_rows");
        const int64_t w = table.size(1);
        // Split the columns (not the rows) over threads: repeated indices never race.
        for_chunks(w, index.numel(), [&](int64_t c0, int64_t c1) {
            for (int64_t i = 0; i < index.numel(); ++i) {
                T* dst = table.data() + int64_t(index.data()[i]) * w;
                const T* s = src.data() + i * w;
                for (int64_t c = c0; c < c1; ++c) dst[c] += s[c];
            }
        });
    }
    // Copies P-long pixel runs between the image and the patch matrix, in either direction.
    template <bool ToPatches, class T>
    static void move_patches(T* img, T* patches, const Shape& s, int p) {
        const int64_t N = s[0], C = s[1], H = s[2], W = s[3], gh = H / p, gw = W / p, k = C * p * p;
        for_chunks(N * gh, gw * k, [&](int64_t i0, int64_t i1) {
            for (int64_t ni = i0; ni < i1; ++ni) {
                const int64_t n = ni / gh, py = ni % gh;
                for (int64_t px = 0; px < gw; ++px)
                    for (int64_t c = 0; c < C; ++c)
                        for (int64_t y = 0; y < p; ++y) {
                            T* run_patch = patches + ((n * gh + py) * gw + px) * k + (c * p + y) * p;
                            T* run_img = img + ((n * C + c) * H + py * p + y) * W + px * p;
                            if constexpr (ToPatches) std::memcpy(run_patch, run_img, sizeof(T) * p);
                            else std::memcpy(run_img, run_patch, sizeof(T) * p);
                        }
            }
        });
    }
    template <class T>
    static void im2patch(const HTensor<T>& img, int p, HTensor<T>& out) {
        move_patches<true>(const_cast<T*>(img.data()), out.data(), img.shape(), p);
    }
    template <class T>
    static void patch2im(const HTensor<T>& patches, int p, HTensor<T>& img) {
        move_patches<false>(img.data(), const_cast<T*>(patches.data()), img.shape(), p);
    }
};

}  // namespace contra::eig
