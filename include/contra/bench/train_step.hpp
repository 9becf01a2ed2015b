// contra/bench/train_step.hpp — the work contra's speed is measured on: one training step
// (forward, symmetric loss, backward, AdamW) on random data, in the configurations of the PyTorch
// CPU peer (torch_clip_cpu.py: tiny, fmnist, vitb32), and embedding without a tape. Used by the
// Google Benchmark suites and by `contra bench`.
// defines: bench::PeerConfig, bench::peer_config, bench::peer_config_names, bench::TrainStep,
//          bench::random_images, bench::random_tokens, bench::peak_rss_bytes
#pragma once
#include <fstream>
#include <string>
#include <vector>

#include "../core/random.hpp"
#include "../model/openai.hpp"
#include "../optim/adamw.hpp"

namespace contra::bench {

// A model and the batch it is timed at.
struct PeerConfig {
    model::ClipConfig clip;
    std::int64_t batch;
};

inline std::vector<std::string> peer_config_names() { return {"tiny", "fmnist", "vitb32"}; }

// peer_config(name): torch_clip_cpu.py's CONFIGS (image C, H, patch; vision width/layers/heads;
// text vocab/context/width/layers/heads; embed; batch), MLP ratio 4.
inline PeerConfig peer_config(const std::string& name) {
    PeerConfig p;
    p.clip.name = name;
    if (name == "tiny") {  // C=3 H=32 P=4 vw=192 vl=4 vh=3 V=49408 T=32 tw=128 tl=4 th=2 E=128 B=64
        p.clip.embed_dim = 128;
        p.clip.vision = nn::VisionConfig{32, 4, 3, 192, 4, 3, 4};
        p.clip.text = nn::TextConfig{32, 49408, 128, 4, 2, 4};
        p.batch = 64;
    } else if (name == "fmnist") {  // C=1 H=28 P=4 vw=128 vl=4 vh=4 V=1024 T=16 tw=128 tl=4 th=4 E=64 B=256
        p.clip.embed_dim = 64;
        p.clip.vision = nn::VisionConfig{28, 4, 1, 128, 4, 4, 4};
        p.clip.text = nn::TextConfig{16, 1024, 128, 4, 4, 4};
        p.batch = 256;
    } else if (name == "vitb32") {  // the OpenAI ViT-B/32 CLIP, B=8
        p.clip = model::preset("ViT-B-32");
        p.clip.name = name;
        p.batch = 8;
    } else {
        throw Error("unknown benchmark configuration '" + name + "' (known: tiny, fmnist, vitb32)");
    }
    return p;
}

// random_images: N(0, 1) pixels [batch, C, S, S], the same for every run.
inline Tensor<float> random_images(const nn::VisionConfig& v, std::int64_t batch, std::uint64_t seed = 1) {
    auto images = Tensor<float>::empty(Shape{batch, v.channels, v.image_size, v.image_size});
    RandomStream rs{seed, 1};
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = float(rs.normal(std::uint64_t(i)));
    return images;
}

// random_tokens: ids in [1, V−2] with the end-of-text id V−1 last, as the peer draws them.
inline Tensor<ops::Index> random_tokens(const nn::TextConfig& t, std::int64_t batch, std::uint64_t seed = 2) {
    auto tokens = Tensor<ops::Index>::empty(Shape{batch, t.context_length});
    Rng rng(seed);
    for (std::int64_t i = 0; i < tokens.numel(); ++i)
        tokens[i] = ops::Index(1 + rng.below(std::uint64_t(t.vocab_size - 2)));
    for (std::int64_t b = 0; b < batch; ++b) tokens[(b + 1) * t.context_length - 1] = ops::Index(t.vocab_size - 1);
    return tokens;
}

// TrainStep<T, B>: an OpenAI CLIP in T on backend B (float32 on the cpu backend by default) with
// AdamW (lr 5e-4 and weight decay 0.2 as the peer), its random batch and its tape. run() is one
// step, numbered 0, 1, … (a training step scope: with model().visual.patch_dropout enabled it drops
// patches); the first two calls size the arena and the gradients, later ones allocate nothing.
template <class T = float, class B = cpu>
class TrainStep {
public:
    explicit TrainStep(const PeerConfig& p)
        : model_(p.clip, 0),
          optimizer_(model_),
          images_(to_device<device_of<B>>(cast<T>(random_images(p.clip.vision, p.batch)))),
          tokens_(random_tokens(p.clip.text, p.batch)),
          batch_(p.batch) {}

    double run() {
        const nn::StepScope in_step(model_, step_++);
        tape_.reset();
        Tape::Active recording(tape_);
        optimizer_.zero_grad();
        auto loss = model_.loss(images_, tokens_);
        backward(loss);
        optimizer_.step(5e-4);
        return double(to_device<cpu>(loss.value())[0]);
    }
    std::int64_t batch() const { return batch_; }
    std::size_t tape_peak_bytes() const { return tape_.host_peak_bytes(); }  // saved activations and temporaries
    std::int64_t parameters() { return model_.parameter_count(); }
    model::OpenAiClip<T, B>& model() { return model_; }
    const TensorOn<T, B>& images() const { return images_; }
    const Tensor<ops::Index>& tokens() const { return tokens_; }

private:
    model::OpenAiClip<T, B> model_;
    optim::AdamW<T, B> optimizer_;
    TensorOn<T, B> images_;
    Tensor<ops::Index> tokens_;
    std::int64_t batch_;
    std::int64_t step_ = 0;
    Tape tape_;
};

// peak_rss_bytes: the most resident memory this process has held (VmHWM; 0 where unknown).
inline std::int64_t peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmHWM:") {
            std::int64_t kb = 0;
            status >> kb;
            return kb * 1024;
        }
        status.ignore(4096, '\n');
    }
    return 0;
}

}  // namespace contra::bench
