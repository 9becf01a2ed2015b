// The subcommands on pretrained models (inspect, tokenize, embed, grad, zeroshot, export), compiled apart from
// training so the two build in parallel.
#include "commands.hpp"
#include "embed.hpp"
#include "export.hpp"
#include "inspect.hpp"
#include "zeroshot.hpp"

namespace contra::cli {

void add_pretrained_commands(CLI::App& app, std::function<void()>& run) {
    static InspectOptions inspect;
    static TokenizeOptions tokenize;
    static EmbedOptions embed, grad;
    static ZeroShotOptions zeroshot;
    static ExportOptions exporting;
    add_inspect(app, inspect, run);
    add_tokenize(app, tokenize, run);
    add_embed(app, embed, run, /*gradients=*/false);
    add_embed(app, grad, run, /*gradients=*/true);
    add_zeroshot(app, zeroshot, run);
    add_export(app, exporting, run);
}

}  // namespace contra::cli
