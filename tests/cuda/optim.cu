// The AdamW update on the GPU against the reference backend over several steps, in float, double
// and bf16, with and without weight decay; the grouped update (one launch) against its composite
// twin, per tensor, bit for bit.
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
// Three steps of adamw_group over three tensors (one longer than a chunk, one without weight decay)
// against affine then adamw (or adamw_master) per tensor, from the same start: the same bits.
template <class T>
void check_group_against_composite(double scale) {
    using A = acc_t<T>;
    constexpr bool mixed = !std::is_same_v<T, A>;
    const std::vector<Shape> shapes{Shape{3, 50}, Shape{1}, Shape{1000, 33}};
    const std::vector<bool> decay{true, false, true};
    struct Side {
        std::vector<Tensor<T, cuda>> p;
        std::vector<Tensor<A, cuda>> m, v, master;
    };
    auto fresh = [&] {
        Side s;
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            s.p.push_back(to_device<cuda>(rand<T>(shapes[i], 50 + i)));
            s.master.push_back(to_device<cuda>(cast<A>(rand<T>(shapes[i], 50 + i))));
            s.m.push_back(to_device<cuda>(Tensor<A, cpu>::zeros(shapes[i])));
            s.v.push_back(to_device<cuda>(Tensor<A, cpu>::zeros(shapes[i])));
        }
        return s;
    };
    Side group = fresh(), composite = fresh();
    for (int step = 1; step <= 3; ++step) {
        std::vector<Tensor<T, cuda>> grads;
        for (std::size_t i = 0; i < shapes.size(); ++i) grads.push_back(to_device<cuda>(rand<T>(shapes[i], 60 + 10 * step + i)));
        const ops::AdamWStep h{1e-2, 0.9, 0.98, 1e-6, 0.2, step};
        std::vector<ops::AdamWTensor<T, cuda>> list;
        for (std::size_t i = 0; i < shapes.size(); ++i)
            list.push_back({&group.p[i], &grads[i], &group.m[i], &group.v[i], mixed ? &group.master[i] : nullptr, decay[i]});
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
