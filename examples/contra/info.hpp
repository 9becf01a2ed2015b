// contra info --arch NAME: parameter counts per tower and in total, forward FLOPs per image and
// per text, for a preset.
#pragma once
#include <CLI/CLI.hpp>
#include <contra/nn/nn.hpp>
#include <cstdio>

namespace contra::cli {

// 151277313 → "151,277,313"
inline std::string with_commas(long long n) {
    std::string digits = std::to_string(n < 0 ? -n : n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

struct InfoOptions {
    std::string arch = "ViT-B-32";
};

inline void add_info(CLI::App& app, InfoOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("info", "Parameter counts and forward FLOPs of a model preset");
    std::string known;
    for (const auto& n : model::preset_names()) known += (known.empty() ? "" : ", ") + n;
    cmd->add_option("--arch", o.arch, "Preset: " + known)->capture_default_str();
    cmd->callback([&] {
        run = [&] {
            const auto config = model::preset(o.arch);
            const auto count = model::count_parameters(config);
            const auto flops = model::forward_flops(config);
            const auto& v = config.vision;
            const auto& t = config.text;
            std::printf("%s  (embed %lld)\n", config.name.c_str(), (long long)config.embed_dim);
            std::printf("  image tower  ViT %lldx%lldx%lld px, patch %lld, width %lld, %lld layers, %lld heads\n",
                        (long long)v.channels, (long long)v.image_size, (long long)v.image_size, (long long)v.patch_size,
                        (long long)v.width, (long long)v.layers, (long long)v.heads);
            std::printf("  text tower   context %lld, vocab %lld, width %lld, %lld layers, %lld heads\n",
                        (long long)t.context_length, (long long)t.vocab_size, (long long)t.width, (long long)t.layers,
                        (long long)t.heads);
            std::printf("  parameters   image %s   text %s   logit scale %lld   total %s\n",
                        with_commas(count.visual).c_str(), with_commas(count.text).c_str(), (long long)count.other,
                        with_commas(count.total()).c_str());
            std::printf("  forward      %.3f GFLOPs per image, %.3f GFLOPs per text\n", flops.per_image / 1e9,
                        flops.per_text / 1e9);
        };
    });
}

}  // namespace contra::cli
