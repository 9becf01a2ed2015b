// contra/nn/embedding.hpp — Embedding: rows of a [V, W] table looked up by integer ids.
// defines: nn::Embedding
#pragma once
#include "../autograd/ops.hpp"
#include "../autograd/parameter.hpp"

namespace contra::nn {

template <class T, class B>
struct Embedding {
    using value_type = T;
    using backend = B;

    Parameter<T, B> weight;  // [V, W]

    Embedding() = default;
    Embedding(std::int64_t vocab, std::int64_t width) : weight(Shape{vocab, width}) {}

    std::int64_t vocab_size() const { return weight.shape()[0]; }

    // ids [N] (each in [0, V)) → [N, W]; the gradient scatters back into the used rows.
    Var<T, B> forward(const TensorOn<ops::Index, B>& ids) const { return ad::gather_rows<T, B>(weight, ids); }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "weight"), weight);
    }
    void initialize(std::uint64_t seed, const std::string& prefix) { init_normal(weight, 1.0, seed, join(prefix, "weight")); }
};

}  // namespace contra::nn
