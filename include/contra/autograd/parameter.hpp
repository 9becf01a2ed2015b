// contra/autograd/parameter.hpp — Parameter<T, B>: a trainable tensor with a persistent gradient;
// the walk over a model's named parameters; the initialisers every module and loss uses.
// defines: Parameter, Numerics, HasParameters, SameNumerics, for_each_parameter, freeze, unfreeze, copy_parameters, join, init_normal,
//          init_uniform, init_constant
#pragma once
#include <concepts>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/random.hpp"
#include "var.hpp"

namespace contra {

// A Parameter is a Var whose gradient slot survives Tape::reset() (a leaf that requires a
// gradient). Modules and losses own Parameters as members and name them in visit_parameters().
template <class T, class B>
struct Parameter : Var<T, B> {
    using Var<T, B>::Var;
    Parameter() = default;
    explicit Parameter(const Shape& shape) : Var<T, B>(leaf<B>(TensorOn<T, B>::zeros(shape), true)) {}

    void zero_grad() const {
        if (this->slot()) this->slot()->zero_grad();
    }
    // freeze(): no gradient reaches it any more, so ops that read only frozen parameters (and
    // inputs) record nothing on the tape, and optimizers leave it unchanged. Every handle to the
    // parameter (an optimizer's too) sees the change. unfreeze() undoes it.
    void freeze() const {
        if (!this->slot()) return;
        this->slot()->zero_grad();
        this->slot()->frozen = true;
    }
    void unfreeze() const {
        if (this->slot()) this->slot()->frozen = false;
    }
    bool frozen() const { return this->slot() && this->slot()->frozen; }
};

namespace detail {
// A visitor with the signatures every visit_parameters(f, prefix) must accept: a module's
// parameters are in its value type T; a 16-bit module may also hold some in acc_t<T> (the loss's
// logit_scale under mixed precision).
template <class T, class B>
struct ProbeVisitor {
    void operator()(const std::string&, Parameter<T, B>&) const {}
    void operator()(const std::string&, Parameter<acc_t<T>, B>&) const
        requires(!std::same_as<T, acc_t<T>>)
    {}
};
}  // namespace detail

// M computes with element type M::value_type on backend M::backend.
template <class M>
concept Numerics = requires {
    typename M::value_type;
    typename M::backend;
};

// A and M compute with the same element type on the same backend.
template <class A, class M>
concept SameNumerics = std::same_as<typename A::value_type, typename M::value_type> &&
                       std::same_as<typename A::backend, typename M::backend>;

// M names its parameters: m.visit_parameters(f, prefix) calls f(name, parameter) for each.
template <class M>
concept HasParameters = Numerics<M> && requires(M& m, const std::string& prefix) {
    m.visit_parameters(detail::ProbeVisitor<typename M::value_type, typename M::backend>{}, prefix);
};

// for_each_parameter(m, f): f(name, parameter) for every parameter of m, through
// m.visit_parameters(f) (a whole model) or m.visit_parameters(f, "") (a module or a loss).
template <class M, class F>
void for_each_parameter(M& m, F&& f) {
    if constexpr (requires { m.visit_parameters(f); }) m.visit_parameters(f);
    else m.visit_parameters(f, "");
}

// freeze(m), unfreeze(m): every parameter of a model, tower, block or loss (Parameter::freeze).
// A frozen tower then runs without recording a tape, and AdamW keeps no state for it.
template <class M>
void freeze(M& m) {
    for_each_parameter(m, [](const std::string&, const auto& p) { p.freeze(); });
}
template <class M>
void unfreeze(M& m) {
    for_each_parameter(m, [](const std::string&, const auto& p) { p.unfreeze(); });
}

// copy_parameters(from, to): every parameter of `to` takes the value of `from`'s parameter of the
// same name (a tower started from a trained one: LiT's pretrained image tower in a fresh model).
//   requires: from and to name the same parameters with the same shapes (an Error names the first
//             difference); ensures: to's values equal from's bit for bit; frozen flags are unchanged.
template <class From, class To>
void copy_parameters(From& from, To& to) {
    std::vector<std::pair<std::string, const Tensor<typename To::value_type, typename To::backend>*>> source;
    for_each_parameter(from, [&](const std::string& name, auto& p) { source.emplace_back(name, &p.value()); });
    std::size_t i = 0;
    for_each_parameter(to, [&](const std::string& name, auto& p) {
        CONTRA_CHECK(i < source.size() && source[i].first == name, "copy_parameters: the target's parameter ", name,
                     " is not the source's ", i < source.size() ? source[i].first : std::string("(none left)"));
        CONTRA_CHECK(source[i].second->shape() == p.value().shape(), "copy_parameters: ", name, " is ",
                     source[i].second->shape(), " in the source and ", p.value().shape(), " in the target");
        copy(*source[i++].second, p.value());
    });
    CONTRA_CHECK(i == source.size(), "copy_parameters: the source has ", source.size(), " parameters, the target ", i);
}

// join("visual.transformer", "resblocks") = "visual.transformer.resblocks"; an empty prefix adds nothing.
inline std::string join(std::string_view prefix, std::string_view name) {
    if (prefix.empty()) return std::string(name);
    std::string s(prefix);
    s += '.';
    s += name;
    return s;
}

namespace detail {
// Fill p on the host with f(i), i the element index (in parallel: f is a pure function of i),
// then move it to p's device.
template <class T, class B, class F>
void fill_host(Parameter<T, B>& p, F&& f) {
    auto host = Tensor<T, cpu>::empty(p.shape());
    T* out = host.data();
    parallel_for(host.numel(), 64, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) out[i] = T(f(std::uint64_t(i)));
    });
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

}  // namespace contra
