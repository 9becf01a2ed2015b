// contra eval: the evaluation of a checkpoint written by contra train (zero-shot, linear probe,
// retrieval), printed and written next to the checkpoint as eval.json.
#pragma once
#include <CLI/CLI.hpp>
#include <contra/report/svg.hpp>
#include <filesystem>

#include "run.hpp"

namespace contra::cli {

struct EvalOptions {
    std::string checkpoint;
    std::string data_dir = std::string(data::kFashionMnistDir);
    std::string templates;  // a file of zero-shot templates (default: the dataset's evaluation set)
    std::int64_t eval_subset = 0, probe_subset = 0;
    bool no_probe = false;
    int threads = 0;
};

inline void eval_command(const EvalOptions& o) {
    namespace fs = std::filesystem;
    if (o.threads > 0) set_num_threads(o.threads);
    std::string path = o.checkpoint;
    if (fs::is_directory(path)) path = io::newest_checkpoint(path).string();
    const auto meta = io::SafetensorsFile::read(path).metadata();
    const auto config = io::config_from_json(json::parse(metadata_at(meta, "config", path)));
    const tasks::CaptionEncoder encoder(tasks::merges_from_text(metadata_at(meta, "tokenizer_merges", path)),
                                        std::stoi(metadata_at(meta, "context_length", path)));
    const auto dataset_name = metadata_at(meta, "dataset", path);
    CONTRA_CHECK(!Dataset::is_files(dataset_name), path, " was trained on ", dataset_name,
                 " files, which have no labels to evaluate on: use contra zeroshot with your labels and images");
    auto dataset = Dataset::open(dataset_name, o.data_dir);
    if (!o.templates.empty()) dataset.templates = data::read_templates(o.templates);
    const std::uint64_t seed = std::stoull(metadata_at(meta, "seed", path));
    Model model(config, seed);
    io::load_checkpoint(path, model);
    auto ev = evaluate(model, dataset, encoder, seed, o.eval_subset, o.probe_subset, !o.no_probe);
    if (!o.templates.empty()) ev.results["zero_shot_templates_file"] = o.templates;
    write_file_atomically(fs::path(path).parent_path() / "eval.json", ev.results.dump(2) + "\n");
    std::printf("%s\n", ev.results.dump(2).c_str());
    std::printf("zero-shot top-1: %.2f%%  (top-5 %.2f%%)\n", 100 * ev.zero_shot.top1, 100 * ev.zero_shot.top5);
}

inline void add_eval(CLI::App& app, EvalOptions& o, std::function<void()>& run) {
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
