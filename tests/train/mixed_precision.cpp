// Mixed precision on the reference backend, which holds bf16: fp32 master weights and moments for
// bf16 parameters (ops::adamw_master, optim::AdamW<bf16, B>), checked against their composite
// twin (widen, adamw in float, round); a bf16 CLIP whose loss and logit_scale are fp32, and whose
// loss, gradients and first steps are the float one's to bf16's precision; and checkpoints that
// keep the masters bit for bit.
#include <doctest/doctest.h>

#include <contra/io/checkpoint.hpp>
#include <contra/model/model.hpp>
#include <contra/optim/adamw.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "../support/compare.hpp"
#include "../support/temp_dir.hpp"

using namespace contra;

namespace mixed_precision_test {

std::vector<std::uint16_t> bits_of(const Tensor<bf16, cpu>& t) {
    std::vector<std::uint16_t> out;
    for (std::int64_t i = 0; i < t.numel(); ++i) out.push_back(t[i].bits);
    return out;
}

// ‖a − b‖ / ‖b‖ over two equally long lists of values.
double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff += (a[i] - b[i]) * (a[i] - b[i]);
        norm += b[i] * b[i];
    }
    return std::sqrt(diff / norm);
}

using FloatModel = model::OpenAiClip<float, reference>;
using Bf16Model = model::OpenAiClip<bf16, reference>;

struct Batch {
    Tensor<float, cpu> images = test::random_tensor<float>(Shape{4, 3, 8, 8}, 5);
    Tensor<ops::Index, cpu> tokens = Tensor<ops::Index, cpu>::from(Shape{4, 3}, {22, 5, 23, 22, 7, 23, 22, 9, 23, 22, 11, 23});
};

// The float model's parameters rounded to bf16, in both models: they start from the same values.
void start_equal(FloatModel& wide, Bf16Model& narrow) {
    std::vector<Tensor<bf16, cpu>> rounded;
    for_each_parameter(wide, [&](const std::string&, Parameter<float, reference>& p) {
        rounded.push_back(cast<bf16>(p.value()));
        copy(cast<float>(rounded.back()), p.value());
    });
    std::size_t k = 0;  // the bf16 model's logit_scale is a float parameter: it takes the same rounded value
    for_each_parameter(narrow, [&]<class P>(const std::string&, Parameter<P, reference>& p) { copy(cast<P>(rounded[k++]), p.value()); });
    REQUIRE(k == rounded.size());
}

// The tiny preset with 3-token captions (Batch's).
model::ClipConfig tiny_config() {
    auto config = model::preset("tiny");
    config.text.context_length = 3;
    return config;
}

// A float and a bf16 CLIP starting from the same (bf16-representable) weights.
struct TwinModels {
    model::ClipConfig config = tiny_config();
    FloatModel wide{config, 4};
    Bf16Model narrow{config, 4};
    TwinModels() { start_equal(wide, narrow); }
};

// model's loss on the batch, its gradients left in the parameters.
template <class Model>
double loss_with_gradients(Model& model, const Tensor<typename Model::value_type, cpu>& images, const Batch& b) {
    Tape tape;
    Tape::Active on(tape);
    const auto loss = model.loss(images, b.tokens);
    backward(loss);
    return double(loss.value()[0]);
}

template <class Model, class Opt>
double step(Model& model, Opt& optimizer, const Tensor<typename Model::value_type, cpu>& images, const Batch& b, double lr) {
    optimizer.zero_grad();
    Tape tape;
    Tape::Active on(tape);
    const auto loss = model.loss(images, b.tokens);
    backward(loss);
    optimizer.step(lr);
    model.clamp_parameters();
    return double(loss.value()[0]);
}

}  // namespace mixed_precision_test

using namespace mixed_precision_test;

TEST_CASE("adamw_master is its composite twin: widen the gradient, adamw on the master, round the parameter") {
    const Shape s{7, 9};
    auto master = test::random_tensor<float>(s, 1);
    auto param = cast<bf16>(master);
    auto m = Tensor<float, cpu>::zeros(s), v = Tensor<float, cpu>::zeros(s);
    auto twin_master = cast<float>(master);  // separate copies of the same starting state
    auto twin_m = Tensor<float, cpu>::zeros(s), twin_v = Tensor<float, cpu>::zeros(s);
    for (int t = 1; t <= 4; ++t) {
        const auto grad = cast<bf16>(test::random_tensor<float>(s, 10 + std::uint64_t(t)));
        const ops::AdamWStep h{1e-2, 0.9, 0.98, 1e-6, t % 2 ? 0.2 : 0.0, t};
        ops::adamw_master(reference{}, master, param, grad, m, v, h);
        ops::adamw(reference{}, twin_master, cast<float>(grad), twin_m, twin_v, h);
        CHECK(master.to_vector() == twin_master.to_vector());
        CHECK(m.to_vector() == twin_m.to_vector());
        CHECK(v.to_vector() == twin_v.to_vector());
        CHECK(bits_of(param) == bits_of(cast<bf16>(twin_master)));
    }
}

