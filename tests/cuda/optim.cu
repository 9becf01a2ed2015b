// The AdamW update on the GPU against the reference backend over several steps, in float, double
// and bf16, with and without weight decay; the grouped update (one launch) against its composite
// twin, per tensor, bit for bit; the step decided on the device (gate_step, count_update, the gated
// update) against the host's gate and the ungated update.
#include "gpu.cuh"

using namespace contra;
using test::have_gpu;
using test::rand;

TEST_CASE_TEMPLATE("adamw agrees over several steps", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Shape s : {Shape{3, 50}, Shape{1}, Shape{1000, 33}})
        for (double decay : {0.0, 0.2}) {
            INFO("parameter " << s << " weight decay " << decay);
            auto run = [&](auto be) {
                auto p = test::on(be, rand<T>(s, 34));
                auto m = test::on(be, Tensor<T, cpu>::full(s, T(0.0f))), v = test::on(be, Tensor<T, cpu>::full(s, T(0.0f)));
                for (int step = 1; step <= 5; ++step) {
                    const auto g = test::on(be, rand<T>(s, 35 + std::uint64_t(step)));
                    ops::adamw(be, p, g, m, v, ops::AdamWStep{1e-2, 0.9, 0.98, 1e-6, decay, step});
                }
                return std::array{to_device<cpu>(p), to_device<cpu>(m), to_device<cpu>(v)};
            };
            const auto expected = run(reference{});
            const auto actual = run(cuda{});
            // Both compute each update in double and round it once to T. The double results still
            // differ in their last bits: nvcc fuses a·b + c into one multiply-add (-fmad=true) where
            // the host compiler fuses others or none. Rounding to float then lands on the
            // neighbouring float when the exact value lies near a midpoint: 1 ulp (seen on an H200:
            // 0.256078 on both sides to six digits, about 2 elements in 30,000), which later steps
            // carry. So float agrees to a few ulps, double to its own rounding, and bf16 to its
            // rounding of the moments between steps.
            const double rtol = std::is_same_v<T, bf16> ? 1e-2 : std::is_same_v<T, float> ? 5e-7 : 1e-12;
            const double atol = std::is_same_v<T, bf16> ? 1e-2 : std::is_same_v<T, float> ? 1e-8 : 1e-12;
            for (int i = 0; i < 3; ++i) CHECK_CLOSE(actual[std::size_t(i)], expected[std::size_t(i)], rtol, atol);
        }
}

TEST_CASE("adamw_master (bf16 parameter, fp32 master and moments) agrees with the reference over several steps") {
    if (!have_gpu()) return;
    for (Shape s : {Shape{3, 50}, Shape{1}, Shape{1000, 33}})
        for (double decay : {0.0, 0.2}) {
            INFO("parameter " << s << " weight decay " << decay);
            auto run = [&](auto be) {
                auto master = test::on(be, rand<float>(s, 44));
                auto p = test::on(be, cast<bf16>(rand<float>(s, 44)));
                auto m = test::on(be, Tensor<float, cpu>::zeros(s)), v = test::on(be, Tensor<float, cpu>::zeros(s));
                for (int step = 1; step <= 5; ++step) {
                    const auto g = test::on(be, rand<bf16>(s, 45 + std::uint64_t(step)));
                    ops::adamw_master(be, master, p, g, m, v, ops::AdamWStep{1e-2, 0.9, 0.98, 1e-6, decay, step});
                }
                return std::array{to_device<cpu>(master), to_device<cpu>(m), to_device<cpu>(v), cast<float>(to_device<cpu>(p))};
            };
            const auto expected = run(reference{});
            const auto actual = run(cuda{});
            // As adamw<float> above: each update in double, rounded once to float (a few ulps apart
            // where nvcc fuses multiply-adds); the parameter is its master rounded to bf16.
            for (std::size_t k = 0; k < 3; ++k) CHECK_CLOSE(actual[k], expected[k], 1e-5, 1e-7);
            CHECK_CLOSE(actual[3], expected[3], 1e-2, 1e-6);
        }
}

