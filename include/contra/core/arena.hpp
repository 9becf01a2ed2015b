// contra/core/arena.hpp — per-step memory for saved activations and temporaries.
// defines: contra::Arena<Device>
#pragma once
#include <algorithm>
#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

#include "memory.hpp"

namespace contra {

// Arena<D>: bump allocation in large chunks, plus exact-size reuse of blocks given back during
// the step (gradients die in backward and their blocks serve later gradients of the same size).
// reset() invalidates everything handed out (Storage checks this) and, when the step needed more
// than one chunk, replaces them by one chunk of the total size, so a steady training loop does no
// allocation at all after its first step.
//   requires: used from one thread at a time.
template <class D>
class Arena {
public:
    explicit Arena(std::size_t initial_bytes = 0) : core_(std::make_shared<Core>()) {
        if (initial_bytes) core_->add_chunk(initial_bytes);
    }

    std::shared_ptr<Storage<D>> allocate(std::size_t bytes) {
        bytes = std::max<std::size_t>(round_up(bytes), kAlignment);
        Core& c = *core_;
        void* block = nullptr;
        if (auto it = c.free_blocks.find(bytes); it != c.free_blocks.end() && !it->second.empty()) {
            block = it->second.back();
            it->second.pop_back();
        } else {
            if (c.chunks.empty() || c.offset + bytes > c.chunks.back().bytes)
                c.add_chunk(std::max(bytes, c.chunks.empty() ? std::size_t(1) << 20 : c.chunks.back().bytes * 2));
            block = static_cast<char*>(c.chunks.back().data) + c.offset;
            c.offset += bytes;
        }
        c.in_use += bytes;
        c.peak = std::max(c.peak, c.in_use);
        return std::make_shared<Storage<D>>(block, bytes, &Core::give_back, core_, &c.generation, c.generation);
    }

    // Everything allocated so far becomes invalid.
    void reset() {
        Core& c = *core_;
        ++c.generation;
        c.free_blocks.clear();
        c.in_use = 0;
        c.offset = 0;
        if (c.chunks.size() > 1) {
            std::size_t total = 0;
            for (auto& chunk : c.chunks) total += chunk.bytes;
            c.release_chunks();
            c.add_chunk(total);
            c.offset = 0;
        }
    }

    std::size_t peak_bytes() const { return core_->peak; }
    std::size_t capacity_bytes() const {
        std::size_t total = 0;
        for (auto& chunk : core_->chunks) total += chunk.bytes;
        return total;
    }

private:
    struct Chunk {
        void* data;
        std::size_t bytes;
    };
    struct Core {
        std::vector<Chunk> chunks;
        std::size_t offset = 0;  // into chunks.back()
        std::unordered_map<std::size_t, std::vector<void*>> free_blocks;
        std::uint64_t generation = 1;
        std::size_t in_use = 0, peak = 0;

        void add_chunk(std::size_t bytes) {
            chunks.push_back({memory_resource<D>::allocate(bytes), bytes});
            offset = 0;
        }
        void release_chunks() {
            for (auto& chunk : chunks) memory_resource<D>::deallocate(chunk.data, chunk.bytes);
            chunks.clear();
        }
        ~Core() { release_chunks(); }

        // Called by Storage when its last tensor lets go. Blocks of an earlier generation were
        // already reclaimed by reset().
        static void give_back(void* owner, void* data, std::size_t bytes, std::uint64_t generation) {
            auto* core = static_cast<Core*>(owner);
            if (generation != core->generation) return;
            core->free_blocks[bytes].push_back(data);
            core->in_use -= bytes;
        }
    };
    std::shared_ptr<Core> core_;
};

}  // namespace contra