TEST_CASE("adamw_master: the master keeps updates too small for bf16, and follows a parameter changed outside it") {
    auto master = Tensor<float, cpu>::from(Shape{2}, {1.0f, 1.0f});
    auto param = cast<bf16>(master);
    auto grad = Tensor<bf16, cpu>::from(Shape{2}, {bf16(1.0f), bf16(1.0f)});
    auto m = Tensor<float, cpu>::zeros(Shape{2}), v = Tensor<float, cpu>::zeros(Shape{2});
    // lr 1e-4: each step moves the master by about 1e-4, under half of bf16's spacing at 1 (2^-7).
    for (int t = 1; t <= 3; ++t) ops::adamw_master(reference{}, master, param, grad, m, v, {1e-4, 0.9, 0.98, 1e-6, 0.0, t});
    CHECK(master[0] == doctest::Approx(1.0 - 3e-4).epsilon(1e-3));
    CHECK(float(param[0]) == 1.0f);  // the parameter has not moved yet; without a master it never would
    // Clamped from outside (as logit_scale is): the master starts the next step from the new value.
    param[1] = bf16(0.5f);
    ops::adamw_master(reference{}, master, param, grad, m, v, {1e-4, 0.9, 0.98, 1e-6, 0.0, 4});
    CHECK(master[1] == doctest::Approx(0.5 - 1e-4).epsilon(1e-3));
    CHECK(master[0] == doctest::Approx(1.0 - 4e-4).epsilon(1e-3));
}

TEST_CASE("a bf16 CLIP's loss and gradients are the float CLIP's to bf16's precision") {
    TwinModels twins;
    FloatModel& wide = twins.wide;
    Bf16Model& narrow = twins.narrow;
    const Batch b;
    const double wide_loss = loss_with_gradients(wide, b.images, b);
    const double narrow_loss = loss_with_gradients(narrow, cast<bf16>(b.images), b);
    CHECK(narrow_loss == doctest::Approx(wide_loss).epsilon(1e-2));
    std::vector<std::vector<double>> wide_grads;
    for_each_parameter(wide, [&](const std::string&, Parameter<float, reference>& p) {
        wide_grads.emplace_back(p.grad().data(), p.grad().data() + p.numel());
    });
    std::size_t k = 0;
    double worst = 0;
    for_each_parameter(narrow, [&]<class P>(const std::string& name, Parameter<P, reference>& p) {
        const auto g = cast<double>(p.grad());
        const double d = relative_difference(std::vector<double>(g.data(), g.data() + g.numel()), wide_grads[k++]);
        CAPTURE(name);
        CHECK(d < 0.15);  // measured: 1–9% (eight mantissa bits, rounded at every stored activation)
        worst = std::max(worst, d);
    });
    MESSAGE("largest relative gradient difference of a tensor, bf16 against float: " << worst);
}

TEST_CASE("a bf16 CLIP computes its logits and loss in fp32, and keeps logit_scale in fp32") {
    TwinModels twins;
    static_assert(std::is_same_v<decltype(twins.narrow.loss_fn.logit_scale), Parameter<float, reference>>);
    const Batch b;
    Tape tape;
    Tape::Active on(tape);
    const auto images = cast<bf16>(b.images);
    const auto loss = twins.narrow.loss(images, b.tokens);
    static_assert(std::is_same_v<decltype(loss), const Var<float, reference>>);
    // The same features, widened: the loss in float from them is the bf16 model's loss exactly.
    const auto img = ad::cast<float>(twins.narrow.encode_image(images)), txt = ad::cast<float>(twins.narrow.encode_text(b.tokens));
    loss::InfoNce<float, reference> in_float;
    copy(twins.narrow.loss_fn.logit_scale.value(), in_float.logit_scale.value());
    CHECK(loss.value()[0] == in_float(img, txt).value()[0]);
    backward(loss);
    CHECK(twins.narrow.loss_fn.logit_scale.has_grad());
    // A step moves logit_scale by less than bf16's spacing there (2^-6 at 2.66), and it keeps it.
    optim::AdamW<bf16, reference> optimizer(twins.narrow);
    const double before = twins.narrow.loss_fn.logit_scale.value()[0];
    optimizer.step(1e-4);
    const double after = twins.narrow.loss_fn.logit_scale.value()[0];
    CHECK(after != before);
    CHECK(std::abs(after - before) < 0.25 * std::ldexp(1.0, -6));
}

