// contra/backend/cuda/layout.cuh — transpose, permute_0213, concat/split, gather/scatter of rows,
// im2patch/patch2im; the device-side index check that gather, scatter and cross-entropy share.
// defines: contra::cu::Layout (the layout part of Kernels<cuda>), cu::find_bad_index
//
// Index checks. The contract checks every row index and target. gather_rows and scatter_add_rows
// (a training step's token embeddings and end rows) check on the device and record a fault that
// the next wait raises (faults.cuh): no synchronisation; a bad row reads and writes nothing out of
// range. cross_entropy(_backward) checks with one small kernel and a 16-byte copy back: one
// synchronisation per call.
//
// scatter_add_rows without atomics: the (index, position) pairs are sorted by index with a stable
// radix sort (4 bits a pass: per-tile digit counts, one scan, a stable scatter per tile), then
// one thread per (run of equal indices, column) adds that run's source rows, in position order,
// onto the table row: the same order on every run, and the reference's. (CUB would do the sort,
// but its headers declare a namespace `cuda`, which collides with contra::cuda in code that says
// `using namespace contra`.)
#pragma once

#include "../ops.hpp"
#include "common.cuh"
#include "context.cuh"
#include "faults.cuh"
#include "memory.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// first[0] = the smallest position i with index[i] outside [0, limit) (untouched when none).
template <class I>
__global__ void find_bad_index_kernel(Index64 n, const I* index, Index64 limit, unsigned long long* first) {
    for (Index64 i = first_index(); i < n; i += grid_stride())
        if (index[i] < 0 || index[i] >= limit) atomicMin(first, (unsigned long long)i);
}

// The value found at `first` (if any) next to it, for the error message.
template <class I>
__global__ void bad_index_value_kernel(Index64 n, const I* index, unsigned long long* first) {
    if (first[0] < (unsigned long long)n) first[1] = (unsigned long long)(long long)index[first[0]];
}

// out[l, j, i] = x[l, i, j] for x [batch, m, n]: 32×32 tiles through shared memory, block (32, 8).
template <class T>
__global__ void transpose_kernel(Index64 batch, Index64 m, Index64 n, const T* x, T* out) {
    __shared__ T tile[32][33];
    const Index64 tiles_m = ceil_div(m, 32), tiles_n = ceil_div(n, 32), tiles = batch * tiles_m * tiles_n;
    for (Index64 t = blockIdx.x; t < tiles; t += gridDim.x) {
        const Index64 l = t / (tiles_m * tiles_n), rest = t - l * tiles_m * tiles_n;
        const Index64 i0 = (rest / tiles_n) * 32, j0 = (rest % tiles_n) * 32;
        const T* xl = x + l * m * n;
        T* ol = out + l * m * n;
        for (int k = threadIdx.y; k < 32; k += 8) {
            const Index64 i = i0 + k, j = j0 + threadIdx.x;
            if (i < m && j < n) tile[k][threadIdx.x] = xl[i * n + j];
        }
        __syncthreads();
        for (int k = threadIdx.y; k < 32; k += 8) {
            const Index64 j = j0 + k, i = i0 + threadIdx.x;
            if (i < m && j < n) ol[j * m + i] = tile[threadIdx.x][k];
        }
        __syncthreads();
    }
}

// out[a, c, b, d] = x[a, b, c, d], one thread per output element.
template <class T>
__global__ void permute_0213_kernel(Index64 total, Index64 nb, Index64 nc, Index64 nd, const T* x, T* out) {
    for (Index64 o = first_index(); o < total; o += grid_stride()) {
        const Index64 d = o % nd, rest = o / nd;
        const Index64 b = rest % nb, rest2 = rest / nb;
        const Index64 c = rest2 % nc, a = rest2 / nc;
        out[o] = x[((a * nb + b) * nc + c) * nd + d];
    }
}

// out [rows, ca+cb] = [a | b].
template <class T>
__global__ void concat_cols_kernel(Index64 rows, Index64 ca, Index64 cb, const T* a, const T* b, T* out) {
    const Index64 cols = ca + cb;
    for (Index64 o = first_index(); o < rows * cols; o += grid_stride()) {
        const Index64 r = o / cols, c = o - r * cols;
        out[o] = c < ca ? a[r * ca + c] : b[r * cb + (c - ca)];
    }
}

