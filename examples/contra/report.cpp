// contra report RUN: a run folder's report.html made again from its files (contra train writes
// one at each evaluation point and at the end; older folders get one this way). A Fashion-MNIST
// or shapes run without zero_shot_examples.json (older than it) gets its examples computed from
// its newest checkpoint first.
// contra compare RUN_A RUN_B ... [--out compare.html]: one page with the runs' curves overlaid,
// their results side by side and the options that differ shaded (report/html_run.hpp).
#include <CLI/CLI.hpp>
#include <contra/report/html_run.hpp>
#include <contra/tasks/zero_shot_examples.hpp>

#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "datasets.hpp"

namespace contra::cli {

namespace report_cmd {  // named: report.cpp may share a unity unit with the other commands

// add_example_grid(folder, data_dir): zero_shot_examples.json for a Fashion-MNIST or shapes run
// from its newest checkpoint (24 of its test images and the model's top-3 guesses); false when the
// run has no checkpoint or trained on image files (their examples come from --zeroshot-eval).
bool add_example_grid(const std::filesystem::path& folder, const std::string& data_dir) {
    namespace fs = std::filesystem;
    if (!fs::exists(folder / "checkpoint.safetensors")) return false;
    const auto point = run::resume_point(folder);
    const auto& path = point.checkpoint;
    const auto& meta = point.metadata;
    const auto dataset_name = run::metadata_at(meta, "dataset", path);
    if (Dataset::is_files(dataset_name)) return false;
    const auto config = io::config_from_json(json::parse(run::metadata_at(meta, "config", path)));
    const tasks::CaptionEncoder encoder(tasks::merges_from_text(run::metadata_at(meta, "tokenizer_merges", path)),
                                        std::stoi(run::metadata_at(meta, "context_length", path)));
    const std::uint64_t seed = std::stoull(run::metadata_at(meta, "seed", path));
    const auto dataset = Dataset::open(dataset_name, data_dir);
    const auto variant = io::recorded_variant(meta, path.string());
    with_vit_model<float>(activation_of(meta), variant.loss, variant.causal_text, [&]<class M>(std::type_identity<M>) {
        M model(config, seed);
        io::load_checkpoint(path, model);
        report::write_example_grid(folder, tasks::zero_shot_examples(
                                               model, encoder, dataset.class_names(), dataset.eval_templates(),
                                               test_images(dataset, seed, 0),
                                               dataset.is_shapes() ? data::Normalization{} : data::kFashionMnistNormalization,
                                               dataset_name + " test images (" + path.filename().string() + ")"));
    });
    return true;
}

}  // namespace report_cmd

void report_command(const ReportOptions& o) {
    if (!std::filesystem::exists(std::filesystem::path(o.run) / report::kExamplesFile) &&
        report_cmd::add_example_grid(o.run, o.data_dir))
        std::printf("computed the zero-shot examples from the run's checkpoint\n");
    const auto path = report::write_run_report(o.run);
    std::printf("wrote %s\n", path.string().c_str());
}

void compare_command(const CompareOptions& o) {
    CONTRA_CHECK(o.runs.size() >= 2, "contra compare needs at least two run folders, got ", o.runs.size());
    std::vector<report::RunRecord> runs;
    for (const auto& folder : o.runs) runs.push_back(report::read_run(folder));
    report::write_compare_page(std::move(runs), o.out);
    std::printf("wrote %s (%zu runs)\n", o.out.c_str(), o.runs.size());
}

void add_report_commands(CLI::App& app, std::function<void()>& run) {
    static ReportOptions r;
    auto* report = app.add_subcommand("report", "Write a run folder's report.html again from its files (curves, results, "
                                                "confusion matrix, zero-shot examples)");
    report->add_option("run", r.run, "The run folder (contra train --out)")->required();
    report->add_option("--data", r.data_dir, "Fashion-MNIST runs without zero-shot examples: the dataset's directory")
        ->capture_default_str();
    report->callback([&] { run = [&] { report_command(r); }; });

    static CompareOptions c;
    auto* compare = app.add_subcommand("compare", "One page comparing runs: curves overlaid, results side by side, "
                                                  "the options that differ shaded");
    compare->add_option("runs", c.runs, "Two or more run folders")->required();
    compare->add_option("--out", c.out, "The page to write")->capture_default_str();
    compare->callback([&] { run = [&] { compare_command(c); }; });
}

}  // namespace contra::cli
