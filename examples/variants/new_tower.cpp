// examples/variants/new_tower.cpp — the new image tower of conv_tower.hpp checked: it satisfies
// nn::ImageTower, its gradients pass gradcheck, and it trains in model::Clip next to the OpenAI
// text tower.
#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>

#include <cmath>
#include <cstdio>

#include "conv_tower.hpp"


using namespace contra;
static_assert(nn::ImageTower<my::ConvTower<float, cpu>>);

// Random values for every parameter (the initial ones, zeros and ones, would hide mistakes).
template <class M>
void randomize(M& m) {
    for_each_parameter(m, [](const std::string& name, auto& p) { init_normal(p, 0.5, 3, name); });
}
bool report(const char* what, const GradcheckReport& r) {
    std::printf("gradcheck %-10s %s (%lld checks, max error %.2g)\n", what, r.ok ? "ok" : "FAILED", (long long)r.checked,
                r.worst_abs_error);
    if (!r.ok) std::printf("%s", r.detail.c_str());
    return r.ok;
}

int main() {
    const my::ConvTowerConfig sizes;  // 8×8 RGB images, as the tiny preset's
    Rng rng(5);
    auto images = Tensor<double>::empty(Shape{3, 3, 8, 8});
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = rng.normal();
    const auto tokens = Tensor<ops::Index>::from(Shape{3, 4}, {23, 5, 1, 0, 3, 23, 0, 0, 7, 7, 9, 23});

    // Gradients, in float64: the tower's embeddings, then the loss of a whole CLIP around it.
    my::ConvTower<double, cpu> tower(sizes, 8);
    randomize(tower);
    GradcheckOptions options;
    options.max_checks_per_input = 40;  // a spread-out subset of each parameter's elements
    bool ok = report("tower", gradcheck_module<cpu>(tower, [&](auto& m) { return m.encode(images); }, options));
    my::ConvClip<double, cpu> clip64(model::preset("tiny"), sizes);
    randomize(clip64);
    ok &= report("CLIP loss", gradcheck_module<cpu>(clip64, [&](auto& m) { return m.loss(images, tokens); }, options));

    // The names model::Clip gives the tower's parameters.
    my::ConvClip<float, cpu> model(model::preset("tiny"), sizes, /*seed=*/1);
    model.visit_parameters([](const std::string& name, Parameter<float, cpu>& p) {
        if (name.starts_with("visual.")) std::printf("  %-24s %lld elements\n", name.c_str(), (long long)p.numel());
    });

    // Training, in float32.
    optim::AdamW<float, cpu> optimizer(model);
    const auto images32 = cast<float>(images);
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
        Tape tape;
        Tape::Active recording(tape);
        optimizer.zero_grad();
        auto loss = model.loss(images32, tokens);
        backward(loss);
        optimizer.step(3e-3);
        model.clamp_parameters();
        (step == 0 ? first : last) = loss.value().item();
    }
    std::printf("conv-tower CLIP: %lld parameters, loss %.4f -> %.4f\n", (long long)model.parameter_count(), first, last);
    return ok && last < first ? 0 : 1;
}
