// examples/variants/new_loss.cpp — a new contrastive loss: InfoNCE with label smoothing.
// Row i of the [N, N] logits is scored against the target q_i = (1 − ε)·onehot(i) + ε/N instead
// of onehot(i), in both directions (images → texts over rows, texts → images over columns):
//   loss = −(Σ q ⊙ log_softmax(logits) + Σ q ⊙ log_softmax(logitsᵀ)) / 2N
// With ε = 0 it is loss::InfoNce, which the program checks, values and gradients.
#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace my {
using namespace contra;

template <class T, class B>
struct SmoothedInfoNce {
    using value_type = T;  // loss::ContrastiveLoss asks for value_type, backend, visit_parameters(f, prefix),
    using backend = B;     // initialize(seed, prefix), loss(image, text) → [], logits(image, text) → [N, M],
    using V = Var<T, B>;   // scale() and clamp_parameters()

    double smoothing = 0.1;                    // ε
    Parameter<T, B> logit_scale{Shape{}};  // [] as InfoNce's

    // Called by model::Clip's constructor (prefix "").
    void initialize(std::uint64_t, const std::string& = "") { init_constant(logit_scale, std::log(1 / 0.07)); }
    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "logit_scale"), logit_scale);
    }
    // Called after every optimizer step: logit_scale ∈ [0, ln 100], as InfoNce.
    void clamp_parameters() {
        auto host = to_device<cpu>(logit_scale.value());
        host[0] = T(std::clamp(double(host[0]), 0.0, std::log(100.0)));
        copy(host, logit_scale.value());
    }

    // exp(logit_scale): the factor on the cosine similarities (logged while training).
    double scale() const { return std::exp(double(to_device<cpu>(logit_scale.value())[0])); }

    // logits = exp(logit_scale)·normalize(image)·normalize(text)ᵀ, [N, M] (model::Clip::logits uses it)
    V logits(const V& image_features, const V& text_features) const {
        const V cosine = ad::matmul(ad::l2_normalize(image_features), ad::l2_normalize(text_features), ops::Trans::N,
                                    ops::Trans::T);
        return ad::mul(cosine, ad::exp(V(logit_scale)));
    }

    // image_features, text_features [N, E] (row i of each a matching pair) → scalar loss
    V operator()(const V& image_features, const V& text_features) const {
        CONTRA_CHECK(image_features.shape() == text_features.shape() && image_features.shape().rank() == 2,
                     "SmoothedInfoNce: features ", image_features.shape(), " and ", text_features.shape(),
                     " must both be [N, E]");
        const std::int64_t n = image_features.shape()[0];
        auto q = Tensor<T, cpu>::full(Shape{n, n}, T(smoothing / double(n)));  // the smoothed targets
        for (std::int64_t i = 0; i < n; ++i) q[i * n + i] = T(1 - smoothing + smoothing / double(n));
        const V targets(to_device<device_of<B>>(q));  // a constant: no gradient
        const V per_image = logits(image_features, text_features);  // [N, N]
        const V rows = ad::sum(ad::mul(ad::log_softmax(per_image), targets));
        const V cols = ad::sum(ad::mul(ad::log_softmax(ad::transpose(per_image)), targets));  // q is symmetric
        return ad::affine(ad::add(rows, cols), acc_t<T>(-0.5 / double(n)));
    }
};
}  // namespace my

using namespace contra;
static_assert(loss::ContrastiveLoss<my::SmoothedInfoNce<float, cpu>>);

// The loss and its gradients with respect to both features and logit_scale (one tape).
template <class Loss>
std::vector<Tensor<double>> loss_and_gradients(Loss& loss, const Tensor<double>& image, const Tensor<double>& text) {
    Tape tape;
    Tape::Active recording(tape);
    loss.logit_scale.zero_grad();
    const auto img = leaf<cpu>(image.clone()), txt = leaf<cpu>(text.clone());
    const auto value = loss(img, txt);
    backward(value);
    return {value.value().clone(), img.grad().clone(), txt.grad().clone(), loss.logit_scale.grad().clone()};
}

int main() {
    Rng rng(9);
    auto image = Tensor<double>::empty(Shape{5, 4}), text = Tensor<double>::empty(Shape{5, 4});  // [N, E]
    for (std::int64_t i = 0; i < image.numel(); ++i) image[i] = rng.normal(), text[i] = rng.normal();

    // Gradients, in float64: with respect to the features (gradcheck) and to logit_scale (gradcheck_module).
    my::SmoothedInfoNce<double, cpu> smoothed;
    smoothed.initialize(0);
    const auto features = gradcheck<cpu>([&](auto& v) { return smoothed(v[0], v[1]); }, {image, text});
    const Var<double, cpu> img(image), txt(text);
    const auto scale = gradcheck_module<cpu>(smoothed, [&](auto& m) { return m(img, txt); });
    std::printf("gradcheck features %s (max error %.2g), logit_scale %s (max error %.2g)\n", features.ok ? "ok" : "FAILED",
                features.worst_abs_error, scale.ok ? "ok" : "FAILED", scale.worst_abs_error);

    // ε = 0 is InfoNCE: the same loss and the same gradients as loss::InfoNce.
    loss::InfoNce<double, cpu> info_nce;
    info_nce.initialize(0);
    smoothed.smoothing = 0;
    const auto ours = loss_and_gradients(smoothed, image, text), theirs = loss_and_gradients(info_nce, image, text);
    double worst = 0;
    for (std::size_t k = 0; k < ours.size(); ++k)
        for (std::int64_t i = 0; i < ours[k].numel(); ++i) worst = std::max(worst, std::abs(ours[k][i] - theirs[k][i]));
    smoothed.smoothing = 0.1;
    const double with_smoothing = loss_and_gradients(smoothed, image, text)[0].item();
    std::printf("eps = 0: loss %.12f, InfoNce %.12f, largest difference (loss and gradients) %.2g\n", ours[0].item(),
                theirs[0].item(), worst);
    std::printf("eps = 0.1: loss %.6f\n", with_smoothing);

    // Training, in float32: the OpenAI towers with the new loss.
    model::Clip<nn::OpenAiVision<float, cpu>, nn::OpenAiText<float, cpu>, my::SmoothedInfoNce<float, cpu>> model(
        model::preset("tiny"), /*seed=*/1);
    optim::AdamW<float, cpu> optimizer(model);
    auto images = Tensor<float>::empty(Shape{8, 3, 8, 8});
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = float(rng.normal());
    auto tokens = Tensor<ops::Index>::zeros(Shape{8, 6});
    for (std::int64_t i = 0; i < 8; ++i)
        for (std::int64_t t = 0; t < 5; ++t) tokens[i * 6 + t] = ops::Index(t == 4 ? 23 : rng.below(23));
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
        Tape tape;
        Tape::Active recording(tape);
        optimizer.zero_grad();
        auto loss = model.loss(images, tokens);
        backward(loss);
        optimizer.step(3e-3);
        model.clamp_parameters();
        (step == 0 ? first : last) = loss.value().item();
    }
    std::printf("label-smoothed CLIP: loss %.4f -> %.4f\n", first, last);
    return features.ok && scale.ok && worst < 1e-12 && last < first ? 0 : 1;
}
