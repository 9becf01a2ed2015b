// transpose, permute_0213, concat/split, gather/scatter of rows and patches on the GPU against the
// reference backend, in float, double and bf16; index checks (a fault raised at the next wait);
// scatter gives the same bits twice.
#include "gpu.cuh"

using namespace contra;
using test::agree;
using test::have_gpu;
using test::on;
using test::rand;

namespace {

// n indices in [0, limit), many repeated, the same on every machine.
Tensor<ops::Index, cpu> random_indices(std::int64_t n, std::int64_t limit, std::uint64_t seed) {
    auto index = Tensor<ops::Index, cpu>::empty(Shape{n});
    RandomStream rs{seed, 3};
    for (std::int64_t i = 0; i < n; ++i)
        index[i] = ops::Index(std::min<std::int64_t>(limit - 1, std::int64_t(rs.uniform(std::uint64_t(i)) * double(limit))));
    return index;
}

}  // namespace

TEST_CASE_TEMPLATE("transpose and permute_0213 agree", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Shape s : {Shape{2, 3, 5, 7}, Shape{1, 1}, Shape{33, 65}, Shape{3, 100, 37}, Shape{1, 1, 1, 1}}) {
        const auto x = rand<T>(s, 9);
        Shape t = s;
        std::swap(t[-1], t[-2]);
        INFO("x " << s);
        agree<T>([&](auto be, auto& o) { ops::transpose(be, on(be, x), o[0]); }, {t}, test::Tolerance{0, 0, 0});
    }
    for (Shape s : {Shape{2, 3, 5, 7}, Shape{1, 1, 1, 1}, Shape{3, 50, 4, 33}}) {
        const auto x = rand<T>(s, 10);
        INFO("x " << s);
        agree<T>([&](auto be, auto& o) { ops::permute_0213(be, on(be, x), o[0]); }, {Shape{s[0], s[2], s[1], s[3]}},
                 test::Tolerance{0, 0, 0});
    }
}

TEST_CASE_TEMPLATE("concat_cols and split_cols agree", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (auto [rows, ca, cb] : {std::array<std::int64_t, 3>{4, 3, 5}, {1, 1, 1}, {1000, 1, 300}, {7, 257, 2}}) {
        const auto a = rand<T>(Shape{rows, ca}, 11), b = rand<T>(Shape{rows, cb}, 12), ab = rand<T>(Shape{rows, ca + cb}, 13);
        INFO("rows " << rows << " ca " << ca << " cb " << cb);
        agree<T>([&](auto be, auto& o) { ops::concat_cols(be, on(be, a), on(be, b), o[0]); }, {Shape{rows, ca + cb}},
                 test::Tolerance{0, 0, 0});
        agree<T>([&](auto be, auto& o) { ops::split_cols(be, on(be, ab), o[0], o[1]); }, {Shape{rows, ca}, Shape{rows, cb}},
                 test::Tolerance{0, 0, 0});
    }
}

TEST_CASE_TEMPLATE("gather_rows and scatter_add_rows agree, repeated indices adding up", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    const auto table = rand<T>(Shape{10, 6}, 13);
    const auto index = Tensor<ops::Index, cpu>::from({7}, {3, 0, 9, 3, 3, 1, 9});
    agree<T>([&](auto be, auto& o) { ops::gather_rows(be, on(be, table), on(be, index), o[0]); }, {Shape{7, 6}},
             test::Tolerance{0, 0, 0});
    const auto src = rand<T>(Shape{7, 6}, 14);
    agree<T>([&](auto be, auto& o) { ops::scatter_add_rows(be, on(be, src), on(be, index), o[0]); }, {Shape{10, 6}});
    // Tables of 1, 20 (one sort pass), 3000 (three) and 70000 rows (five), up to 5000 indices: the
    // sort's tiles, passes and runs of equal indices longer than a tile.
    for (auto [vocab, n, width] : {std::array<std::int64_t, 3>{1, 33, 5}, {20, 5000, 3}, {3000, 2500, 300}, {70000, 3000, 2}}) {
        const auto big_table = rand<T>(Shape{vocab, width}, 15);
        const auto ids = random_indices(n, vocab, std::uint64_t(vocab));
        const auto rows = rand<T>(Shape{n, width}, 16);
        INFO("vocab " << vocab << " n " << n << " width " << width);
        agree<T>([&](auto be, auto& o) { ops::gather_rows(be, on(be, big_table), on(be, ids), o[0]); }, {Shape{n, width}},
                 test::Tolerance{0, 0, 0});
        // The reference adds in index order and rounds to T after each addition, the GPU adds in the
        // same order in acc_t<T> and rounds once: the same for float and double; for bf16 the
        // oracle is the reference run in float, rounded to bf16 at the end.
        if constexpr (std::is_same_v<T, bf16>) {
            auto in_float = cast<float>(big_table);
            ops::scatter_add_rows(reference{}, cast<float>(rows), ids, in_float);
            auto on_gpu = to_device<cuda>(big_table);
            ops::scatter_add_rows(cuda{}, to_device<cuda>(rows), to_device<cuda>(ids), on_gpu);
            const auto expected = cast<bf16>(in_float);
            CHECK_CLOSE(to_device<cpu>(on_gpu), expected, 1e-2, 1e-2 * test::max_finite_abs(expected));
        } else {
            agree<T>([&](auto be, auto& o) { ops::scatter_add_rows(be, on(be, rows), on(be, ids), o[0]); },
                     {Shape{vocab, width}});
        }
    }
}

