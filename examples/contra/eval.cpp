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
#include "eval_run.hpp"
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
    const eval_cmd::ModelEvalJob job{o, encoder, options, folder_names, folder_templates, cifar_templates, captions, out};
    if (o.device == "cuda") {
        results["tasks"] = model_eval_tasks_on_cuda(p, job);
    } else {
        with_pretrained<float>(p, [&](auto& model) { results["tasks"] = model_eval_tasks(model, job); });
    }
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
    cmd->add_option("--device", o.device, "cpu or cuda (the model in float on the GPU)")->capture_default_str();
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
