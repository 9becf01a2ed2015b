// tests/support/tiny_checkpoint.hpp — files the command tests feed the program: a tiny CLIP saved as
// a contra checkpoint, and PNG photos.
#pragma once
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>

#include <contra/io/checkpoint.hpp>
#include <contra/io/config_json.hpp>
#include <contra/model/model.hpp>
#include <contra/optim/adamw.hpp>
#include <contra/tasks/captions.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace contra::test {

// A fresh tiny ViT CLIP (QuickGELU, InfoNCE, causal text) with a bytes-only tokenizer (514 ids) and
// a 32-token context, saved as a contra checkpoint at `path`; returns the path.
inline std::string tiny_checkpoint(const std::filesystem::path& path, std::uint64_t seed) {
    auto config = model::preset("tiny");
    const data::Tokenizer bytes_only;
    config.text.vocab_size = bytes_only.vocab_size();
    config.text.context_length = 32;
    model::OpenAiClip<float, cpu> model(config, seed);
    optim::AdamW<float, cpu> optimizer(model);
    std::filesystem::create_directories(path.parent_path());
    io::save_checkpoint(path, model, optimizer,
                        {{"config", io::to_json(config).dump()}, {"tokenizer_merges", tasks::merges_to_text(bytes_only)}});
    return path.string();
}

// A w×h colour PNG whose pixels follow from seed.
inline void write_png(const std::filesystem::path& path, int w, int h, int seed) {
    std::vector<std::uint8_t> pixels;
    for (int i = 0; i < w * h * 3; ++i) pixels.push_back(std::uint8_t((seed * 97 + i * (seed % 7 + 3)) % 256));
    std::filesystem::create_directories(path.parent_path());
    REQUIRE(stbi_write_png(path.c_str(), w, h, 3, pixels.data(), w * 3) != 0);
}

}  // namespace contra::test
