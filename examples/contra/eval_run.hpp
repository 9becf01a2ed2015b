// The model-typed half of `contra eval --model`: the zero-shot and retrieval tasks it was given, run
// on a built and loaded model on whichever device it lives. eval.cpp runs it on the CPU models,
// commands_cuda.cu on the GPU ones (`--device cuda`).
#pragma once
#include <contra/report/svg.hpp>
#include <contra/tasks/benchmark.hpp>

#include <cstdio>
#include <filesystem>

#include "datasets.hpp"

namespace contra::cli {

namespace eval_cmd {  // named: eval.cpp shares a unity unit with the other commands
namespace fs = std::filesystem;

// The last component of a folder or file path, "images/" giving "images".
inline std::string base_name(const std::string& path) {
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
inline json zero_shot_task(const tasks::ZeroShotReport& r, const std::string& dataset, const std::string& source,
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

// What `contra eval --model` evaluates: the options (which tasks), and what was read before the model.
struct ModelEvalJob {
    const EvalOptions& o;
    const tasks::CaptionEncoder& encoder;
    const tasks::BenchmarkOptions& options;
    const NamedList& folder_names;
    const NamedList& folder_templates;
    const NamedList& cifar_templates;
    const std::vector<data::CaptionedPath>& captions;
    const Outputs& out;
};

// Runs the job's tasks on `model`, printing a line for each; returns their entries.
template <class M>
json model_eval_tasks(M& model, const ModelEvalJob& job) {
    const auto& [o, encoder, options, folder_names, folder_templates, cifar_templates, captions, out] = job;
    json entries = json::array();
    if (!o.folder.empty()) {
        const auto dataset = o.classnames == "imagenet" ? std::string("imagenet") : base_name(o.folder);
        const auto r = tasks::zero_shot_folder(model, encoder, fs::path(o.folder), folder_names.items,
                                               folder_templates.items, options);
        entries.push_back(zero_shot_task(r, dataset, o.folder, folder_names, folder_templates, out));
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
        entries.push_back(zero_shot_task(r, dataset, file.string(), names, cifar_templates, out));
    }
    if (!o.retrieval.empty()) {
        const auto r = tasks::retrieval_captions(model, encoder, captions, options);
        auto entry = json{{"task", "retrieval"}, {"dataset", base_name(o.retrieval)}, {"source", o.retrieval}};
        entry.update(tasks::retrieval_json(r));
        entries.push_back(entry);
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
    return entries;
}

}  // namespace eval_cmd

// The GPU half (commands_cuda.cu; without CUDA it raises the no-CUDA error): p's model in float on the GPU.
json model_eval_tasks_on_cuda(const io::Pretrained& p, const eval_cmd::ModelEvalJob& job);

}  // namespace contra::cli
