// Tensor, Shape, dtype and Storage semantics.
#include <doctest/doctest.h>

#include <contra/contra.hpp>
#include <cstring>

using namespace contra;

TEST_CASE("shape: rank, extents, matrix view and errors") {
    const Shape s{2, 3, 4};
    CHECK(s.rank() == 3);
    CHECK(s.numel() == 24);
    CHECK(s[-1] == 4);
    CHECK(s.rows() == 6);
    CHECK(s.cols() == 4);
    CHECK(Shape{}.numel() == 1);
    CHECK(Shape{}.rows() == 1);
    CHECK(Shape{5}.rows() == 1);
    CHECK(s.str() == "[2,3,4]");
    CHECK_THROWS_AS((Shape{1, 2, 3, 4, 5, 6}), Error);
    CHECK_THROWS_AS((Shape{2, -1}), Error);
    CHECK_THROWS_WITH_AS(s[3], doctest::Contains("axis 3 out of range"), Error);
}

TEST_CASE("tensor: storage is 64-byte aligned, views share it") {
    auto t = Tensor<float>::from({2, 3}, {1, 2, 3, 4, 5, 6});
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
    auto r = t.reshape(Shape{3, 2});
    CHECK(r.shares_storage_with(t));
    r.at(2, 1) = 60;
    CHECK(t.at(1, 2) == 60);
    auto row = t.row(1);
    CHECK(row.shape() == Shape{3});
    CHECK(row[0] == 4);
    auto rows = t.rows(1, 2);
    CHECK(rows.data() == t.data() + 3);
    auto c = t.clone();
    c[0] = -1;
    CHECK(t[0] == 1);
}

TEST_CASE("tensor: ranks 0 to 5, zero-size tensors") {
    auto scalar = Tensor<double>::full(Shape{}, 2.5);
    CHECK(scalar.numel() == 1);
    CHECK(scalar.item() == 2.5);
    auto five = Tensor<float>::zeros(Shape{1, 2, 1, 3, 2});
    CHECK(five.numel() == 12);
    CHECK(five.at(0, 1, 0, 2, 1) == 0.0f);
    auto empty = Tensor<float>::empty(Shape{0, 7});
    CHECK(empty.numel() == 0);
    CHECK(empty.to_vector().empty());
}

TEST_CASE("tensor: shape errors name the shapes") {
    auto t = Tensor<float>::zeros(Shape{2, 3});
    CHECK_THROWS_WITH_AS(t.reshape(Shape{4, 2}), doctest::Contains("cannot reshape [2,3]"), Error);
    CHECK_THROWS_WITH_AS(t.rows(1, 3), doctest::Contains("out of range for shape [2,3]"), Error);
    CHECK_THROWS_WITH_AS(t.at(2, 0), doctest::Contains("index 2 out of range on axis 0"), Error);
    CHECK_THROWS_AS(Tensor<float>::from({2, 2}, {1, 2, 3}), Error);
    auto u = Tensor<float>::zeros(Shape{5});
    CHECK_THROWS_WITH_AS(copy(t, u), doctest::Contains("differ in size"), Error);
}

TEST_CASE("tensor: cast between element types") {
    auto d = Tensor<double>::from({4}, {1.0, -2.5, 3.0e-3, 65504.0});
    auto h = cast<f16>(d);
    auto b = cast<bf16>(d);
    auto back_h = cast<double>(h);
    auto back_b = cast<double>(b);
    CHECK(back_h[0] == 1.0);
    CHECK(back_h[1] == -2.5);
    CHECK(back_h[3] == 65504.0);
    CHECK(std::abs(back_h[2] - 3.0e-3) < 2e-6);
    CHECK(back_b[1] == -2.5);
    CHECK(std::abs(back_b[2] - 3.0e-3) < 2e-5);
}

TEST_CASE("dtype: bf16 and f16 round to nearest even, keep inf and NaN") {
    CHECK(float(bf16(1.0f)) == 1.0f);
    // 1 + 2^-8 lies halfway between two bf16 values: ties go to the even one (1.0).
    CHECK(float(bf16(1.0f + 1.0f / 256)) == 1.0f);
    CHECK(float(bf16(1.0f + 3.0f / 256)) == 1.0f + 4.0f / 256);
    CHECK(std::isinf(float(bf16(INFINITY))));
    CHECK(std::isnan(float(bf16(NAN))));
    CHECK(float(f16(65504.0f)) == 65504.0f);
    CHECK(std::isinf(float(f16(65520.0f))));
    CHECK(float(f16(5.960464477539063e-08f)) == 5.960464477539063e-08f);  // smallest subnormal
    CHECK(float(f16(2.0e-8f)) == 0.0f);
    CHECK(std::isnan(float(f16(NAN))));
    for (std::uint32_t bits = 0; bits < 0x7c00u; bits += 7) {  // every finite half survives a round trip
        f16 h;
        h.bits = std::uint16_t(bits);
        CHECK(f16(float(h)).bits == h.bits);
    }
    CHECK(dtype_of<bf16> == DType::bf16);
    CHECK(dtype_size(DType::f16) == 2);
    CHECK(dtype_name(DType::f32) == "F32");
}