namespace {
// One side of a comparison of AdamW updates: parameters drawn from seeds seed, seed + 1, …, fp32
// masters of them, zero moments.
template <class T>
struct AdamWSide {
    using A = acc_t<T>;
    static constexpr bool mixed = !std::is_same_v<T, A>;
    std::vector<Tensor<T, cuda>> p;
    std::vector<Tensor<A, cuda>> m, v, master;
    AdamWSide(const std::vector<Shape>& shapes, std::uint64_t seed) {
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            p.push_back(to_device<cuda>(rand<T>(shapes[i], seed + i)));
            master.push_back(to_device<cuda>(cast<A>(rand<T>(shapes[i], seed + i))));
            m.push_back(to_device<cuda>(Tensor<A, cpu>::zeros(shapes[i])));
            v.push_back(to_device<cuda>(Tensor<A, cpu>::zeros(shapes[i])));
        }
    }
    // The group update's list: tensor i with gradient grads[i], decaying when decay[i].
    std::vector<ops::AdamWTensor<T, cuda>> list(const std::vector<Tensor<T, cuda>>& grads, const std::vector<bool>& decay) {
        std::vector<ops::AdamWTensor<T, cuda>> out;
        for (std::size_t i = 0; i < p.size(); ++i)
            out.push_back({&p[i], &grads[i], &m[i], &v[i], mixed ? &master[i] : nullptr, decay[i]});
        return out;
    }
};

// Three steps of adamw_group over three tensors (one longer than a chunk, one without weight decay)
// against affine then adamw (or adamw_master) per tensor, from the same start: the same bits.
template <class T>
void check_group_against_composite(double scale) {
    using A = acc_t<T>;
    constexpr bool mixed = !std::is_same_v<T, A>;
    const std::vector<Shape> shapes{Shape{3, 50}, Shape{1}, Shape{1000, 33}};
    const std::vector<bool> decay{true, false, true};
    AdamWSide<T> group(shapes, 50), composite(shapes, 50);
    for (int step = 1; step <= 3; ++step) {
        std::vector<Tensor<T, cuda>> grads;
        for (std::size_t i = 0; i < shapes.size(); ++i) grads.push_back(to_device<cuda>(rand<T>(shapes[i], 60 + 10 * step + i)));
        const ops::AdamWStep h{1e-2, 0.9, 0.98, 1e-6, 0.2, step};
        const auto list = group.list(grads, decay);
        ops::adamw_group(cuda{}, std::span<const ops::AdamWTensor<T, cuda>>(list), h, A(scale));
        CHECK(test::bitwise_equal(to_device<cpu>(grads[2]), rand<T>(shapes[2], 60 + 10 * step + 2)));  // not scaled in place
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            Tensor<T, cuda> g = grads[i];
            if (scale != 1) {
                g = Tensor<T, cuda>::empty(shapes[i]);
                ops::affine(cuda{}, grads[i], A(scale), A(0), g);
            }
            ops::AdamWStep own = h;
            if (!decay[i]) own.weight_decay = 0;
            if constexpr (mixed) ops::adamw_master(cuda{}, composite.master[i], composite.p[i], g, composite.m[i], composite.v[i], own);
            else ops::adamw(cuda{}, composite.p[i], g, composite.m[i], composite.v[i], own);
        }
    }
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        INFO("tensor " << i);
        CHECK(test::bitwise_equal(group.p[i], composite.p[i]));
        CHECK(test::bitwise_equal(group.m[i], composite.m[i]));
        CHECK(test::bitwise_equal(group.v[i], composite.v[i]));
        if constexpr (mixed) CHECK(test::bitwise_equal(group.master[i], composite.master[i]));
    }
}
}  // namespace

TEST_CASE_TEMPLATE("adamw_group (one launch) equals affine then adamw per tensor, bit for bit", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (double scale : {1.0, 0.37}) {
        INFO("gradient scale " << scale);
        check_group_against_composite<T>(scale);
    }
}