TEST_CASE("scatter_add_rows gives the same bits on every run") {
    if (!have_gpu()) return;
    const auto ids = to_device<cuda>(random_indices(20000, 37, 5));
    const auto rows = to_device<cuda>(rand<float>(Shape{20000, 64}, 17));
    auto first = Tensor<float, cuda>::zeros(Shape{37, 64}), second = Tensor<float, cuda>::zeros(Shape{37, 64});
    ops::scatter_add_rows(cuda{}, rows, ids, first);
    ops::scatter_add_rows(cuda{}, rows, ids, second);
    CHECK(test::bitwise_equal(first, second));
}

TEST_CASE("gather_rows and scatter_add_rows check their indices on the device; the next wait raises the first fault") {
    if (!have_gpu()) return;
    const auto table_host = rand<float>(Shape{10, 6}, 13);
    const auto table = to_device<cuda>(table_host);
    const auto bad = to_device<cuda>(Tensor<ops::Index, cpu>::from({4}, {1, 10, 2, -1}));
    auto out = Tensor<float, cuda>::empty(Shape{4, 6});
    ops::gather_rows(cuda{}, table, bad, out);  // queued: nothing waits here
    CHECK_THROWS_WITH_AS(to_device<cpu>(out), doctest::Contains("gather_rows: index 10 at position 1 is outside [0, 10)"),
                         Error);
    // Raised once. The bad rows were read from nowhere: zeros; the good ones are the table's.
    const auto gathered = to_device<cpu>(out);
    for (std::int64_t c = 0; c < 6; ++c) {
        CHECK(gathered.at(0, c) == table_host.at(1, c));
        CHECK(gathered.at(1, c) == 0.0f);
        CHECK(gathered.at(2, c) == table_host.at(2, c));
        CHECK(gathered.at(3, c) == 0.0f);
    }
    auto sink = Tensor<float, cuda>::zeros(Shape{10, 6});
    ops::scatter_add_rows(cuda{}, out, bad, sink);
    CHECK_THROWS_WITH_AS(cu::synchronize(), doctest::Contains("scatter_add_rows: index 10 at position 1 is outside [0, 10)"),
                         Error);
    const auto scattered = to_device<cpu>(sink);  // the good rows landed, nothing else was written
    CHECK(scattered.at(1, 0) == table_host.at(1, 0));
    CHECK(scattered.at(9, 0) == 0.0f);
    // Two faults before a wait: the first is raised, and only once.
    const auto negative = to_device<cuda>(Tensor<ops::Index, cpu>::from({2}, {0, -3}));
    auto two = Tensor<float, cuda>::empty(Shape{2, 6});
    ops::gather_rows(cuda{}, table, negative, two);
    ops::gather_rows(cuda{}, table, bad, out);
    CHECK_THROWS_WITH_AS(to_device<cpu>(two), doctest::Contains("index -3 at position 1"), Error);
    CHECK_NOTHROW(cu::synchronize());
    // After an error the device still computes.
    const auto good = to_device<cuda>(Tensor<ops::Index, cpu>::from({2}, {9, 0}));
    ops::gather_rows(cuda{}, table, good, two);
    CHECK(two.to_vector()[0] == table_host[54]);
}

TEST_CASE_TEMPLATE("im2patch and patch2im agree", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (auto [n, c, h, w, p] : {std::array<std::int64_t, 5>{2, 3, 8, 12, 4}, {1, 1, 1, 1, 1}, {3, 2, 28, 28, 7}, {1, 3, 32, 64, 32}}) {
        const Shape img_shape{n, c, h, w}, patch_shape{n, (h / p) * (w / p), c * p * p};
        const auto img = rand<T>(img_shape, 15);
        const auto patches = rand<T>(patch_shape, 16);
        INFO("image " << img_shape << " patch " << p);
        agree<T>([&](auto be, auto& o) { ops::im2patch(be, on(be, img), int(p), o[0]); }, {patch_shape}, test::Tolerance{0, 0, 0});
        agree<T>([&](auto be, auto& o) { ops::patch2im(be, on(be, patches), int(p), o[0]); }, {img_shape}, test::Tolerance{0, 0, 0});
    }
}
