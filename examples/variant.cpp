// examples/variant.cpp — a new CLIP variant in a few lines: the OpenAI image tower, a text tower
// with GELU and no causal mask, trained with SigLIP's sigmoid loss instead of InfoNCE.
#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>

#include <cstdio>

using namespace contra;
using T = float;
using B = cpu;

using BidirectionalText = nn::TextTransformer<nn::ResidualBlock<T, B, nn::NoMask, nn::Gelu>>;
using Model = model::Clip<nn::OpenAiVision<T, B>, BidirectionalText, loss::SigLip<T, B>>;

int main() {
    Model model(model::preset("tiny"), /*seed=*/1);
    optim::AdamW<T, B> optimizer(model);
    Rng rng(7);
    auto images = Tensor<T>::empty(Shape{8, 3, 8, 8});                    // random "images"
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = T(rng.normal());
    auto tokens = Tensor<ops::Index>::zeros(Shape{8, 6});                 // random "captions"
    for (std::int64_t i = 0; i < 8; ++i)
        for (std::int64_t t = 0; t < 5; ++t) tokens[i * 6 + t] = ops::Index(t == 4 ? 23 : rng.below(23));
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
        Tape tape;
        Tape::Active recording(tape);
        optimizer.zero_grad();
        auto loss = model.loss(images, tokens);                           // [] SigLIP loss
        backward(loss);
        optimizer.step(3e-3);
        model.clamp_parameters();
        (step == 0 ? first : last) = loss.value().item();
    }
    std::printf("SigLIP variant: %lld parameters, loss %.4f -> %.4f\n", (long long)model.parameter_count(), first, last);
    return last < first ? 0 : 1;
}
