// gemm and gemm_batched on the GPU (cuBLAS) against the reference backend, for every transpose
// combination, in float, double and bf16; linear (cuBLASLt, the bias in its epilogue) against the
// reference and against its composite twin (the bias broadcast, then a GEMM).
#include "gpu.cuh"

#include <array>
#include <limits>

using namespace contra;
using test::have_gpu;
using test::rand;

namespace {

using Sizes = std::array<std::int64_t, 3>;  // m, n, k

Shape operand(ops::Trans t, std::int64_t rows, std::int64_t cols, Shape batch = {}) {
    Shape s = batch;
    s.push(t == ops::Trans::N ? rows : cols);
    s.push(t == ops::Trans::N ? cols : rows);
    return s;
}

// C starts random, or all NaN when beta = 0 (which must never read it).
template <class T>
Tensor<T, cpu> start_c(const Shape& shape, double beta) {
    if (beta != 0) return rand<T>(shape, 9);
    return Tensor<T, cpu>::full(shape, T(std::numeric_limits<float>::quiet_NaN()));
}

// Runs gemm (batch empty) or gemm_batched on the reference and cuda backends from the same
// inputs and compares the results.
template <class T>
void check_gemm(ops::Trans ta, ops::Trans tb, Sizes size, double alpha, double beta, Shape batch = {}) {
    const auto [m, n, k] = size;
    const auto a = rand<T>(operand(ta, m, k, batch), 1);
    const auto b = rand<T>(operand(tb, k, n, batch), 2);
    Shape c_shape = batch;
    c_shape.push(m);
    c_shape.push(n);
    auto expected = start_c<T>(c_shape, beta);
    auto d_a = to_device<cuda>(a), d_b = to_device<cuda>(b);
    auto d_c = to_device<cuda>(expected);
    if (batch.rank() == 0) {
        ops::gemm(reference{}, ta, tb, acc_t<T>(alpha), a, b, acc_t<T>(beta), expected);
        ops::gemm(cuda{}, ta, tb, acc_t<T>(alpha), d_a, d_b, acc_t<T>(beta), d_c);
    } else {
        ops::gemm_batched(reference{}, ta, tb, acc_t<T>(alpha), a, b, acc_t<T>(beta), expected);
        ops::gemm_batched(cuda{}, ta, tb, acc_t<T>(alpha), d_a, d_b, acc_t<T>(beta), d_c);
    }
    INFO("ta " << int(ta) << " tb " << int(tb) << " m " << m << " n " << n << " k " << k << " alpha " << alpha
               << " beta " << beta << " batch " << batch);
    CHECK_CLOSE(to_device<cpu>(d_c), expected, test::rtol<T>(), test::atol<T>());
}

constexpr ops::Trans kTrans[] = {ops::Trans::N, ops::Trans::T};

}  // namespace

TEST_CASE_TEMPLATE("gemm agrees with the reference for every transpose combination", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Sizes size : {Sizes{1, 1, 1}, Sizes{7, 5, 3}, Sizes{33, 17, 65}, Sizes{64, 1, 9}, Sizes{1, 70, 128}})
        for (auto ta : kTrans)
            for (auto tb : kTrans)
                for (double beta : {0.0, 1.0, -0.5}) check_gemm<T>(ta, tb, size, 0.7, beta);
}

TEST_CASE_TEMPLATE("gemm_batched agrees with the reference for every transpose combination", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (Sizes size : {Sizes{1, 1, 1}, Sizes{7, 5, 3}, Sizes{19, 13, 40}})
        for (auto ta : kTrans)
            for (auto tb : kTrans) {
                check_gemm<T>(ta, tb, size, 1.5, 0.0, Shape{3, 2});
                check_gemm<T>(ta, tb, size, -1.0, 0.5, Shape{4});
            }
}

TEST_CASE_TEMPLATE("gemm with k = 0 writes beta·C", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    for (double beta : {0.0, 2.0}) {
        check_gemm<T>(ops::Trans::N, ops::Trans::N, Sizes{3, 2, 0}, 1.0, beta);
        check_gemm<T>(ops::Trans::T, ops::Trans::N, Sizes{3, 2, 0}, 1.0, beta, Shape{2});
    }
}

TEST_CASE("gemm runs on the current stream, and moves with it") {
    if (!have_gpu()) return;
    cu::Stream stream;
    {
        cu::StreamGuard on(stream.get());
        CHECK(cu::current_stream() == stream.get());
        check_gemm<float>(ops::Trans::N, ops::Trans::T, Sizes{33, 17, 65}, 1.0, 0.0);
        check_gemm<float>(ops::Trans::T, ops::Trans::N, Sizes{8, 9, 10}, 1.0, 1.0, Shape{5});
        cudaStream_t bound = nullptr;
        CHECK(cublasGetStream(cu::cublas_handle(), &bound) == CUBLAS_STATUS_SUCCESS);
        CHECK(bound == stream.get());
    }
    CHECK(cu::current_stream() == cudaStream_t{});
    check_gemm<float>(ops::Trans::N, ops::Trans::N, Sizes{16, 16, 16}, 1.0, 0.0);
}

