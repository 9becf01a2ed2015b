// contra/backend/cuda/memory.cuh — device memory: a caching allocator, and memory_resource<cuda>
// (declared in core/memory.hpp), through which Tensor<T, cuda> allocates, zeroes and copies.
// defines: contra::memory_resource<cuda> (its members), contra::cu::{CachingAllocator,
//          MemoryStats, memory_stats, empty_cache, scratch, device_copy, HostStaging}
//
// Why cache: cudaMalloc and cudaFree are slow (cudaFree waits for the whole device), and a
// training step frees and allocates the same sizes over and over. So a freed block is kept in a
// free list and handed out again for the next request of the same size class.
//
// Size classes: a request of 2^p to 2^(p+1) bytes is rounded up to a multiple of max(512, 2^p/8)
// bytes. Each power of two thus holds eight classes, and above 4 KiB no block is more than 12.5%
// larger than asked for.
//
// Streams: a block remembers the stream that was current when it was allocated, and is reused
// only for requests on that same stream. Work queued on that stream before the block was freed
// runs before any work queued after it was handed out again, so no event or synchronisation is
// needed. empty_cache() gives cached blocks back with cudaFree, which waits for the device.
#pragma once
#include <bit>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../../core/memory.hpp"
#include "common.cuh"
#include "context.cuh"
#include "staging_ring.hpp"

namespace contra::cu {

struct MemoryStats {
    std::size_t bytes_in_use = 0;          // held by live blocks (after rounding to size classes)
    std::size_t bytes_reserved = 0;        // obtained from cudaMalloc: in use plus cached
    std::size_t peak_bytes_in_use = 0;     // the most bytes_in_use has been
    std::uint64_t device_allocations = 0;  // cudaMalloc calls made
    std::uint64_t cache_hits = 0;          // requests served from a free list
};

class CachingAllocator {
public:
    // The one allocator of the process. Never destroyed: at exit the driver takes the memory
    // back, and a destructor running after the CUDA runtime shut down could only fail.
    static CachingAllocator& instance() {
        static CachingAllocator* allocator = new CachingAllocator;
        return *allocator;
    }

    // size_class(bytes): what a request of `bytes` is rounded up to.
    static std::size_t size_class(std::size_t bytes) {
        const std::size_t step = std::max<std::size_t>(512, std::bit_floor(bytes) / 8);
        return (bytes + step - 1) / step * step;
    }

    // A block of at least `bytes` for use on `stream`; nullptr for 0 bytes.
    void* allocate(std::size_t bytes, cudaStream_t stream) {
        if (bytes == 0) return nullptr;
        const std::size_t size = size_class(bytes);
        std::lock_guard lock(mutex_);
        void* block = take_cached(size, stream);
        if (block) {
            ++stats_.cache_hits;
        } else {
            block = device_malloc(size);
        }
        live_[block] = {size, stream};
        stats_.bytes_in_use += size;
        stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
        return block;
    }

    // Back to the free list of its size class and stream (the device memory stays reserved).
    void deallocate(void* block) {
        if (!block) return;
        std::lock_guard lock(mutex_);
        const auto it = live_.find(block);
        CONTRA_ASSERT(it != live_.end(), "freeing device memory that the caching allocator did not hand out");
        if (it == live_.end()) return;
        const Block info = it->second;
        live_.erase(it);
        free_[{key(info.stream), info.bytes}].push_back(block);
        stats_.bytes_in_use -= info.bytes;
    }

    // Every cached block goes back to the device (cudaFree). Blocks in use are untouched.
    void empty_cache() {
        std::lock_guard lock(mutex_);
        release_cached();
    }

    MemoryStats stats() const {
        std::lock_guard lock(mutex_);
        return stats_;
    }

private:
    struct Block {
        std::size_t bytes;
        cudaStream_t stream;
    };
    // Free lists, one per (stream, size class).
    using FreeKey = std::pair<std::uintptr_t, std::size_t>;
    static std::uintptr_t key(cudaStream_t stream) { return reinterpret_cast<std::uintptr_t>(stream); }

    CachingAllocator() = default;

    void* take_cached(std::size_t size, cudaStream_t stream) {
        const auto it = free_.find({key(stream), size});
        if (it == free_.end() || it->second.empty()) return nullptr;
        void* block = it->second.back();
        it->second.pop_back();
        return block;
    }

    // cudaMalloc; when the device is full, give the cache back and try once more.
    void* device_malloc(std::size_t size) {
        void* block = nullptr;
        cudaError_t status = cudaMalloc(&block, size);
        if (status == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();
            release_cached();
            status = cudaMalloc(&block, size);
        }
        if (status == cudaErrorMemoryAllocation) (void)cudaGetLastError();
        CONTRA_CHECK(status != cudaErrorMemoryAllocation, "out of device memory: cudaMalloc of ", size,
                     " bytes failed with ", stats_.bytes_in_use, " bytes in use by tensors and nothing cached");
        CONTRA_CUDA_CHECK(status);
        ++stats_.device_allocations;
        stats_.bytes_reserved += size;
        return block;
    }

    void release_cached() {
        for (auto& [k, blocks] : free_)
            for (void* block : blocks) {
                CONTRA_CUDA_CHECK(cudaFree(block));
                stats_.bytes_reserved -= k.second;
            }
        free_.clear();
    }

