// contra export --model PATH --to hf|open_clip --out PATH: a model in the layout other programs
// read. hf: a CLIPModel folder (config.json, model.safetensors, and merges.txt + vocab.json when
// the source carries its tokenizer); open_clip: one safetensors file with the OpenAI names.
#pragma once
#include <contra/data/hf_tokenizer.hpp>
#include <contra/tasks/captions.hpp>
#include <cstdio>

#include "pretrained.hpp"

namespace contra::cli {

struct ExportOptions {
    ModelOptions model;
    std::string to, out;
};

inline void export_command(const ExportOptions& o) {
    const auto p = o.model.describe();
    with_pretrained<float>(p, [&](auto& model) {
        if (o.to == "open_clip") return io::save_open_clip(model, p.config, p.activation, o.out);
        io::save_hf(model, p.config, p.activation, o.out);
        const auto source = p.weights.parent_path();
        if (const auto it = p.metadata.find("tokenizer_merges"); it != p.metadata.end())
            data::save_hf_tokenizer(tasks::merges_from_text(it->second), o.out);
        else if (p.layout == io::WeightLayout::hf && std::filesystem::exists(source / "merges.txt"))
            data::save_hf_tokenizer(data::tokenizer_from_hf_folder(source), o.out);
    });
    std::printf("wrote %s (%s layout)\n", o.out.c_str(), o.to.c_str());
}

inline void add_export(CLI::App& app, ExportOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("export", "Write a model in the Hugging Face or open_clip layout");
    add_model_options(cmd, o.model);
    cmd->add_option("--to", o.to, "hf (a CLIPModel folder) or open_clip (a .safetensors file)")
        ->required()
        ->check(CLI::IsMember({"hf", "open_clip"}));
    cmd->add_option("--out", o.out, "The folder (hf) or file (open_clip) to write")->required();
    cmd->callback([&] { run = [&] { export_command(o); }; });
}

}  // namespace contra::cli
