// Device tensors: copies between host and device, the caching allocator, the device arena.
#include "gpu.cuh"

#include <cstring>

using namespace contra;
using test::have_gpu;
using test::rand;

namespace {
template <class T>
bool same_bits(const Tensor<T, cpu>& a, const Tensor<T, cpu>& b) {
    return a.numel() == b.numel() && std::memcmp(a.data(), b.data(), a.bytes()) == 0;
}
}  // namespace

TEST_CASE("a CUDA device is there") {
    if (!have_gpu()) return;
    CHECK(cu::device_count() > 0);
    CHECK(cu::cuda_available());
}

TEST_CASE_TEMPLATE("device tensors: host → device → host keeps every bit", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    const auto host = rand<T>(Shape{37, 19}, 1);

    const Tensor<T, cuda> dev = to_device<cuda>(host);
    CHECK(dev.shape() == host.shape());
    CHECK(same_bits(to_device<cpu>(dev), host));

    // copy() into a tensor of another shape with the same element count; to_vector()
    auto reshaped = Tensor<T, cuda>::empty(Shape{19, 37});
    copy(host, reshaped);
    const std::vector<T> values = reshaped.to_vector();
    CHECK(std::memcmp(values.data(), host.data(), host.bytes()) == 0);

    // device → device: clone() copies, views share, rows() starts at its offset
    const auto cloned = dev.clone();
    CHECK_FALSE(cloned.shares_storage_with(dev));
    CHECK(same_bits(to_device<cpu>(cloned), host));
    const auto middle = dev.rows(3, 5);
    CHECK(middle.shares_storage_with(dev));
    CHECK(same_bits(to_device<cpu>(middle), host.rows(3, 5).clone()));

    const auto zeros = Tensor<T, cuda>::zeros(Shape{4, 5});
    CHECK(same_bits(to_device<cpu>(zeros), Tensor<T, cpu>::zeros(Shape{4, 5})));
    CHECK(float(to_device<cuda>(Tensor<T, cpu>::full(Shape{1}, T(2.5f))).item()) == 2.5f);

    const auto none = Tensor<T, cuda>::empty(Shape{0, 3});  // no elements: no memory, copies are no-ops
    CHECK(to_device<cpu>(none).numel() == 0);
}

TEST_CASE("caching allocator: size classes") {
    using A = cu::CachingAllocator;  // pure arithmetic: runs with or without a GPU
    CHECK(A::size_class(1) == 512);
    CHECK(A::size_class(512) == 512);
    CHECK(A::size_class(513) == 1024);
    CHECK(A::size_class(4000) == 4096);
    CHECK(A::size_class(4097) == 4608);
    CHECK(A::size_class(std::size_t(1) << 20) == std::size_t(1) << 20);
    CHECK(A::size_class((std::size_t(1) << 20) + 1) == (std::size_t(1) << 20) + (std::size_t(1) << 17));
    for (std::size_t bytes : {std::size_t(3), std::size_t(70000), std::size_t(123456789)}) {
        CHECK(A::size_class(bytes) >= bytes);
        CHECK(A::size_class(bytes) <= std::max(bytes + bytes / 8, std::size_t(512)));
    }
}