    mutable std::mutex mutex_;
    std::unordered_map<void*, Block> live_;
    std::map<FreeKey, std::vector<void*>> free_;
    MemoryStats stats_;
};

// memory_stats(): bytes in use and reserved, peak, cudaMalloc calls and cache hits so far.
inline MemoryStats memory_stats() { return CachingAllocator::instance().stats(); }

// empty_cache(): returns every cached (free) block to the device.
inline void empty_cache() { CachingAllocator::instance().empty_cache(); }

// scratch<V>(count): a launcher's temporary device array of `count` values (partial sums, sort
// buffers), from the caching allocator on the current stream. When the handle goes out of scope
// the block returns to that stream's free list; stream order makes its reuse safe.
template <class V>
Tensor<V, cuda> scratch(std::int64_t count) {
    return Tensor<V, cuda>::empty(Shape{count});
}

// device_copy(values): host values copied into a scratch device array (queued; `values` may be
// reused at once).
template <class V>
Tensor<V, cuda> device_copy(std::span<const V> values) {
    auto copy = scratch<V>(std::int64_t(values.size()));
    memory_resource<cuda>::copy_from_host(copy.data(), values.data(), values.size() * sizeof(V));
    return copy;
}

// HostStaging: host→device copies that do not make the host wait for the device. The bytes go
// into a page-locked ring (StagingRing, 32 MiB), in chunks of at most 8 MiB so that copying the
// next chunk on the host overlaps the DMA of the last; each chunk's DMA is queued on the current
// stream, behind the work already there, with an event after it. Only when the ring must reuse a
// span whose DMA has not run yet does the host wait, for that DMA alone. If page-locked memory
// cannot be had, copies fall back to waiting for the stream.
class HostStaging {
public:
    static constexpr std::size_t kCapacity = std::size_t(32) << 20;
    static constexpr std::size_t kChunk = std::size_t(8) << 20;

    // The one staging ring of the process; never destroyed (see CachingAllocator::instance).
    static HostStaging& instance() {
        static HostStaging* staging = new HostStaging;
        return *staging;
    }

    // copy(dst, src, bytes): queues dst ← src on `stream`; src may be reused when this returns.
    void copy(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
        std::lock_guard lock(mutex_);
        if (!buffer_) {
            CONTRA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
            CONTRA_CUDA_CHECK(cudaStreamSynchronize(stream));
            return;
        }
        auto* to = static_cast<std::byte*>(dst);
        const auto* from = static_cast<const std::byte*>(src);
        for (std::size_t done = 0; done < bytes;) {
            const std::size_t n = std::min(kChunk, bytes - done);
            const std::size_t at = ring_.place(n, wait, [this](cudaEvent_t e) { spare_.push_back(e); });
            std::memcpy(buffer_ + at, from + done, n);
            CONTRA_CUDA_CHECK(cudaMemcpyAsync(to + done, buffer_ + at, n, cudaMemcpyHostToDevice, stream));
            const cudaEvent_t fence = event();
            CONTRA_CUDA_CHECK(cudaEventRecord(fence, stream));
            ring_.queued(at, n, fence);
            done += n;
        }
    }

private:
    HostStaging() : ring_(kCapacity) {
        void* pinned = nullptr;
        if (cudaMallocHost(&pinned, kCapacity) == cudaSuccess) buffer_ = static_cast<std::byte*>(pinned);
        else (void)cudaGetLastError();
    }
    static void wait(cudaEvent_t e) { CONTRA_CUDA_CHECK(cudaEventSynchronize(e)); }
    cudaEvent_t event() {
        if (!spare_.empty()) {
            const cudaEvent_t e = spare_.back();
            spare_.pop_back();
            return e;
        }
        cudaEvent_t e = nullptr;
        CONTRA_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        return e;
    }

    std::mutex mutex_;
    std::byte* buffer_ = nullptr;  // page-locked, kCapacity bytes; null: copies wait instead
    StagingRing<cudaEvent_t> ring_;
    std::vector<cudaEvent_t> spare_;  // events whose copies are done, for reuse
};

}  // namespace contra::cu

namespace contra {

// ─── memory_resource<cuda>: what Tensor<T, cuda> and Arena<cuda> call ─────────────────────────
// Everything is queued on the current stream. A copy to the host waits until it is done, so the
// host buffer may be read at once (and raises a fault a kernel recorded, faults.cuh). A copy from the host is staged (HostStaging) and queued behind
// the stream's work without waiting for it; the host buffer may be reused or freed at once.

inline void* memory_resource<cuda>::allocate(std::size_t bytes) {
    return cu::CachingAllocator::instance().allocate(bytes, cu::current_stream());
}

inline void memory_resource<cuda>::deallocate(void* p, std::size_t) { cu::CachingAllocator::instance().deallocate(p); }

inline void memory_resource<cuda>::zero(void* p, std::size_t bytes) {
    if (bytes) CONTRA_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, cu::current_stream()));
}

inline void memory_resource<cuda>::copy_within(void* dst, const void* src, std::size_t bytes) {
    if (bytes) CONTRA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cu::current_stream()));
}

inline void memory_resource<cuda>::copy_to_host(void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    CONTRA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cu::current_stream()));
    cu::synchronize();
}

inline void memory_resource<cuda>::copy_from_host(void* dst, const void* src, std::size_t bytes) {
    if (bytes) cu::HostStaging::instance().copy(dst, src, bytes, cu::current_stream());
}

}  // namespace contra
