// contra/backend/reference/layout.hpp — transpose, head permutes, concat/split, gather/scatter,
// patch extraction.
#pragma once
#include "common.hpp"

namespace contra::ref {

struct Layout {
    template <class T>
    static void transpose(int64_t batch, int64_t m, int64_t n, const HTensor<T>& x, HTensor<T>& out) {
        for (int64_t l = 0; l < batch; ++l)
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j) out.data()[l * m * n + j * m + i] = x.data()[l * m * n + i * n + j];
    }
    template <class T>
    static void permute_0213(const HTensor<T>& x, HTensor<T>& out) {
        const int64_t A = x.size(0), Bn = x.size(1), C = x.size(2), D = x.size(3);
        for (int64_t a = 0; a < A; ++a)
            for (int64_t b = 0; b < Bn; ++b)
                for (int64_t c = 0; c < C; ++c)
                    for (int64_t d = 0; d < D; ++d)
                        out.data()[((a * C + c) * Bn + b) * D + d] = x.data()[((a * Bn + b) * C + c) * D + d];
    }
    template <class T>
    static void concat_cols(const HTensor<T>& a, const HTensor<T>& b, HTensor<T>& out) {
        const int64_t rows = a.size(0), ca = a.size(1), cb = b.size(1);
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < ca; ++c) out.data()[r * (ca + cb) + c] = a.data()[r * ca + c];
            for (int64_t c = 0; c < cb; ++c) out.data()[r * (ca + cb) + ca + c] = b.data()[r * cb + c];
        }
    }
    template <class T>
    static void split_cols(const HTensor<T>& x, HTensor<T>& a, HTensor<T>& b) {
        const int64_t rows = a.size(0), ca = a.size(1), cb = b.size(1);
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < ca; ++c) a.data()[r * ca + c] = x.data()[r * (ca + cb) + c];
            for (int64_t c = 0; c < cb; ++c) b.data()[r * cb + c] = x.data()[r * (ca + cb) + ca + c];
        }
    }
    static void check_indices(const HTensor<ops::Index>& index, int64_t limit, const char* op) {
        for (int64_t i = 0; i < index.numel(); ++i)
            CONTRA_CHECK(index.data()[i] >= 0 && index.data()[i] < limit, op, ": index ", index.data()[i], " at position ",
                         i, " is outside [0, ", limit, ")");
    }
    template <class T>
    static void gather_rows(const HTensor<T>& table, const HTensor<ops::Index>& index, HTensor<T>& out) {
        check_indices(index, table.size(0), "gather_rows");
        const int64_t w = table.size(1);
        for (int64_t i = 0; i < index.numel(); ++i)
            for (int64_t c = 0; c < w; ++c) out.data()[i * w + c] = table.data()[int64_t(index.data()[i]) * w + c];
    }
    template <class T>
    static void scatter_add_rows(const HTensor<T>& src, const HTensor<ops::Index>& index, HTensor<T>& table) {
        check_indices(index, table.size(0), "scatter_add_rows");
        const int64_t w = table.size(1);
        for (int64_t i = 0; i < index.numel(); ++i)
            for (int64_t c = 0; c < w; ++c) {
                T& t = table.data()[int64_t(index.data()[i]) * w + c];
                t = T(R(t) + R(src.data()[i * w + c]));
            }
    }
    // Element (n, patch, (c,y,x)) of the patch matrix ↔ pixel (n, c, py·P+y, px·P+x).
    template <class T, class F>
    static void for_each_patch_element(const HTensor<T>& img, int p, F&& f) {
        const int64_t N = img.size(0), C = img.size(1), H = img.size(2), W = img.size(3);
        const int64_t gh = H / p, gw = W / p, k = C * p * p;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t py = 0; py < gh; ++py)
                for (int64_t px = 0; px < gw; ++px)
                    for (int64_t c = 0; c < C; ++c)
                        for (int64_t y = 0; y < p; ++y)
                            for (int64_t x = 0; x < p; ++x) {
                                const int64_t patch_index = ((n * gh + py) * gw + px) * k + (c * p + y) * p + x;
                                const int64_t pixel_index = ((n * C + c) * H + py * p + y) * W + px * p + x;
                                f(patch_index, pixel_index);
                            }
    }
    template <class T>
    static void im2patch(const HTensor<T>& img, int p, HTensor<T>& out) {
        for_each_patch_element(img, p, [&](int64_t pi, int64_t xi) { out.data()[pi] = img.data()[xi]; });
    }
    template <class T>
    static void patch2im(const HTensor<T>& patches, int p, HTensor<T>& img) {
        for_each_patch_element(img, p, [&](int64_t pi, int64_t xi) { img.data()[xi] = patches.data()[pi]; });
    }
};

}  // namespace contra::ref
