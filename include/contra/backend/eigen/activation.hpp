// contra/backend/eigen/activation.hpp — activations as vectorised Eigen expressions.
#pragma once
#include "common.hpp"

namespace contra::eig {

struct Activations {
    template <class T>
    static void activation(ops::Activation f, const HTensor<T>& x, HTensor<T>& y) {
        require_eigen_type<T>();
        for_chunks(x.numel(), 16, [&](int64_t i0, int64_t i1) {
            ConstArrayMap<T> a(x.data() + i0, i1 - i0);
            ArrayMap<T> o(y.data() + i0, i1 - i0);
            switch (f) {
                case ops::Activation::quick_gelu: o = a * (T(scalar::kQuickGeluAlpha) * a).logistic(); break;
                case ops::Activation::gelu: o = T(0.5) * a * (T(1) + (a * T(scalar::kInvSqrt2)).erf()); break;
                case ops::Activation::gelu_tanh:
                    o = T(0.5) * a * (T(1) + (T(scalar::kSqrt2OverPi) * (a + T(0.044715) * a.cube())).tanh());
                    break;
                case ops::Activation::relu: o = a.max(T(0)); break;
            }
        });
    }
    template <class T>
    static void activation_backward(ops::Activation f, const HTensor<T>& x, const HTensor<T>& dy, HTensor<T>& dx) {
        require_eigen_type<T>();
        for_chunks(x.numel(), 20, [&](int64_t i0, int64_t i1) {
            ConstArrayMap<T> a(x.data() + i0, i1 - i0), g(dy.data() + i0, i1 - i0);
            ArrayMap<T> o(dx.data() + i0, i1 - i0);
            switch (f) {
                case ops::Activation::quick_gelu: {
                    const auto s = (T(scalar::kQuickGeluAlpha) * a).logistic().eval();
                    o = g * (s + T(scalar::kQuickGeluAlpha) * a * s * (T(1) - s));
                    break;
                }
                case ops::Activation::gelu: {
                    const auto cdf = (T(0.5) * (T(1) + (a * T(scalar::kInvSqrt2)).erf())).eval();
                    o = g * (cdf + a * (T(-0.5) * a.square()).exp() * T(0.3989422804014327));
                    break;
                }
                case ops::Activation::gelu_tanh: {
                    const auto t = (T(scalar::kSqrt2OverPi) * (a + T(0.044715) * a.cube())).tanh().eval();
                    o = g * (T(0.5) * (T(1) + t) +
                             T(0.5) * a * (T(1) - t.square()) * T(scalar::kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * a.square()));
                    break;
                }
                case ops::Activation::relu: o = (a > T(0)).select(g, T(0)); break;
            }
        });
    }
};

}  // namespace contra::eig
