// Arena semantics: bump allocation, reuse of given-back blocks, reset, use-after-reset errors.
#include <doctest/doctest.h>

#include <contra/contra.hpp>

using namespace contra;

TEST_CASE("arena: blocks are aligned and distinct") {
    Arena<cpu> arena;
    auto a = Tensor<float>::empty(Shape{3}, arena);
    auto b = Tensor<float>::empty(Shape{5}, arena);
    CHECK(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
    CHECK(a.data() != b.data());
}

TEST_CASE("arena: a block given back is reused by the next request of its size") {
    Arena<cpu> arena;
    float* first = nullptr;
    {
        auto a = Tensor<float>::empty(Shape{100}, arena);
        first = a.data();
    }
    auto b = Tensor<float>::empty(Shape{100}, arena);
    CHECK(b.data() == first);
    auto c = Tensor<float>::empty(Shape{100}, arena);
    CHECK(c.data() != first);
}

TEST_CASE("arena: reset invalidates tensors and merges chunks") {
    Arena<cpu> arena(1024);
    auto t = Tensor<float>::empty(Shape{4}, arena);
    auto big = Tensor<float>::empty(Shape{1 << 20}, arena);  // forces a second chunk
    CHECK(arena.capacity_bytes() > 1024);
    const auto capacity = arena.capacity_bytes();
    arena.reset();
    CHECK_THROWS_WITH_AS(t.data(), doctest::Contains("after the arena it was allocated from was reset"), Error);
    CHECK(arena.capacity_bytes() == capacity);  // now one chunk of the total size
    auto again = Tensor<float>::empty(Shape{1 << 20}, arena);
    auto small = Tensor<float>::empty(Shape{4}, arena);
    CHECK(arena.capacity_bytes() == capacity);  // the next step fits without allocating
    CHECK(arena.peak_bytes() >= (std::size_t(1) << 22));
}

TEST_CASE("arena: the tape allocates step tensors from its arena, the heap otherwise") {
    auto heap = step_tensor<float, cpu>(Shape{8});
    CHECK_FALSE(heap.storage()->from_arena());
    Tape tape;
    {
        Tape::Active active(tape);
        auto stepped = step_tensor<float, cpu>(Shape{8});
        CHECK(stepped.storage()->from_arena());
        tape.reset();
        CHECK_THROWS_AS(stepped.data(), Error);
    }
}
