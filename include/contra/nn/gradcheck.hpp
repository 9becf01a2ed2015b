// contra/nn/gradcheck.hpp — gradcheck a whole module with respect to every one of its parameters.
// defines: nn::visit_all, nn::gradcheck_module
#pragma once
#include <vector>

#include "../autograd/gradcheck.hpp"
#include "parameter.hpp"

namespace contra::nn {

// visit_all(m, f): m.visit_parameters(f) for models, m.visit_parameters(f, "") for modules.
template <class M, class F>
void visit_all(M& m, F&& f) {
    if constexpr (requires { m.visit_parameters(f); }) m.visit_parameters(f);
    else m.visit_parameters(f, "");
}

// gradcheck_module<B>(m, forward): checks ∂forward(m)/∂p for every parameter p of m (double
// precision) against central differences. The parameters are restored afterwards.
template <class B, class M, class F>
GradcheckReport gradcheck_module(M& m, F&& forward, GradcheckOptions options = {}) {
    using P = Parameter<double, B>;
    std::vector<P*> params;
    std::vector<P> saved;
    std::vector<Tensor<double, cpu>> values;
    visit_all(m, [&](const std::string&, P& p) {
        params.push_back(&p);
        saved.push_back(p);
        values.push_back(to_device<cpu>(p.value()).clone());
    });
    auto report = gradcheck<B>(
        [&](std::vector<Var<double, B>>& vars) {
            for (std::size_t i = 0; i < params.size(); ++i) static_cast<Var<double, B>&>(*params[i]) = vars[i];
            return forward(m);
        },
        values, options);
    for (std::size_t i = 0; i < params.size(); ++i) *params[i] = saved[i];
    return report;
}

}  // namespace contra::nn
