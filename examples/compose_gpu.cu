// examples/compose_gpu.cu — the library on a GPU: the README's example as an nvcc translation
// unit. The same types with `cuda` for `cpu`: OpenAI's CLIP on the CUDA backend, trained on the
// shapes task; batches are copied to the GPU by train::fit. Exits 77 (skipped) without a GPU.
#include <contra/cuda.hpp>           // first in a .cu file: everything contra.hpp has, plus the CUDA backend
#include <contra/tasks/shapes.hpp>   // the shapes task (and BPE learning)
#include <contra/train/trainer.hpp>  // train::fit
#include <cstdio>

using namespace contra;
using T = float;  // bf16: mixed precision (bf16 weights and activations, fp32 master weights in AdamW)
using Model = model::OpenAiClip<T, cuda>;

int main() {
    if (!cu::cuda_available()) {
        std::printf("SKIPPED: no GPU\n");
        return 77;
    }
    auto tokenizer = data::learn_bpe(tasks::shapes_corpus(), 600);
    const tasks::ShapesPairs pairs(4096, tasks::CaptionEncoder(tokenizer, 16), /*seed=*/0);
    model::ClipConfig config = model::preset("shapes");
    config.text.vocab_size = tokenizer.vocab_size();
    Model model(config, /*seed=*/0);               // parameters in GPU memory
    optim::AdamW<T, cuda> optimizer(model);
    train::Options options;
    options.batch_size = 64;
    options.max_steps = 60;
    train::Hooks hooks;
    double first = 0, last = 0;
    hooks.on_step = [&](const train::StepRecord& r, const train::State&) { (r.step == 1 ? first : last) = r.loss; };
    train::fit(model, optimizer, pairs, options, hooks);
    std::printf("%lld parameters on the GPU; InfoNCE loss %.3f after 1 step, %.3f after 60\n",
                (long long)model.parameter_count(), first, last);
    return last < first ? 0 : 1;
}
