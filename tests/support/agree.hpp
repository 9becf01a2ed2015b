// tests/support/agree.hpp — running one primitive on the cpu and reference backends and
// comparing what they wrote (the backend agreement tests).
#pragma once
#include <type_traits>
#include <vector>

#include "compare.hpp"

namespace contra::test {

// tolerance<T>(): the agreement expected of a primitive in T (float: 2e-5, double: 1e-12).
template <class T>
double tolerance() {
    return std::is_same_v<T, float> ? 2e-5 : 1e-12;
}

// rand<T>(shape, seed, scale): random_tensor in double, rounded to T.
template <class T>
Tensor<T, cpu> rand(const Shape& s, std::uint64_t seed, double scale = 1.0) {
    return cast<T>(random_tensor<double>(s, seed, scale));
}

// agree<T>(op, output_shapes, rtol, atol): op(backend, outputs) on both backends from the same
// inputs; the cpu outputs must match the reference's. Every output starts at 0.25 on both, since
// accumulating ops read it.
template <class T, class F>
void agree(F&& op, std::vector<Shape> output_shapes, double rtol = tolerance<T>(), double atol = tolerance<T>()) {
    std::vector<Tensor<T, cpu>> ref_out, cpu_out;
    for (const auto& s : output_shapes) {
        ref_out.push_back(Tensor<T, cpu>::full(s, T(0.25)));
        cpu_out.push_back(Tensor<T, cpu>::full(s, T(0.25)));
    }
    op(reference{}, ref_out);
    op(cpu{}, cpu_out);
    for (std::size_t i = 0; i < output_shapes.size(); ++i) {
        INFO("output " << i << " of shape " << output_shapes[i]);
        CHECK_CLOSE(cpu_out[i], ref_out[i], rtol, atol);
    }
}

}  // namespace contra::test
