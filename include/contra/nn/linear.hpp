// contra/nn/linear.hpp — Linear: y = x·Wᵀ + b (PyTorch's nn.Linear layout and default init).
// defines: nn::Linear
#pragma once
#include <cmath>

#include "../autograd/ops.hpp"
#include "../autograd/parameter.hpp"

namespace contra::nn {

template <class T, class B>
struct Linear {
    using value_type = T;
    using backend = B;

    Parameter<T, B> weight;  // [out, in]
    Parameter<T, B> bias;    // [out], or undefined when built without bias

    Linear() = default;
    Linear(std::int64_t in, std::int64_t out, bool with_bias = true)
        : weight(Shape{out, in}), bias(with_bias ? Parameter<T, B>(Shape{out}) : Parameter<T, B>()) {}

    std::int64_t in_features() const { return weight.shape()[1]; }
    std::int64_t out_features() const { return weight.shape()[0]; }

    // x [..., in] → [..., out]
    Var<T, B> forward(const Var<T, B>& x) const { return ad::linear<T, B>(x, weight, bias); }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "weight"), weight);
        if (bias.value().defined()) f(join(prefix, "bias"), bias);
    }

    // PyTorch's default: kaiming-uniform weight and bias, both U(±1/√in).
    void initialize(std::uint64_t seed, const std::string& prefix) {
        const double bound = 1.0 / std::sqrt(double(in_features()));
        init_uniform(weight, bound, seed, join(prefix, "weight"));
        if (bias.value().defined()) init_uniform(bias, bound, seed, join(prefix, "bias"));
    }
};

}  // namespace contra::nn
