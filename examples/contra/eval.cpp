// contra eval: two routes.
//   contra eval CHECKPOINT: the evaluation of a checkpoint written by contra train (zero-shot,
//     linear probe, retrieval on its own dataset), printed and written next to it as eval.json.
//   contra eval --model M [--folder DIR] [--cifar10 DIR] [--cifar100 DIR] [--retrieval CSV]: the
//     standard CLIP evaluations (tasks/benchmark.hpp) of any model contra zeroshot takes, printed
//     and written as one results file (docs/evaluation.md), with a confusion SVG per zero-shot task.
#include <CLI/CLI.hpp>
#include <contra/report/svg.hpp>
#include <contra/tasks/benchmark.hpp>

#include <filesystem>

#include "commands.hpp"
#include "datasets.hpp"
#include "zeroshot_lists.hpp"

namespace contra::cli {

namespace eval_cmd {  // named: eval.cpp shares a unity unit with the other commands
namespace fs = std::filesystem;

void eval_checkpoint(const EvalOptions& o) {
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
    const auto variant = io::recorded_variant(meta, path.string());
    auto ev = o.device == "cuda"
                  ? evaluate_checkpoint_on_cuda(path, config, seed, dataset, encoder, o.eval_subset, o.probe_subset, !o.no_probe,
                                                activation_of(meta), variant.loss, variant.causal_text)
                  : with_vit_model<float>(activation_of(meta), variant.loss, variant.causal_text, [&]<class M>(std::type_identity<M>) {
                        return evaluate_checkpoint<M>(path, config, seed, dataset, encoder, o.eval_subset, o.probe_subset,
                                                      !o.no_probe);
                    });
    if (!o.templates.empty()) ev.results["zero_shot_templates_file"] = o.templates;
    write_file_atomically(path.parent_path() / "eval.json", ev.results.dump(2) + "\n");
    std::printf("%s\n", ev.results.dump(2).c_str());
    std::printf("zero-shot top-1: %.2f%%  (top-5 %.2f%%)\n", 100 * ev.zero_shot.top1, 100 * ev.zero_shot.top5);
}

// ─── --model ───────────────────────────────────────────────────────────────────────────────────

// The last component of a folder or file path, "images/" giving "images".
std::string base_name(const std::string& path) {
    auto p = fs::path(path).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.stem().string();
}

// Where the results go, and the confusion SVGs beside them.
struct Outputs {
    fs::path results;
    fs::path confusion_svg(const std::string& dataset) const {
        return results.parent_path() / (results.stem().string() + "-confusion-" + dataset + ".svg");
    }
};

// One zero-shot task: its JSON entry, the confusion SVG written, a line printed.
json zero_shot_task(const tasks::ZeroShotReport& r, const std::string& dataset, const std::string& source,
                    const NamedList& names, const NamedList& templates, const Outputs& out) {
    auto entry = json{{"task", "zero_shot"}, {"dataset", dataset}, {"source", source}};
    entry.update(tasks::zero_shot_json(r));
    entry["classnames_source"] = names.source;
    entry["templates_source"] = templates.source;
    const auto svg = out.confusion_svg(dataset);
    report::write_svg(svg, tasks::confusion_plot(r, "Zero-shot confusion (" + dataset + ")"));
    entry["confusion_svg"] = svg.filename().string();
    std::printf("zero-shot %-12s %6lld images, %4zu classes: top-1 %6.2f%%", dataset.c_str(), (long long)r.images,
                r.class_names.size(), 100 * r.top1);
    if (r.top5) std::printf("  top-5 %6.2f%%", 100 * *r.top5);
    std::printf("  mean per class %6.2f%%", 100 * r.mean_per_class_recall);
    if (!r.skipped.empty()) std::printf("  (%zu unreadable images left out)", r.skipped.size());
    std::printf("\n");
    return entry;
}

void eval_model(const EvalOptions& o) {
    CONTRA_CHECK(!o.folder.empty() || !o.cifar10.empty() || !o.cifar100.empty() || !o.retrieval.empty(),
                 "contra eval --model: nothing to evaluate; give --folder, --cifar10, --cifar100 and/or --retrieval");
    CONTRA_CHECK(o.classnames.empty() || !o.folder.empty(), "--classnames names the classes of --folder (CIFAR has its own)");
    CONTRA_CHECK(o.batch >= 1, "--batch must be ≥ 1, got ", o.batch);
    CONTRA_CHECK(o.csv_separator.size() <= 1 || o.csv_separator == "\\t", "--csv-separator must be one character, got '",
                 o.csv_separator, "'");
    const Outputs out{o.out.empty() ? fs::path("eval-results.json") : fs::path(o.out)};
    if (out.results.has_parent_path()) fs::create_directories(out.results.parent_path());
    // Lists first: a typo in a file name fails before the model is read.
    const auto folder_names = o.classnames.empty() ? NamedList{{}, "folder names"} : class_names_from(o.classnames);
    const auto folder_templates = templates_from(o.templates.empty() ? "imagenet" : o.templates);
    const auto cifar_templates = templates_from(o.templates.empty() ? "cifar" : o.templates);
    std::vector<data::CaptionedPath> captions;
    if (!o.retrieval.empty()) {
        data::CaptionTableOptions table;
        table.image_column = o.csv_img_key;
        table.caption_column = o.csv_caption_key;
        if (!o.csv_separator.empty()) table.separator = o.csv_separator == "\\t" ? '\t' : o.csv_separator[0];
        captions = data::read_caption_table(o.retrieval, table);
        CONTRA_CHECK(!captions.empty(), "retrieval table '", o.retrieval, "' has a header but no captions");
    }

    ModelOptions model_options;
    model_options.path = o.model;
    model_options.vision_heads = o.vision_heads;
    model_options.text_heads = o.text_heads;
    model_options.activation = o.activation;
    const auto p = describe(model_options);
    const tasks::CaptionEncoder encoder(tokenizer_for(p, o.bpe), int(p.config.text.context_length));
    tasks::BenchmarkOptions options;
    options.batch = o.batch;
    options.broken = o.skip_broken_images ? tasks::BrokenImages::skip : tasks::BrokenImages::fail;

    json results = {{"model", o.model}, {"tasks", json::array()}};
    with_pretrained<float>(p, [&](auto& model) {
        if (!o.folder.empty()) {
            const auto dataset = o.classnames == "imagenet" ? std::string("imagenet") : base_name(o.folder);
            const auto r = tasks::zero_shot_folder(model, encoder, fs::path(o.folder), folder_names.items,
                                                   folder_templates.items, options);
            results["tasks"].push_back(zero_shot_task(r, dataset, o.folder, folder_names, folder_templates, out));
        }
        for (const auto kind : {data::CifarKind::cifar10, data::CifarKind::cifar100}) {
            const bool ten = kind == data::CifarKind::cifar10;
            const auto& dir = ten ? o.cifar10 : o.cifar100;
            if (dir.empty()) continue;
            const std::string dataset = ten ? "cifar10" : "cifar100";
            const auto file = data::cifar_test_file(dir, kind);
            const auto names = class_names_from(dataset);
            const auto r = tasks::zero_shot_cifar(model, encoder, data::read_cifar(file, kind), names.items,
                                                  cifar_templates.items, options);
            results["tasks"].push_back(zero_shot_task(r, dataset, file.string(), names, cifar_templates, out));
        }
        if (!o.retrieval.empty()) {
            const auto r = tasks::retrieval_captions(model, encoder, captions, options);
            auto entry = json{{"task", "retrieval"}, {"dataset", base_name(o.retrieval)}, {"source", o.retrieval}};
            entry.update(tasks::retrieval_json(r));
            results["tasks"].push_back(entry);
            const auto& m = r.metrics;
            std::printf("retrieval %-12s %6lld images, %6lld captions: image→text R@1/5/10 %.2f/%.2f/%.2f%%  "
                        "text→image R@1/5/10 %.2f/%.2f/%.2f%%\n",
                        base_name(o.retrieval).c_str(), (long long)r.images, (long long)r.captions,
                        100 * m.image_to_text_r1, 100 * m.image_to_text_r5, 100 * m.image_to_text_r10,
                        100 * m.text_to_image_r1, 100 * m.text_to_image_r5, 100 * m.text_to_image_r10);
            if (!r.skipped.empty())
                std::printf("  (%zu unreadable images and their %lld captions left out)\n", r.skipped.size(),
                            (long long)r.skipped_captions);
        }
    });
    write_file_atomically(out.results, results.dump(2) + "\n");
    std::printf("wrote %s\n", out.results.string().c_str());
}

}  // namespace eval_cmd

void eval_command(const EvalOptions& o) {
    CONTRA_CHECK(o.checkpoint.empty() != o.model.empty(),
                 o.checkpoint.empty() ? "contra eval: give a checkpoint (a contra train run) or --model M"
                                      : "contra eval: give either a checkpoint or --model, not both");
    if (o.threads > 0) set_num_threads(o.threads);
    CONTRA_CHECK(o.device == "cpu" || o.device == "cuda", "--device must be cpu or cuda, got '", o.device, "'");
    CONTRA_CHECK(o.device == "cpu" || o.model.empty(), "--device cuda evaluates contra train checkpoints; --model runs on the CPU");
    if (o.device == "cuda") require_cuda_device();
    if (!o.model.empty()) return eval_cmd::eval_model(o);
    CONTRA_CHECK(o.folder.empty() && o.cifar10.empty() && o.cifar100.empty() && o.retrieval.empty() && o.classnames.empty() &&
                     o.bpe.empty() && o.out.empty(),
                 "contra eval CHECKPOINT evaluates on the run's own dataset; --folder, --cifar10, --cifar100, --retrieval, "
                 "--classnames, --bpe and --out go with --model");
    eval_cmd::eval_checkpoint(o);
}

void add_eval(CLI::App& app, std::function<void()>& run) {
    static EvalOptions o;
    auto* cmd = app.add_subcommand("eval", "Evaluate a contra train checkpoint, or any model with --model (docs/evaluation.md)");
    cmd->add_option("checkpoint", o.checkpoint, "checkpoint.safetensors, or the run folder holding it");
    cmd->add_option("--data", o.data_dir, "checkpoint: the Fashion-MNIST directory")->capture_default_str();
    cmd->add_option("--templates", o.templates,
                    "Zero-shot templates, one per line with {} for the class name; with --model also 'imagenet' "
                    "(the CLIP paper's 80, default for --folder) or 'cifar' (default for CIFAR)");
    cmd->add_option("--eval-subset", o.eval_subset, "checkpoint: only the first N test images (0: all)");
    cmd->add_option("--probe-subset", o.probe_subset, "checkpoint: linear probe on the first N training images (0: all)");
    cmd->add_option("--threads", o.threads, "CPU threads (0: all)");
    cmd->add_flag("--no-probe", o.no_probe, "checkpoint: skip the linear probe");
    cmd->add_option("--device", o.device, "checkpoint: cpu or cuda (the model in float on the GPU)")->capture_default_str();
    cmd->add_option("--model", o.model,
                    "An HF CLIPModel folder, an OpenAI/open_clip-layout .safetensors file, or a contra checkpoint");
    cmd->add_option("--bpe", o.bpe, "CLIP's merges file (not needed for HF folders with merges.txt or contra checkpoints)");
    cmd->add_option("--vision-heads", o.vision_heads, "Image attention heads, when the file and no open_clip_config.json beside it say");
    cmd->add_option("--text-heads", o.text_heads, "Text attention heads, when the file and no open_clip_config.json beside it say");
    cmd->add_option("--activation", o.activation, "MLP activation (quick_gelu or gelu), when the file and no open_clip_config.json beside it say");
    cmd->add_option("--folder", o.folder, "Zero-shot on an image folder: one subfolder per class (ImageNet layout)");
    cmd->add_option("--classnames", o.classnames,
                    "--folder's class names, one a line in sorted subfolder order, or 'imagenet' (built in); "
                    "default: the subfolder names with _ as spaces");
    cmd->add_option("--cifar10", o.cifar10, "Zero-shot on CIFAR-10: the folder holding test_batch.bin");
    cmd->add_option("--cifar100", o.cifar100, "Zero-shot on CIFAR-100: the folder holding test.bin");
    cmd->add_option("--retrieval", o.retrieval, "Image-text retrieval: a caption table, one row per caption (COCO, Flickr30k)");
    cmd->add_option("--csv-img-key", o.csv_img_key, "retrieval: the column of image paths")->capture_default_str();
    cmd->add_option("--csv-caption-key", o.csv_caption_key, "retrieval: the column of captions")->capture_default_str();
    cmd->add_option("--csv-separator", o.csv_separator, "retrieval: the field separator (default: tab if the header has one, else comma)");
    cmd->add_option("--out", o.out, "--model: the results file (default: eval-results.json here); confusion SVGs beside it");
    cmd->add_option("--batch", o.batch, "--model: images decoded and embedded together")->capture_default_str();
    cmd->add_flag("--skip-broken-images", o.skip_broken_images,
                  "--model: leave unreadable images out and list them in the results (default: stop with an error)");
    cmd->callback([&] { run = [&] { eval_command(o); }; });
}

}  // namespace contra::cli
