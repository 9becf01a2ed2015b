// examples/compose.cpp — the README's example: compose a CLIP variant as a type, train it.
#include <contra/contra.hpp>         // tensors, autograd, nn, losses, models, optimizers
#include <contra/tasks/shapes.hpp>    // the shapes task (and BPE learning)
#include <contra/train/trainer.hpp>   // train::fit
#include <cstdio>

using namespace contra;
// The OpenAI image tower, a GELU text tower without the causal mask, SigLIP's sigmoid loss.
using Text = nn::TextTransformer<nn::ResidualBlock<float, cpu, nn::NoMask, nn::Gelu>>;
using Model = model::Clip<nn::OpenAiVision<float, cpu>, Text, loss::SigLip<float, cpu>>;

int main() {
    auto tokenizer = data::learn_bpe(tasks::shapes_corpus(), 600);       // BPE learned from the captions
    const tasks::ShapesPairs pairs(4096, tasks::CaptionEncoder(tokenizer, 16), /*seed=*/0);
    model::ClipConfig config = model::preset("shapes");                         // sizes are run-time values
    config.text.vocab_size = tokenizer.vocab_size();
    Model model(config, /*seed=*/0);
    optim::AdamW<float, cpu> optimizer(model);
    train::Options options;
    options.batch_size = 64;
    options.max_steps = 60;
    train::Hooks hooks;
    double first = 0, last = 0;
    hooks.on_step = [&](const train::StepRecord& r, const train::State&) { (r.step == 1 ? first : last) = r.loss; };
    train::fit(model, optimizer, pairs, options, hooks);                  // AdamW, warmup + cosine, clipping
    std::printf("%lld parameters; SigLIP loss %.3f after 1 step, %.3f after 60\n", (long long)model.parameter_count(),
                first, last);
    return last < first ? 0 : 1;
}
