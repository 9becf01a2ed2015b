// AdamW over a whole model in one call (ops::adamw_group): clipping folded into the update gives
// the bits of clipping the gradients first and then updating, and leaves the gradients as they were;
// the op refuses mismatched tensors and master weights where they do not belong.
#include <doctest/doctest.h>

#include <contra/model/model.hpp>
#include <contra/optim/adamw.hpp>
#include <contra/optim/clip_grad.hpp>

#include "../support/compare.hpp"

using namespace contra;

namespace adamw_group_test {

using Model = model::OpenAiClip<double, cpu>;

// Every parameter's values, and every gradient, in visiting order.
std::vector<double> values_of(Model& m, bool gradients = false) {
    std::vector<double> out;
    for_each_parameter(m, [&](const std::string&, Parameter<double, cpu>& p) {
        const auto& t = gradients ? p.grad() : p.value();
        out.insert(out.end(), t.data(), t.data() + t.numel());
    });
    return out;
}

void gradients_of_a_batch(Model& m) {
    const auto images = test::random_tensor(Shape{4, 3, 8, 8}, 3);
    const auto tokens = Tensor<ops::Index, cpu>::from(Shape{4, 3}, {22, 5, 23, 22, 7, 23, 22, 9, 23, 22, 11, 23});
    Tape tape;
    Tape::Active on(tape);
    backward(m.loss(images, tokens));
}

}  // namespace adamw_group_test

TEST_CASE("AdamW with a gradient scale equals clipping the gradients first, and leaves them unchanged") {
    using namespace adamw_group_test;
    Model folded(model::preset("tiny"), 1), first(model::preset("tiny"), 1);
    optim::AdamW<double, cpu> folded_optimizer(folded), first_optimizer(first);
    for (int step = 0; step < 3; ++step) {
        gradients_of_a_batch(folded);
        gradients_of_a_batch(first);
        const double norm = optim::global_grad_norm(folded);
        const double clip = optim::clip_coefficient(norm, 0.5 * norm);  // clipping is active
        REQUIRE(clip < 1);
        const auto gradients = values_of(folded, true);
        folded_optimizer.step(1e-2, clip);
        CHECK(values_of(folded, true) == gradients);
        optim::scale_gradients(first, clip);
        first_optimizer.step(1e-2);
        CHECK(values_of(folded) == values_of(first));  // bit for bit
        folded_optimizer.zero_grad();
        first_optimizer.zero_grad();
    }
    CHECK(optim::clip_coefficient(1.0, 2.0) == 1.0);  // below the limit: no scaling
}

TEST_CASE("adamw_group refuses mismatched tensors and master weights where they do not belong") {
    auto p = Tensor<float, cpu>::zeros(Shape{4}), g = Tensor<float, cpu>::zeros(Shape{4});
    auto m = Tensor<float, cpu>::zeros(Shape{4}), v = Tensor<float, cpu>::zeros(Shape{3});
    auto master = Tensor<float, cpu>::zeros(Shape{4});
    const ops::AdamWStep h{1e-2, 0.9, 0.98, 1e-6, 0.2, 1};
    const std::vector<ops::AdamWTensor<float, cpu>> short_moment{{&p, &g, &m, &v, nullptr, true}};
    CHECK_THROWS_WITH_AS(ops::adamw_group(cpu{}, std::span(short_moment), h, 1.0f), doctest::Contains("moments"), Error);
    v = Tensor<float, cpu>::zeros(Shape{4});
    const std::vector<ops::AdamWTensor<float, cpu>> float_master{{&p, &g, &m, &v, &master, true}};
    CHECK_THROWS_WITH_AS(ops::adamw_group(cpu{}, std::span(float_master), h, 1.0f), doctest::Contains("master weights"), Error);
    const std::vector<ops::AdamWTensor<float, cpu>> fine{{&p, &g, &m, &v, nullptr, true}};
    CHECK_THROWS_WITH_AS(ops::adamw_group(cpu{}, std::span(fine), ops::AdamWStep{1e-2, 0.9, 0.98, 1e-6, 0.2, 0}, 1.0f),
                         doctest::Contains("step counts from 1"), Error);
    auto bp = Tensor<bf16, cpu>::zeros(Shape{4}), bg = Tensor<bf16, cpu>::zeros(Shape{4});
    const std::vector<ops::AdamWTensor<bf16, reference>> no_master{{&bp, &bg, &m, &v, nullptr, true}};
    CHECK_THROWS_WITH_AS(ops::adamw_group(reference{}, std::span(no_master), h, 1.0f), doctest::Contains("master weights"), Error);
}
