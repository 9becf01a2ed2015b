// contra inspect FILE: the tensors of a safetensors file (name, dtype, shape), its metadata,
// and, when it is a CLIP checkpoint, the architecture contra reads from it.
// contra tokenize --bpe FILE | --hf FOLDER TEXT...: one line of ids per text ([start] + BPE + [end], cut to the
// context with end-of-text last, no padding).
#pragma once
#include <CLI/CLI.hpp>
#include <contra/data/hf_tokenizer.hpp>
#include <cstdio>
#include <filesystem>

#include "info.hpp"
#include "pretrained.hpp"

namespace contra::cli {

struct InspectOptions {
    std::string path;
};

inline void inspect_command(const InspectOptions& o) {
    namespace fs = std::filesystem;
    const fs::path file = fs::is_directory(o.path) ? fs::path(o.path) / "model.safetensors" : fs::path(o.path);
    const auto in = io::SafetensorsFile::read(file);
    std::int64_t elements = 0;
    for (const auto& name : in.names()) {
        const auto& info = in.info(name);
        elements += info.shape.numel();
        std::printf("%-64s %-5s %s\n", name.c_str(), std::string(dtype_name(info.dtype)).c_str(),
                    contra::detail::concat(info.shape).c_str());
    }
    std::printf("%zu tensors, %s elements\n", in.names().size(), with_commas(elements).c_str());
    for (const auto& [key, value] : in.metadata())
        std::printf("metadata %s: %s\n", key.c_str(), value.size() > 200 ? (value.substr(0, 200) + "...").c_str() : value.c_str());
    try {
        const auto p = io::describe_pretrained(o.path);
        std::printf("CLIP (%s layout, %s): %s\n",
                    p.layout == io::WeightLayout::hf ? "Hugging Face" : p.layout == io::WeightLayout::contra ? "contra" : "OpenAI",
                    io::activation_name(p.activation).c_str(), io::to_json(p.config).dump().c_str());
        if (const auto& r = p.resnet)
            std::printf("image tower: ModifiedResNet %s (config.vision unused)\n", io::to_json(*r).dump().c_str());
    } catch (const Error& e) {
        std::printf("not read as a CLIP model: %s\n", e.what());
    }
}

inline void add_inspect(CLI::App& app, InspectOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("inspect", "List the tensors of a safetensors file (or an HF model folder)");
    cmd->add_option("file", o.path, "a .safetensors file or an HF model folder")->required();
    cmd->callback([&] { run = [&] { inspect_command(o); }; });
}

struct TokenizeOptions {
    std::string bpe, hf;
    int context = data::kClipContextLength;
    std::vector<std::string> texts;
};

inline void tokenize_command(const TokenizeOptions& o) {
    CONTRA_CHECK(o.bpe.empty() != o.hf.empty(), "tokenize: give either --bpe FILE or --hf FOLDER");
    const auto tokenizer = o.hf.empty() ? data::Tokenizer::from_merges_file(o.bpe) : data::tokenizer_from_hf_folder(o.hf);
    for (const auto& text : o.texts) {
        auto ids = tokenizer.tokenize(text, o.context);
        while (!ids.empty() && ids.back() == 0) ids.pop_back();  // padding (the last real id is end-of-text)
        std::string line;
        for (const auto id : ids) line += (line.empty() ? "" : " ") + std::to_string(id);
        std::printf("%s\n", line.c_str());
    }
}

inline void add_tokenize(CLI::App& app, TokenizeOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("tokenize", "Token ids of texts with CLIP's BPE");
    cmd->add_option("--bpe", o.bpe, "The merges file (bpe_simple_vocab_16e6.txt.gz)");
    cmd->add_option("--hf", o.hf, "Or an HF model folder with merges.txt and vocab.json");
    cmd->add_option("--context", o.context, "Context length (cut longer texts)")->capture_default_str()->check(CLI::Range(2, 1 << 20));
    cmd->add_option("texts", o.texts, "Texts to tokenize")->required();
    cmd->callback([&] { run = [&] { tokenize_command(o); }; });
}

}  // namespace contra::cli
