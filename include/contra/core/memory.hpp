// contra/core/memory.hpp — raw memory per device and the Storage block a tensor points into.
// defines: contra::memory_resource<Device>, contra::Storage<Device>, kAlignment
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "config.hpp"
#include "device.hpp"

namespace contra {

inline constexpr std::size_t kAlignment = 64;  // one cache line; also enough for 512-bit vectors

constexpr std::size_t round_up(std::size_t bytes, std::size_t to = kAlignment) { return (bytes + to - 1) / to * to; }

// memory_resource<D>: allocate/deallocate/copy/zero raw bytes on device D.
// The host one is here; the CUDA one (a caching allocator) is defined in backend/cuda/memory.cuh.
template <class D> struct memory_resource;

template <> struct memory_resource<cpu> {
    static void* allocate(std::size_t bytes) {
        if (bytes == 0) return nullptr;
        void* p = std::aligned_alloc(kAlignment, round_up(bytes));
        if (!p) throw std::bad_alloc();
        return p;
    }
    static void deallocate(void* p, std::size_t) { std::free(p); }
    static void zero(void* p, std::size_t bytes) {
        if (bytes) std::memset(p, 0, bytes);
    }
    static void copy_within(void* dst, const void* src, std::size_t bytes) {
        if (bytes) std::memmove(dst, src, bytes);
    }
};

template <> struct memory_resource<cuda> {
    static void* allocate(std::size_t bytes);
    static void deallocate(void* p, std::size_t bytes);
    static void zero(void* p, std::size_t bytes);
    static void copy_within(void* dst, const void* src, std::size_t bytes);
    static void copy_to_host(void* dst, const void* src, std::size_t bytes);
    static void copy_from_host(void* dst, const void* src, std::size_t bytes);
};

// Storage: one block of memory on device D and the rule for giving it back. Tensors share a
// Storage through shared_ptr; views point into it at an offset. A block handed out by an Arena
// records the arena's generation: touching it after the arena was reset is an Error.
template <class D>
class Storage {
public:
    using Release = void (*)(void* owner, void* data, std::size_t bytes, std::uint64_t generation);

    // Heap block: freed by memory_resource<D> when the last tensor lets go.
    explicit Storage(std::size_t bytes) : data_(memory_resource<D>::allocate(bytes)), bytes_(bytes) {}
    // Borrowed block (from an arena, or external memory): `release` is called on destruction.
    Storage(void* data, std::size_t bytes, Release release, std::shared_ptr<void> owner,
            const std::uint64_t* live_generation, std::uint64_t generation)
        : data_(data), bytes_(bytes), release_(release), owner_(std::move(owner)),
          live_generation_(live_generation), generation_(generation) {}
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    ~Storage() {
        if (release_) release_(owner_.get(), data_, bytes_, generation_);
        else if (!owner_) memory_resource<D>::deallocate(data_, bytes_);
    }

    void* data() const {
        CONTRA_CHECK(alive(), "tensor used after the arena it was allocated from was reset "
                              "(keep results past a step by cloning them)");
        return data_;
    }
    std::size_t bytes() const { return bytes_; }
    bool alive() const { return !live_generation_ || *live_generation_ == generation_; }
    bool from_arena() const { return live_generation_ != nullptr; }

private:
    void* data_ = nullptr;
    std::size_t bytes_ = 0;
    Release release_ = nullptr;
    std::shared_ptr<void> owner_;
    const std::uint64_t* live_generation_ = nullptr;
    std::uint64_t generation_ = 0;
};

}  // namespace contra
