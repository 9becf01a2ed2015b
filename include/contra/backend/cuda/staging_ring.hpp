// contra/backend/cuda/staging_ring.hpp — where host→device copies wait in page-locked memory.
// A copy from ordinary (pageable) host memory cannot be queued behind the device's work: the
// driver makes the host wait. So memory_resource<cuda>::copy_from_host first copies the host
// bytes into a fixed page-locked buffer, queues the DMA from there, and returns at once. The
// buffer is used as a ring; a span stays in flight until a fence recorded after its DMA has
// passed, and a new span that would overlap one in flight first waits for it, oldest first.
// This file holds only that bookkeeping, in plain C++ (no CUDA), so the CPU tests can run it.
// defines: cu::StagingRing
#pragma once
#include <cstddef>
#include <deque>
#include <utility>

#include "../../core/error.hpp"

namespace contra::cu {

// StagingRing<Fence>: placement of copies in a ring of `capacity` bytes. Fence is what marks a
// queued copy's completion (a CUDA event); the caller's wait(fence) blocks until it has passed.
template <class Fence>
class StagingRing {
public:
    static constexpr std::size_t kAlign = 256;  // every span starts on a 256-byte boundary

    // requires: capacity > 0 and a multiple of kAlign
    explicit StagingRing(std::size_t capacity) : capacity_(capacity) {
        CONTRA_CHECK(capacity > 0 && capacity % kAlign == 0, "StagingRing: capacity ", capacity,
                     " must be a positive multiple of ", kAlign);
    }

    std::size_t capacity() const { return capacity_; }
    std::size_t in_flight() const { return spans_.size(); }

    // place(bytes, wait): the offset of a span of `bytes` that no copy in flight uses. Spans in
    // flight that overlap it are waited for (wait(fence), oldest first) and retired; retired
    // fences are handed to recycle(fence) for reuse.
    //   requires: 0 < bytes ≤ capacity()
    //   ensures: the span [offset, offset + bytes) lies inside the ring and overlaps no span in flight
    template <class Wait, class Recycle>
    std::size_t place(std::size_t bytes, Wait&& wait, Recycle&& recycle) {
        CONTRA_CHECK(bytes > 0 && bytes <= capacity_, "StagingRing: a span of ", bytes, " bytes in a ring of ",
                     capacity_);
        const std::size_t offset = head_ + bytes <= capacity_ ? head_ : 0;  // no span wraps around the end
        while (overlaps_any(offset, bytes)) {
            wait(spans_.front().fence);
            recycle(std::move(spans_.front().fence));
            spans_.pop_front();
        }
        head_ = round_up(offset + bytes);
        return offset;
    }

    // queued(offset, bytes, fence): the copy out of the span placed at `offset` is queued, and
    // `fence` passes when it is done.
    void queued(std::size_t offset, std::size_t bytes, Fence fence) {
        spans_.push_back({offset, bytes, std::move(fence)});
    }

    // drain(wait, recycle): waits for every copy in flight (oldest first) and retires it.
    template <class Wait, class Recycle>
    void drain(Wait&& wait, Recycle&& recycle) {
        while (!spans_.empty()) {
            wait(spans_.front().fence);
            recycle(std::move(spans_.front().fence));
            spans_.pop_front();
        }
    }

private:
    struct Span {
        std::size_t offset, bytes;
        Fence fence;
    };
    static std::size_t round_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
    bool overlaps_any(std::size_t offset, std::size_t bytes) const {
        for (const Span& s : spans_)
            if (offset < s.offset + s.bytes && s.offset < offset + bytes) return true;
        return false;
    }

    std::size_t capacity_;
    std::size_t head_ = 0;  // where the next span starts if it fits before the end
    std::deque<Span> spans_;  // in flight, oldest first
};

}  // namespace contra::cu
