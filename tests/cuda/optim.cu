// The AdamW update on the GPU against the reference backend over several steps, in float, double
// and bf16, with and without weight decay.
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
