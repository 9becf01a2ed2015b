// examples/variants/train_csv.cpp — a model of one's own (ConvTower, conv_tower.hpp) trained on a
// CSV of image–caption pairs through contra::run: checkpoints and resuming, metrics.jsonl, the
// loss curve, results.json with retrieval on held-out pairs. Run it again to resume.
//   train_csv TRAIN.csv VAL.csv RUN_FOLDER      (shapes_csv writes such files)
#include <contra/run/runner.hpp>
#include <contra/tasks/image_text.hpp>

#include "conv_tower.hpp"
using namespace contra;

int main(int argc, char** argv) try {
    CONTRA_CHECK(argc == 4, "usage: train_csv TRAIN.csv VAL.csv RUN_FOLDER");
    tasks::ImageTextOptions io;
    io.image_size = 32;
    auto pairs = tasks::ImageTextStream::csv(argv[1], {}, data::Tokenizer{}, 77, io);
    const tasks::CaptionEncoder text(data::learn_bpe(pairs.captions(), 600), 16);  // a vocabulary from the captions
    pairs.use_tokenizer(text.tokenizer(), text.context_length());
    auto config = model::preset("shapes");  // its text tower and embedding sizes
    config.text.vocab_size = text.vocab_size();
    config.text.context_length = text.context_length();
    my::ConvClip<float, cpu> clip(config, my::ConvTowerConfig{32, 3, 16}, /*seed=*/1);
    optim::AdamW<float, cpu> optimizer(clip);
    train::Options options;
    options.batch_size = 64, options.epochs = 3, options.lr = 2e-3, options.warmup_steps = 10;
    run::RunSpec spec;
    spec.out = argv[3];
    spec.evaluate = [&] {
        io.augment = io.shuffle = false;
        auto held_out = tasks::ImageTextStream::csv(argv[2], {}, text.tokenizer(), text.context_length(), io);
        const auto [r, n] = tasks::paired_retrieval(clip, held_out);
        return run::json{{"val_pairs", n}, {"image_to_text_r1", r.image_to_text_r1}, {"text_to_image_r1", r.text_to_image_r1}};
    };
    train::State state;  // a fresh run, or the one in RUN_FOLDER
    if (std::filesystem::exists(spec.out / "checkpoint.safetensors")) state = run::restore(run::resume_point(spec.out), clip, optimizer);
    const auto result = run::train(clip, optimizer, pairs, options, spec, state);
    std::printf("%s\n", result.results.dump(2).c_str());
} catch (const std::exception& e) {
    std::fprintf(stderr, "train_csv: %s\n", e.what());
    return 1;
}