TEST_CASE("caching allocator: a freed block is reused on its stream, empty_cache gives it back") {
    if (!have_gpu()) return;
    cu::empty_cache();
    const cu::MemoryStats start = cu::memory_stats();
    const std::size_t block = cu::CachingAllocator::size_class(1000 * sizeof(float));

    void* first = nullptr;
    {
        auto t = Tensor<float, cuda>::empty(Shape{1000});
        first = t.data();
        const auto s = cu::memory_stats();
        CHECK(s.bytes_in_use == start.bytes_in_use + block);
        CHECK(s.bytes_reserved == start.bytes_reserved + block);
        CHECK(s.device_allocations == start.device_allocations + 1);
        CHECK(s.peak_bytes_in_use >= s.bytes_in_use);
    }
    const cu::MemoryStats freed = cu::memory_stats();
    CHECK(freed.bytes_in_use == start.bytes_in_use);
    CHECK(freed.bytes_reserved == start.bytes_reserved + block);  // cached, not returned

    {
        auto t = Tensor<float, cuda>::empty(Shape{999});  // another size, the same class
        CHECK(t.data() == first);
        const auto s = cu::memory_stats();
        CHECK(s.cache_hits == freed.cache_hits + 1);
        CHECK(s.device_allocations == freed.device_allocations);
    }
    {
        cu::Stream stream;
        cu::StreamGuard on(stream.get());
        auto t = Tensor<float, cuda>::empty(Shape{1000});  // another stream: not that block
        CHECK(t.data() != first);
        t.zero_();
        stream.synchronize();
    }

    cu::empty_cache();
    const cu::MemoryStats emptied = cu::memory_stats();
    CHECK(emptied.bytes_reserved == emptied.bytes_in_use);
    CHECK(emptied.bytes_in_use == start.bytes_in_use);
}

TEST_CASE("device arena: a tape's step tensors live in device memory until reset") {
    if (!have_gpu()) return;
    Tape tape;
    Tensor<float, cuda> t;
    {
        Tape::Active recording(tape);
        t = step_tensor<float, cuda>(Shape{64, 33});
        ops::fill(cuda{}, 1.5f, t);
        const auto host = to_device<cpu>(t);
        CHECK(host[0] == 1.5f);
        CHECK(host[host.numel() - 1] == 1.5f);
        CHECK(t.storage()->from_arena());
    }
    tape.reset();
    CHECK_THROWS_WITH_AS(t.data(), doctest::Contains("after the arena it was allocated from was reset"), Error);
}

TEST_CASE("host → device copies are staged: the host buffer is reused at once, and each copy keeps its place in the stream") {
    if (!have_gpu()) return;
    // Copies from one host buffer that is rewritten after each call, of sizes from one element to
    // more than the staging ring holds (chunked, wrapping around it several times).
    const std::int64_t sizes[] = {1, 1000, 65536 + 3, (std::int64_t(40) << 20) / 4, 7, 3 << 20};
    std::vector<Tensor<float, cuda>> copies;
    auto host = Tensor<float, cpu>::empty(Shape{sizes[3]});
    for (int i = 0; i < 18; ++i) {
        const std::int64_t n = sizes[i % 6];
        for (std::int64_t k = 0; k < n; ++k) host[k] = float(i) + float(k % 1000) * 1e-3f;
        copies.push_back(Tensor<float, cuda>::empty(Shape{n}));
        memory_resource<cuda>::copy_from_host(copies.back().data(), host.data(), std::size_t(n) * sizeof(float));
    }
    for (int i = 0; i < 18; ++i) {
        const auto back = to_device<cpu>(copies[std::size_t(i)]);
        bool all = true;
        for (std::int64_t k = 0; k < back.numel(); ++k) all = all && back[k] == float(i) + float(k % 1000) * 1e-3f;
        CHECK_MESSAGE(all, "copy ", i, " of ", back.numel(), " values");
    }
    // Stream order: a fill queued before the copy runs before it; one queued after runs after it.
    auto t = Tensor<float, cuda>::empty(Shape{1 << 16});
    const auto twos = Tensor<float, cpu>::full(Shape{1 << 16}, 2.0f);
    ops::fill(cuda{}, 1.0f, t);
    memory_resource<cuda>::copy_from_host(t.data(), twos.data(), twos.bytes());
    CHECK(to_device<cpu>(t)[12345] == 2.0f);
    memory_resource<cuda>::copy_from_host(t.data(), twos.data(), twos.bytes());
    ops::fill(cuda{}, 3.0f, t);
    CHECK(to_device<cpu>(t)[(1 << 16) - 1] == 3.0f);
}