TEST_CASE("a bf16 CLIP with fp32 masters trains as the float CLIP does, to bf16's precision") {
    TwinModels twins;
    FloatModel& wide = twins.wide;
    Bf16Model& narrow = twins.narrow;
    optim::AdamW<float, reference> wide_opt(wide);
    optim::AdamW<bf16, reference> narrow_opt(narrow);
    static_assert(optim::AdamW<bf16, reference>::mixed_precision && !optim::AdamW<float, reference>::mixed_precision);
    const Batch b;
    const auto narrow_images = cast<bf16>(b.images);
    for (int t = 0; t < 6; ++t) {
        const double wide_loss = step(wide, wide_opt, b.images, b, 1e-3);
        const double narrow_loss = step(narrow, narrow_opt, narrow_images, b, 1e-3);
        CAPTURE(t);
        CHECK(narrow_loss == doctest::Approx(wide_loss).epsilon(3e-2));
    }
    // The masters follow the float weights; each parameter is its master rounded. logit_scale is
    // fp32 in the bf16 model itself: no master.
    std::map<std::string, Tensor<float, cpu>> fp32_values;
    for (const auto& slot : narrow_opt.slots()) {
        REQUIRE(slot.master.defined());
        fp32_values[slot.name] = slot.master;
        CHECK(bits_of(slot.param.value()) == bits_of(cast<bf16>(slot.master)));
    }
    REQUIRE(narrow_opt.wide_slots().size() == 1);
    CHECK(narrow_opt.wide_slots()[0].name == "logit_scale");
    CHECK(!narrow_opt.wide_slots()[0].master.defined());
    fp32_values["logit_scale"] = narrow.loss_fn.logit_scale.value();
    std::vector<double> wide_values, master_values;
    for_each_parameter(wide, [&](const std::string& name, Parameter<float, reference>& p) {
        for (std::int64_t i = 0; i < p.numel(); ++i) wide_values.push_back(p.value()[i]);
        for (std::int64_t i = 0; i < p.numel(); ++i) master_values.push_back(fp32_values.at(name)[i]);
    });
    const double d = relative_difference(master_values, wide_values);
    MESSAGE("masters against the float weights after 6 steps: relative difference " << d);
    CHECK(d < 2e-2);
}

TEST_CASE("a bf16 model's checkpoint keeps the fp32 masters and moments, bit for bit") {
    const test::TempDir dir("mixed_checkpoint");
    const auto config = tiny_config();
    Bf16Model trained(config, 2);
    optim::AdamW<bf16, reference> optimizer(trained);
    const Batch b;
    const auto images = cast<bf16>(b.images);
    for (int t = 0; t < 2; ++t) step(trained, optimizer, images, b, 1e-3);
    io::save_checkpoint(dir / "ckpt.safetensors", trained, optimizer, {});

    Bf16Model restored(config, 9);
    optim::AdamW<bf16, reference> restored_opt(restored);
    io::load_checkpoint(dir / "ckpt.safetensors", restored, &restored_opt);
    REQUIRE(restored_opt.slots().size() == optimizer.slots().size());
    for (std::size_t k = 0; k < optimizer.slots().size(); ++k) {
        const auto &a = optimizer.slots()[k], &r = restored_opt.slots()[k];
        CAPTURE(a.name);
        CHECK(r.master.to_vector() == a.master.to_vector());
        CHECK(r.m.to_vector() == a.m.to_vector());
        CHECK(r.v.to_vector() == a.v.to_vector());
        CHECK(bits_of(r.param.value()) == bits_of(a.param.value()));
    }
    REQUIRE(restored_opt.wide_slots().size() == 1);
    CHECK(restored_opt.wide_slots()[0].m.to_vector() == optimizer.wide_slots()[0].m.to_vector());
    CHECK(restored.loss_fn.logit_scale.value().to_vector() == trained.loss_fn.logit_scale.value().to_vector());
    // Evaluation reads a bf16 run's weights into a float model: widened exactly.
    FloatModel widened(config, 9);
    io::load_checkpoint(dir / "ckpt.safetensors", widened);
    std::vector<float> narrow_values, wide_values;
    for_each_parameter(trained, [&]<class P>(const std::string&, Parameter<P, reference>& p) {
        for (std::int64_t i = 0; i < p.numel(); ++i) narrow_values.push_back(float(p.value()[i]));
    });
    for_each_parameter(widened, [&](const std::string&, Parameter<float, reference>& p) {
        for (std::int64_t i = 0; i < p.numel(); ++i) wide_values.push_back(p.value()[i]);
    });
    CHECK(wide_values == narrow_values);
    // Resuming needs the model's own type: a float optimizer cannot take a bf16 run's state.
    optim::AdamW<float, reference> wrong(widened);
    CHECK_THROWS_WITH_AS(io::load_checkpoint(dir / "ckpt.safetensors", widened, &wrong), doctest::Contains("BF16"), Error);
    // The next step is the same from either.
    const double next = step(trained, optimizer, images, b, 1e-3), next_restored = step(restored, restored_opt, images, b, 1e-3);
    CHECK(next == next_restored);
}