TEST_CASE("float gemm with TF32 asked for: within TF32's rounding of the exact product, and the setting comes back") {
    if (!have_gpu()) return;
    const std::int64_t m = 48, n = 40, k = 256;
    const auto a = rand<float>(Shape{m, k}, 11), b = rand<float>(Shape{k, n}, 12);
    auto exact = Tensor<double, cpu>::zeros(Shape{m, n}), bound = Tensor<double, cpu>::zeros(Shape{m, n});  // [M, N]
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j)
            for (std::int64_t p = 0; p < k; ++p) {
                exact.at(i, j) += double(a.at(i, p)) * double(b.at(p, j));
                bound.at(i, j) += std::abs(double(a.at(i, p)) * double(b.at(p, j)));
            }
    auto d_c = Tensor<float, cuda>::empty(Shape{m, n});
    {
        cu::FloatMathGuard tf32(cu::FloatMath::tf32);
        CHECK(cu::float_math() == cu::FloatMath::tf32);
        ops::gemm(cuda{}, ops::Trans::N, ops::Trans::N, 1.0f, to_device<cuda>(a), to_device<cuda>(b), 0.0f, d_c);
    }
    CHECK(cu::float_math() == cu::FloatMath::strict);
    const auto c = to_device<cpu>(d_c);
    // Each input rounded to 10 mantissa bits (relative error ≤ 2^-11 each, so ≤ 2^-10 a product),
    // plus fp32 accumulation: |c − exact| ≤ 2^-9 · Σ|a·b| leaves room for both.
    double worst = 0;
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j)
            worst = std::max(worst, std::abs(double(c.at(i, j)) - exact.at(i, j)) / bound.at(i, j));
    CAPTURE(worst);
    CHECK(worst <= std::ldexp(1.0, -9));
}

TEST_CASE_TEMPLATE("linear with the bias in cuBLASLt's epilogue agrees with the reference and with its composite twin", T,
                   CUDA_TYPES) {
    if (!have_gpu()) return;
    // [rows, out, in]: a ViT-B/32 block's qkv projection in miniature, odd sizes, a single row,
    // and rows starting one element into a tensor (an address only 2- or 4-byte aligned).
    for (Sizes size : {Sizes{64, 96, 48}, Sizes{7, 5, 3}, Sizes{1, 33, 17}, Sizes{50, 768, 64}})
        for (bool with_bias : {false, true})
            for (std::int64_t offset : {0, 1}) {
                const auto [rows, out, in] = size;
                INFO("rows " << rows << " out " << out << " in " << in << " bias " << with_bias << " offset " << offset);
                const auto x_all = rand<T>(Shape{rows + offset, in}, 3), w = rand<T>(Shape{out, in}, 4);
                const auto bias = rand<T>(Shape{out}, 5);
                const auto x = x_all.rows(offset, offset + rows);
                auto expected = Tensor<T, cpu>::empty(Shape{rows, out});
                ops::linear(reference{}, x, w, with_bias ? &bias : nullptr, expected);
                const auto d_x_all = to_device<cuda>(x_all), d_w = to_device<cuda>(w), d_bias = to_device<cuda>(bias);
                const auto d_x = d_x_all.rows(offset, offset + rows);
                auto y = Tensor<T, cuda>::empty(Shape{rows, out});
                ops::linear(cuda{}, d_x, d_w, with_bias ? &d_bias : nullptr, y);
                CHECK_CLOSE(to_device<cpu>(y), expected, test::rtol<T>(), test::atol<T>());
                auto twin = Tensor<T, cuda>::empty(Shape{rows, out});
                cu::composite_linear<T>(rows, out, in, d_x.data(), d_w.data(), with_bias ? d_bias.data() : nullptr, twin.data());
                CHECK_CLOSE(to_device<cpu>(y), to_device<cpu>(twin), test::rtol<T>(), test::atol<T>());
                if constexpr (!std::is_same_v<T, double>)
                    if (offset == 0 && rows == 64) {  // an aligned, everyday shape: cuBLASLt takes it
                        auto direct = Tensor<T, cuda>::empty(Shape{rows, out});
                        CHECK(cu::lt_linear<T>(rows, out, in, d_x.data(), d_w.data(), with_bias ? d_bias.data() : nullptr,
                                               direct.data()));
                        CHECK(test::bitwise_equal(direct, y));
                    }
            }
}
