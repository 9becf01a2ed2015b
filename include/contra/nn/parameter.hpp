// contra/nn/parameter.hpp — Parameter<T, B>: a trainable tensor with a persistent gradient, and
// the initialisers every module uses.
// defines: nn::Parameter, nn::join, nn::init_normal, nn::init_uniform, nn::init_constant
#pragma once
#include <string>
#include <string_view>

#include "../autograd/var.hpp"
#include "../core/random.hpp"

namespace contra::nn {

// A Parameter is a Var whose gradient slot survives Tape::reset() (a leaf that requires a
// gradient). Modules own Parameters as members and name them in visit_parameters().
template <class T, class B>
struct Parameter : Var<T, B> {
    using Var<T, B>::Var;
    Parameter() = default;
    explicit Parameter(const Shape& shape) : Var<T, B>(leaf<B>(Tensor<T, device_of<B>>::zeros(shape), true)) {}

    void zero_grad() const {
        if (this->slot()) this->slot()->zero_grad();
    }
};

// join("visual.transformer", "resblocks") = "visual.transformer.resblocks"; an empty prefix adds nothing.
inline std::string join(std::string_view prefix, std::string_view name) {
    if (prefix.empty()) return std::string(name);
    std::string s(prefix);
    s += '.';
    s += name;
    return s;
}

namespace detail {
// Fill p on the host with f(i), i the element index, then move it to p's device.
template <class T, class B, class F>
void fill_host(Parameter<T, B>& p, F&& f) {
    auto host = Tensor<T, cpu>::empty(p.shape());
    for (std::int64_t i = 0; i < host.numel(); ++i) host[i] = T(f(std::uint64_t(i)));
    copy(host, p.value());
}
}  // namespace detail

// Initialisers draw from the counter-based stream named after the parameter, so a parameter's
// initial values depend only on (seed, name), never on construction order.
template <class T, class B>
void init_normal(Parameter<T, B>& p, double std, std::uint64_t seed, std::string_view name) {
    const RandomStream stream{seed, stream_id(name)};
    detail::fill_host(p, [&](std::uint64_t i) { return std * stream.normal(i); });
}
template <class T, class B>
void init_uniform(Parameter<T, B>& p, double bound, std::uint64_t seed, std::string_view name) {
    const RandomStream stream{seed, stream_id(name)};
    detail::fill_host(p, [&](std::uint64_t i) { return bound * (2 * stream.uniform(i) - 1); });
}
template <class T, class B>
void init_constant(Parameter<T, B>& p, double value) {
    detail::fill_host(p, [&](std::uint64_t) { return value; });
}

}  // namespace contra::nn
