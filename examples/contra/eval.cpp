// contra eval: the evaluation of a checkpoint written by contra train (zero-shot, linear probe,
// retrieval), printed and written next to the checkpoint as eval.json.
#include <CLI/CLI.hpp>
#include <contra/report/svg.hpp>

#include <filesystem>

#include "commands.hpp"
#include "datasets.hpp"

namespace contra::cli {

void eval_command(const EvalOptions& o) {
    namespace fs = std::filesystem;
    if (o.threads > 0) set_num_threads(o.threads);
    const auto point = run::resume_point(o.checkpoint);
    const auto& path = point.checkpoint;
    const auto& meta = point.metadata;
    const auto config = io::config_from_json(json::parse(run::metadata_at(meta, "config", path)));
    const tasks::CaptionEncoder encoder(tasks::merges_from_text(run::metadata_at(meta, "tokenizer_merges", path)),
                                        std::stoi(run::metadata_at(meta, "context_length", path)));
    const auto dataset_name = run::metadata_at(meta, "dataset", path);
    CONTRA_CHECK(!Dataset::is_files(dataset_name), path.string(), " was trained on ", dataset_name,
                 " files, which have no labels to evaluate on: use contra zeroshot with your labels and images");
    auto dataset = Dataset::open(dataset_name, o.data_dir);
    if (!o.templates.empty()) dataset.templates = data::read_templates(o.templates);
    const std::uint64_t seed = std::stoull(run::metadata_at(meta, "seed", path));
    Model model(config, seed);
    io::load_checkpoint(path, model);
    auto ev = evaluate(model, dataset, encoder, seed, o.eval_subset, o.probe_subset, !o.no_probe);
    if (!o.templates.empty()) ev.results["zero_shot_templates_file"] = o.templates;
    write_file_atomically(path.parent_path() / "eval.json", ev.results.dump(2) + "\n");
    std::printf("%s\n", ev.results.dump(2).c_str());
    std::printf("zero-shot top-1: %.2f%%  (top-5 %.2f%%)\n", 100 * ev.zero_shot.top1, 100 * ev.zero_shot.top5);
}

void add_eval(CLI::App& app, std::function<void()>& run) {
    static EvalOptions o;
    auto* cmd = app.add_subcommand("eval", "Evaluate a checkpoint written by contra train");
    cmd->add_option("checkpoint", o.checkpoint, "checkpoint.safetensors, or the run folder holding it")->required();
    cmd->add_option("--data", o.data_dir, "Fashion-MNIST directory")->capture_default_str();
    cmd->add_option("--templates", o.templates, "Zero-shot templates, one per line with {} for the class name");
    cmd->add_option("--eval-subset", o.eval_subset, "Only the first N test images (0: all)");
    cmd->add_option("--probe-subset", o.probe_subset, "Linear probe on the first N training images (0: all)");
    cmd->add_option("--threads", o.threads, "CPU threads (0: all)");
    cmd->add_flag("--no-probe", o.no_probe, "Skip the linear probe");
    cmd->callback([&] { run = [&] { eval_command(o); }; });
}

}  // namespace contra::cli
