// examples/tape_step.cpp — the training step of docs/architecture.md, written out and run: record
// the forward pass on a tape, backpropagate, update, release the step's memory.
#include <contra/contra.hpp>

#include <cstdio>

using namespace contra;

int main() {
    const model::ClipConfig config = model::preset("tiny");
    model::OpenAiClip<float, cpu> model(config, /*seed=*/0);
    optim::AdamW<float, cpu> optimizer(model);
    auto images = Tensor<float, cpu>::empty(Shape{4, 3, 8, 8});  // [N, C, H, W]
    Rng rng(/*seed=*/1);
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = float(rng.normal());
    const auto tokens = Tensor<ops::Index, cpu>::from(Shape{4, 3}, {22, 5, 23, 22, 7, 23, 22, 9, 23, 22, 11, 23});
    const double lr = 1e-2;
    double first = 0, last = 0;
    for (int step = 0; step < 20; ++step) {
        Tape tape;  Tape::Active on(tape);            // record
        auto loss = model.loss(images, tokens);        // ops run now, nodes are pushed
        backward(loss);                                // reverse loop over the nodes
        optimizer.step(lr);  optimizer.zero_grad();    // update, then clear the persistent gradients
        const double value = loss.value()[0];          // read (or clone) what outlives the step first:
        tape.reset();                                  // the step's memory is released at once
        (step == 0 ? first : last) = value;
    }
    std::printf("contrastive loss %.4f at the first step, %.4f at the last\n", first, last);
    return last < first ? 0 : 1;
}