TEST_CASE("gate_step and count_update on the GPU give the host's gate and count") {
    if (!have_gpu()) return;
    const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
    for (auto [loss, ss, max_norm] : {std::tuple{2.0, 16.0, 1.0}, {2.0, 16.0, 10.0}, {2.0, 16.0, 0.0}, {nan, 1.0, 1.0},
                                      {1.0, inf, 1.0}, {1.0, nan, 1.0}}) {
        INFO("loss " << loss << ", Σg² " << ss << ", max norm " << max_norm);
        auto host_gate = Tensor<double, cpu>::empty(Shape{2});
        ops::gate_step(cpu{}, Tensor<float, cpu>::full(Shape{}, float(loss)), Tensor<double, cpu>::full(Shape{1}, ss),
                       max_norm, host_gate);
        auto gate = Tensor<double, cuda>::empty(Shape{2});
        ops::gate_step(cuda{}, to_device<cuda>(Tensor<float, cpu>::full(Shape{}, float(loss))),
                       to_device<cuda>(Tensor<double, cpu>::full(Shape{1}, ss)), max_norm, gate);
        CHECK(test::bitwise_equal(to_device<cpu>(gate), host_gate));
        auto steps = to_device<cuda>(Tensor<double, cpu>::full(Shape{1}, 3.0));
        ops::count_update(cuda{}, gate, steps);
        CHECK(to_device<cpu>(steps)[0] == 3.0 + host_gate[0]);
    }
}

TEST_CASE_TEMPLATE("the gated adamw_group: a closed gate changes nothing; open, it agrees with the ungated update", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    using A = acc_t<T>;
    constexpr bool mixed = !std::is_same_v<T, A>;
    const std::vector<Shape> shapes{Shape{3, 50}, Shape{1000, 33}};
    const std::vector<bool> decay{true, false};
    AdamWSide<T> gated(shapes, 70), plain(shapes, 70);
    auto steps = to_device<cuda>(Tensor<double, cpu>::zeros(Shape{1}));
    int plain_steps = 0;
    // open (clipped), closed, open, open (unclipped)
    for (auto [open, scale] : {std::pair{1.0, 0.37}, {0.0, 0.5}, {1.0, 0.8}, {1.0, 1.0}}) {
        INFO("gate {" << open << ", " << scale << "}");
        std::vector<Tensor<T, cuda>> grads;
        for (std::size_t i = 0; i < shapes.size(); ++i) grads.push_back(to_device<cuda>(rand<T>(shapes[i], 80 + std::uint64_t(10 * plain_steps) + i)));
        const auto gate = to_device<cuda>(Tensor<double, cpu>::from(Shape{2}, {open, scale}));
        const auto before = to_device<cpu>(gated.p[1]);
        ops::count_update(cuda{}, gate, steps);
        const auto list = gated.list(grads, decay);
        ops::adamw_group(cuda{}, std::span<const ops::AdamWTensor<T, cuda>>(list), ops::AdamWStep{1e-2, 0.9, 0.98, 1e-6, 0.2, 0},
                         gate, steps);
        if (open == 0) {
            CHECK(test::bitwise_equal(to_device<cpu>(gated.p[1]), before));
            continue;
        }
        ++plain_steps;
        const auto plain_list = plain.list(grads, decay);
        ops::adamw_group(cuda{}, std::span<const ops::AdamWTensor<T, cuda>>(plain_list),
                         ops::AdamWStep{1e-2, 0.9, 0.98, 1e-6, 0.2, plain_steps}, A(scale));
    }
    CHECK(to_device<cpu>(steps)[0] == 3.0);
    // The bias corrections differ only in how β^t is computed (pow on the device, on the host).
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        INFO("tensor " << i);
        CHECK_CLOSE(to_device<cpu>(gated.p[i]), to_device<cpu>(plain.p[i]), test::rtol<T>(), test::atol<T>());
        CHECK(test::bitwise_equal(gated.m[i], plain.m[i]));
        CHECK(test::bitwise_equal(gated.v[i], plain.v[i]));
        if constexpr (mixed) CHECK_CLOSE(to_device<cpu>(gated.master[i]), to_device<cpu>(plain.master[i]), 1e-5, 1e-6);
    }
}