// a = x[:, :ca], b = x[:, ca:].
template <class T>
__global__ void split_cols_kernel(Index64 rows, Index64 ca, Index64 cb, const T* x, T* a, T* b) {
    const Index64 cols = ca + cb;
    for (Index64 o = first_index(); o < rows * cols; o += grid_stride()) {
        const Index64 r = o / cols, c = o - r * cols;
        if (c < ca) a[r * ca + c] = x[o];
        else b[r * cb + (c - ca)] = x[o];
    }
}

// out[i, c] = table[index[i], c]; 0 for an index outside [0, rows) (find_bad_index reports it).
template <class T>
__global__ void gather_rows_kernel(Index64 n, Index64 width, const T* table, Index64 rows, const ops::Index* index,
                                   T* out) {
    for (Index64 o = first_index(); o < n * width; o += grid_stride()) {
        const Index64 i = o / width, c = o - i * width, row = Index64(index[i]);
        out[o] = row >= 0 && row < rows ? table[row * width + c] : T(0.0f);
    }
}

// The fault at `first` (if any) into the process's fault record (faults.cuh), for the next wait.
template <class I>
__global__ void record_bad_index_kernel(Index64 n, const I* index, const unsigned long long* first, FaultKind kind,
                                        Index64 limit, FaultSink sink) {
    if (first[0] < (unsigned long long)n) record_fault(sink, kind, (long long)first[0], (long long)index[first[0]], limit);
}

template <class I>
__global__ void iota_kernel(Index64 n, I* out) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) out[i] = I(i);
}

inline constexpr int kSortBits = 4, kSortDigits = 1 << kSortBits, kSortPerThread = 4;
inline constexpr Index64 kSortTile = Index64(kBlock) * kSortPerThread;  // elements per block and pass

// counts[d · tiles + b] = how many keys of tile b have digit d (bits shift … shift+3).
template <class I>
__global__ void digit_counts_kernel(Index64 n, const I* keys, int shift, Index64 tiles, Index64* counts) {
    __shared__ int tile_counts[kSortDigits];
    if (threadIdx.x < kSortDigits) tile_counts[threadIdx.x] = 0;
    __syncthreads();
    const Index64 begin = Index64(blockIdx.x) * kSortTile, end = std::min(n, begin + kSortTile);
    for (Index64 e = begin + threadIdx.x; e < end; e += blockDim.x)
        atomicAdd(&tile_counts[(keys[e] >> shift) & (kSortDigits - 1)], 1);
    __syncthreads();
    if (threadIdx.x < kSortDigits) counts[Index64(threadIdx.x) * tiles + blockIdx.x] = tile_counts[threadIdx.x];
}

// data[0..m) ← its exclusive prefix sums; one block.
template <class C>
__global__ void exclusive_scan_kernel(Index64 m, C* data) {
    __shared__ C sums[kBlock];
    const Index64 chunk = ceil_div(m, blockDim.x), begin = threadIdx.x * chunk, end = std::min(m, begin + chunk);
    C local = 0;
    for (Index64 i = begin; i < end; ++i) local += data[i];
    sums[threadIdx.x] = local;
    __syncthreads();
    for (unsigned step = 1; step < blockDim.x; step *= 2) {
        const C add = threadIdx.x >= step ? sums[threadIdx.x - step] : C(0);
        __syncthreads();
        sums[threadIdx.x] += add;
        __syncthreads();
    }
    C running = sums[threadIdx.x] - local;
    for (Index64 i = begin; i < end; ++i) {
        const C v = data[i];
        data[i] = running;
        running += v;
    }
}

