// contra info --arch NAME: parameter counts per tower and in total, forward FLOPs per image and
// per text, for a preset.
#include <CLI/CLI.hpp>
#include <contra/model/config.hpp>
#include <contra/model/count.hpp>

#include <cstdio>

#include "commands.hpp"
#include "models.hpp"

namespace contra::cli {

void info_command(const InfoOptions& o) {
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
}

void add_info(CLI::App& app, std::function<void()>& run) {
    static InfoOptions o;
    auto* cmd = app.add_subcommand("info", "Parameter counts and forward FLOPs of a model preset");
    std::string known;
    for (const auto& n : model::preset_names()) known += (known.empty() ? "" : ", ") + n;
    cmd->add_option("--arch", o.arch, "Preset: " + known)->capture_default_str();
    cmd->callback([&] {
        run = [&] { info_command(o); };
    });
}

}  // namespace contra::cli