// One stable pass: each thread owns kSortPerThread consecutive keys of its block's tile; a key
// goes to offsets[d · tiles + b] + (keys of digit d before it in the tile).
template <class I, class P>
__global__ void digit_scatter_kernel(Index64 n, const I* keys, const P* values, int shift, Index64 tiles,
                                     const Index64* offsets, I* keys_out, P* values_out) {
    __shared__ int before[kSortDigits][kBlock + 1];  // [digit][thread]: keys of that digit in earlier threads
    const int t = threadIdx.x;
    const Index64 begin = Index64(blockIdx.x) * kSortTile + Index64(t) * kSortPerThread;
    const Index64 end = std::min(n, begin + kSortPerThread);
    for (int d = 0; d < kSortDigits; ++d) before[d][t] = 0;
    for (Index64 e = begin; e < end; ++e) ++before[(keys[e] >> shift) & (kSortDigits - 1)][t];
    __syncthreads();
    if (t < kSortDigits) {
        int running = 0;
        for (int k = 0; k < int(blockDim.x); ++k) {
            const int c = before[t][k];
            before[t][k] = running;
            running += c;
        }
    }
    __syncthreads();
    for (Index64 e = begin; e < end; ++e) {
        const int d = (keys[e] >> shift) & (kSortDigits - 1);
        const Index64 to = offsets[Index64(d) * tiles + blockIdx.x] + before[d][t]++;
        keys_out[to] = keys[e];
        values_out[to] = values[e];
    }
}

// With keys sorted (stable) and positions permuted alike: the thread of (j, c) where a run of
// equal keys starts adds src[position, c] over the run, in order, onto table[key, c].
template <class T>
__global__ void scatter_runs_kernel(Index64 n, Index64 width, const ops::Index* keys, const ops::Index* positions,
                                    const T* src, Index64 rows, T* table) {
    using A = acc_t<T>;
    for (Index64 o = first_index(); o < n * width; o += grid_stride()) {
        const Index64 j = o / width, c = o - j * width;
        const ops::Index key = keys[j];
        if ((j > 0 && keys[j - 1] == key) || key < 0 || Index64(key) >= rows) continue;  // a bad key: reported, skipped
        T* dst = table + Index64(key) * width + c;
        A s = A(*dst);
        for (Index64 k = j; k < n && keys[k] == key; ++k) s += A(src[Index64(positions[k]) * width + c]);
        *dst = T(s);
    }
}

// Patch element (n, py, px, (ch, y, x)) ↔ pixel (n, ch, py·P + y, px·P + x).
struct PatchGeometry {
    Index64 N, C, H, W, P;
    __device__ Index64 pixel_of(Index64 pi) const {
        const Index64 k = C * P * P, gw = W / P, gh = H / P;
        const Index64 inner = pi % k, patch = pi / k;
        const Index64 px = patch % gw, py = (patch / gw) % gh, n = patch / (gw * gh);
        const Index64 x = inner % P, y = (inner / P) % P, ch = inner / (P * P);
        return ((n * C + ch) * H + py * P + y) * W + px * P + x;
    }
    __device__ Index64 patch_of(Index64 xi) const {
        const Index64 k = C * P * P, gw = W / P, gh = H / P;
        const Index64 col = xi % W, row = (xi / W) % H, ch = (xi / (W * H)) % C, n = xi / (W * H * C);
        const Index64 py = row / P, y = row % P, px = col / P, x = col % P;
        return ((n * gh + py) * gw + px) * k + (ch * P + y) * P + x;
    }
};

template <class T>
__global__ void im2patch_kernel(Index64 total, PatchGeometry g, const T* img, T* out) {
    for (Index64 pi = first_index(); pi < total; pi += grid_stride()) out[pi] = img[g.pixel_of(pi)];
}

template <class T>
__global__ void patch2im_kernel(Index64 total, PatchGeometry g, const T* patches, T* img) {
    for (Index64 xi = first_index(); xi < total; xi += grid_stride()) img[xi] = patches[g.patch_of(xi)];
}

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

struct BadIndex {
    bool found = false;
    Index64 position = 0;
    long long value = 0;
};

// find_bad_index(n, index, limit): the first index outside [0, limit), if any (synchronises).
inline BadIndex find_bad_index(cudaStream_t stream, Index64 n, const ops::Index* index, Index64 limit) {
    if (n == 0) return {};
    auto first = scratch<unsigned long long>(2);  // [position, value]
    CONTRA_CUDA_CHECK(cudaMemsetAsync(first.data(), 0xff, 2 * sizeof(unsigned long long), stream));
    find_bad_index_kernel<<<grid_for(n), kBlock, 0, stream>>>(n, index, limit, first.data());
    CONTRA_CUDA_CHECK_LAUNCH();
    bad_index_value_kernel<<<1, 1, 0, stream>>>(n, index, first.data());
    CONTRA_CUDA_CHECK_LAUNCH();
    unsigned long long host[2] = {0, 0};
    memory_resource<cuda>::copy_to_host(host, first.data(), sizeof(host));
    if (host[0] >= (unsigned long long)n) return {};
    return {true, Index64(host[0]), (long long)host[1]};
}

// check_rows(stream, kind, n, index, limit): an index outside [0, limit) is an Error. Queued where
// the device can record faults (raised at the next wait, faults.cuh); checked at once otherwise.
inline void check_rows(cudaStream_t stream, FaultKind kind, Index64 n, const ops::Index* index, Index64 limit) {
    if (n == 0) return;
    if (const FaultSink* sink = device_fault()) {
        auto first = scratch<unsigned long long>(1);
        CONTRA_CUDA_CHECK(cudaMemsetAsync(first.data(), 0xff, sizeof(unsigned long long), stream));
        find_bad_index_kernel<<<grid_for(n), kBlock, 0, stream>>>(n, index, limit, first.data());
        CONTRA_CUDA_CHECK_LAUNCH();
        record_bad_index_kernel<<<1, 1, 0, stream>>>(n, index, first.data(), kind, limit, *sink);
        CONTRA_CUDA_CHECK_LAUNCH();
        return;
    }
    const BadIndex bad = find_bad_index(stream, n, index, limit);
    CONTRA_CHECK(!bad.found, fault_name(kind), ": index ", bad.value, " at position ", bad.position, " is outside [0, ",
                 limit, ")");
}

template <class T>
void launch_transpose(cudaStream_t stream, Index64 batch, Index64 m, Index64 n, const T* x, T* out) {
    const Index64 tiles = batch * ceil_div(m, 32) * ceil_div(n, 32);
    if (tiles == 0) return;
    const unsigned blocks = unsigned(std::min<Index64>(tiles, Index64(1) << 20));
    transpose_kernel<T><<<blocks, dim3(32, 8), 0, stream>>>(batch, m, n, x, out);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// sort_pairs(n, keys, keys_out, values_out, key_limit): keys_out = keys [n] sorted (stable),
// values_out = the positions 0 … n−1 permuted alike.
//   requires: 0 ≤ keys[i] < key_limit.
inline void sort_pairs(cudaStream_t stream, Index64 n, const ops::Index* keys, Index64 key_limit, ops::Index* keys_out,
                       ops::Index* values_out) {
    int bits = 1;
    while (bits < 31 && (Index64(1) << bits) < key_limit) ++bits;
    const int passes = int(ceil_div(bits, kSortBits));
    const Index64 tiles = ceil_div(n, kSortTile);
    auto offsets = scratch<Index64>(tiles * kSortDigits);  // [digit, tile]
    auto key_buffer = scratch<ops::Index>(n), value_buffer = scratch<ops::Index>(n), positions = scratch<ops::Index>(n);
    iota_kernel<<<grid_for(n), kBlock, 0, stream>>>(n, positions.data());
    CONTRA_CUDA_CHECK_LAUNCH();
    // Ping-pong so that the last pass writes into keys_out / values_out.
    const ops::Index* from_keys = keys;
    const ops::Index* from_values = positions.data();
    for (int pass = 0; pass < passes; ++pass) {
        const bool last_into_out = (passes - 1 - pass) % 2 == 0;
        ops::Index* to_keys = last_into_out ? keys_out : key_buffer.data();
        ops::Index* to_values = last_into_out ? values_out : value_buffer.data();
        const int shift = pass * kSortBits;
        digit_counts_kernel<<<unsigned(tiles), kBlock, 0, stream>>>(n, from_keys, shift, tiles, offsets.data());
        CONTRA_CUDA_CHECK_LAUNCH();
        exclusive_scan_kernel<<<1, kBlock, 0, stream>>>(tiles * kSortDigits, offsets.data());
        CONTRA_CUDA_CHECK_LAUNCH();
        digit_scatter_kernel<<<unsigned(tiles), kBlock, 0, stream>>>(n, from_keys, from_values, shift, tiles,
                                                                    offsets.data(), to_keys, to_values);
        CONTRA_CUDA_CHECK_LAUNCH();
        from_keys = to_keys;
        from_values = to_values;
    }
}

template <class T>
void launch_scatter_add_rows(cudaStream_t stream, Index64 n, Index64 width, const T* src, const ops::Index* index,
                             Index64 table_rows, T* table) {
    if (n == 0 || width == 0) return;
    auto keys = scratch<ops::Index>(n), positions = scratch<ops::Index>(n);
    sort_pairs(stream, n, index, table_rows, keys.data(), positions.data());
    scatter_runs_kernel<T><<<grid_for(n * width), kBlock, 0, stream>>>(n, width, keys.data(), positions.data(), src,
                                                                       table_rows, table);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: layout ────────────────────────────────────────────────────────────────────

struct Layout {
    template <class T>
    static void transpose(Index64 batch, Index64 m, Index64 n, const Tensor<T, cuda>& x, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        launch_transpose(current_stream(), batch, m, n, x.data(), out.data());
    }
    template <class T>
    static void permute_0213(const Tensor<T, cuda>& x, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        const Index64 total = x.numel();
        if (total == 0) return;
        permute_0213_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(total, x.size(1), x.size(2), x.size(3),
                                                                                  x.data(), out.data());
        CONTRA_CUDA_CHECK_LAUNCH();
    }
    template <class T>
    static void concat_cols(const Tensor<T, cuda>& a, const Tensor<T, cuda>& b, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        const Index64 rows = a.size(0), ca = a.size(1), cb = b.size(1);
        if (rows * (ca + cb) == 0) return;
        concat_cols_kernel<T><<<grid_for(rows * (ca + cb)), kBlock, 0, current_stream()>>>(rows, ca, cb, a.data(), b.data(),
                                                                                            out.data());
        CONTRA_CUDA_CHECK_LAUNCH();
    }
    template <class T>
    static void split_cols(const Tensor<T, cuda>& x, Tensor<T, cuda>& a, Tensor<T, cuda>& b) {
        require_cuda_type<T>();
        const Index64 rows = a.size(0), ca = a.size(1), cb = b.size(1);
        if (rows * (ca + cb) == 0) return;
        split_cols_kernel<T><<<grid_for(rows * (ca + cb)), kBlock, 0, current_stream()>>>(rows, ca, cb, x.data(), a.data(),
                                                                                           b.data());
        CONTRA_CUDA_CHECK_LAUNCH();
    }
    template <class T>
    static void gather_rows(const Tensor<T, cuda>& table, const Tensor<ops::Index, cuda>& index, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        const Index64 n = index.numel(), width = table.size(1);
        check_rows(current_stream(), FaultKind::gather_rows, n, index.data(), table.size(0));
        if (n * width == 0) return;
        gather_rows_kernel<T><<<grid_for(n * width), kBlock, 0, current_stream()>>>(n, width, table.data(), table.size(0),
                                                                                     index.data(), out.data());
        CONTRA_CUDA_CHECK_LAUNCH();
    }
    template <class T>
    static void scatter_add_rows(const Tensor<T, cuda>& src, const Tensor<ops::Index, cuda>& index, Tensor<T, cuda>& table) {
        require_cuda_type<T>();
        const Index64 n = index.numel();
        check_rows(current_stream(), FaultKind::scatter_add_rows, n, index.data(), table.size(0));
        launch_scatter_add_rows(current_stream(), n, table.size(1), src.data(), index.data(), table.size(0), table.data());
    }
    template <class T>
    static void im2patch(const Tensor<T, cuda>& img, int patch, Tensor<T, cuda>& out) {
        require_cuda_type<T>();
        const Index64 total = out.numel();
        if (total == 0) return;
        const PatchGeometry g{img.size(0), img.size(1), img.size(2), img.size(3), patch};
        im2patch_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(total, g, img.data(), out.data());
        CONTRA_CUDA_CHECK_LAUNCH();
    }
    template <class T>
    static void patch2im(const Tensor<T, cuda>& patches, int patch, Tensor<T, cuda>& img) {
        require_cuda_type<T>();
        const Index64 total = img.numel();
        if (total == 0) return;
        const PatchGeometry g{img.size(0), img.size(1), img.size(2), img.size(3), patch};
        patch2im_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(total, g, patches.data(), img.data());
        CONTRA_CUDA_CHECK_LAUNCH();
    }
};

}  // namespace contra::cu
