// The model-typed half of `contra train`: everything train_command (train.cpp) decides before the
// model's type is known is a TrainSetup; train_model<M> builds M, trains it with contra::run and
// evaluates it. train.cpp instantiates it for the CPU models; commands_cuda.cu, compiled by nvcc
// when the program is built with CUDA, for the GPU ones (`--device cuda`).
#pragma once
#include <contra/dist/gather.hpp>
#include <contra/report/svg.hpp>
#include <contra/tasks/zero_shot_examples.hpp>

#include <concepts>
#include <filesystem>
#include <optional>
#include <string>

#include "commands.hpp"
#include "datasets.hpp"
#include "zeroshot_lists.hpp"

namespace contra::cli {

// The options a checkpoint keeps (visit_saved_options), as JSON.
inline json saved_options(TrainOptions& o) {
    json j;
    visit_saved_options(o, [&](const char* name, auto& field, bool) { j[name] = field; });
    return j;
}

// open_image_text(o, path, training, comm): the pairs of a caption table or of shards, as
// --dataset says; training: this rank's share, shuffled and augmented; else all, in file order.
inline tasks::ImageTextStream open_image_text(const TrainOptions& o, const std::string& path, bool training,
                                       const dist::Communicator* comm) {
    CONTRA_CHECK(!path.empty(), "--dataset ", o.dataset, " needs ", training ? "--train-data" : "--val-data", " (",
                 o.dataset == "csv" ? "a CSV/TSV file of image paths and captions" : "shards like 'data/{000..099}.tar'", ")");
    tasks::ImageTextOptions io;
    io.image_size = o.image_size > 0 ? int(o.image_size) : int(model::preset(o.arch).vision.image_size);
    io.augment = training && !o.no_augment;
    io.shuffle = training;
    io.workers = std::size_t(std::max(0, o.workers));
    io.seed = o.seed;
    io.rank = training && comm ? comm->rank() : 0;
    io.world = training && comm ? comm->size() : 1;
    io.samples_per_epoch = training ? o.train_samples : 0;
    const data::Tokenizer bytes_only;  // replaced by use_tokenizer once the vocabulary is known
    if (o.dataset == "webdataset") return tasks::ImageTextStream::webdataset(path, bytes_only, data::kClipContextLength, io);
    CONTRA_CHECK(o.csv_separator.size() <= 1 || o.csv_separator == "\\t", "--csv-separator must be one character, got '",
                 o.csv_separator, "'");
    data::CaptionTableOptions table;
    table.image_column = o.csv_img_key;
    table.caption_column = o.csv_caption_key;
    if (!o.csv_separator.empty()) table.separator = o.csv_separator == "\\t" ? '\t' : o.csv_separator[0];
    return tasks::ImageTextStream::csv(path, table, bytes_only, data::kClipContextLength, io);
}

// lock(tower, unlocked, what): LiT's locked tower: every parameter frozen but those of its last
// `unlocked` transformer blocks and what follows them (the final norm and the projection).
template <class Tower>
void lock(Tower& tower, std::int64_t unlocked, const char* what) {
    const auto layers = std::int64_t(tower.transformer.resblocks.size());
    CONTRA_CHECK(unlocked >= 0 && unlocked <= layers, "--lock-", what, "-unlocked-blocks ", unlocked, " is outside [0, ",
                 layers, "] (the ", what, " tower has ", layers, " blocks)");
    freeze(tower);
    if (unlocked == 0) return;
    for (std::int64_t i = layers - unlocked; i < layers; ++i) unfreeze(tower.transformer.resblocks[std::size_t(i)]);
    if constexpr (requires { tower.ln_post; tower.proj; }) {
        unfreeze(tower.ln_post);
        tower.proj.unfreeze();
    } else {
        unfreeze(tower.ln_final);
        tower.text_projection.unfreeze();
    }
}

// ZeroShotCheck(o): zero-shot classification of the --zeroshot-eval image folder, with its class
// names (--zeroshot-classnames: a built-in list or a file; default the subfolder names) and
// templates (--zeroshot-templates: default the CLIP paper's 80 ImageNet templates).
struct ZeroShotCheck {
    tasks::ImageFolder folder;
    NamedList class_names, templates;

    explicit ZeroShotCheck(const TrainOptions& o)
        : folder(tasks::scan_image_folder(o.zeroshot_eval)),
          class_names(o.zeroshot_classnames.empty() ? NamedList{tasks::folder_class_names(folder), "folder names"}
                                                    : class_names_from(o.zeroshot_classnames)),
          templates(templates_from(o.zeroshot_templates)) {
        CONTRA_CHECK(o.zeroshot_every >= 0, "--zeroshot-every must be ≥ 0, got ", o.zeroshot_every);
    }
    std::vector<std::string> prompts() const {  // for sizing a fresh model's context
        std::vector<std::string> out;
        for (const auto& c : class_names.items)
            for (const auto& t : templates.items) out.push_back(data::caption(c, t));
        return out;
    }
    template <class M>
    tasks::ZeroShotReport measure(const M& model, const tasks::CaptionEncoder& encoder) const {
        return tasks::zero_shot_folder(model, encoder, folder, class_names.items, templates.items);
    }
    json json_of(const tasks::ZeroShotReport& r) const {
        auto j = tasks::zero_shot_json(r);
        j["source"] = folder.root.string();
        j["classnames_source"] = class_names.source;
        j["templates_source"] = templates.source;
        return j;
    }
};

// What ends a run on image–caption files: the samples skipped, and retrieval on --val-data.
template <class M>
json evaluate_files(const M& model, const TrainOptions& o, const tasks::CaptionEncoder& encoder,
                    const tasks::ImageTextStream& train_pairs) {
    const auto seen = train_pairs.stats();
    json results = {{"train_pairs_per_epoch", train_pairs.size()}, {"skipped_samples", seen.skipped}};
    if (!seen.messages.empty()) results["first_skip_reason"] = seen.messages.front();
    if (!o.val_data.empty()) {
        auto val = open_image_text(o, o.val_data, false, nullptr);
        val.use_tokenizer(encoder.tokenizer(), encoder.context_length());
        const auto [r, n] = tasks::paired_retrieval(model, val, o.eval_subset);
        results["retrieval"] = retrieval_json(r);
        results["retrieval"]["pairs"] = n;
        results["val_skipped_samples"] = val.stats().skipped;
    }
    return results;
}

inline void print_files_summary(const json& results, const std::filesystem::path& file) {
    if (results.value("skipped_samples", std::uint64_t(0)) > 0)
        std::printf("%llu training samples could not be read and were skipped (first: %s)\n",
                    (unsigned long long)results["skipped_samples"].get<std::uint64_t>(),
                    results["first_skip_reason"].get<std::string>().c_str());
    if (results.contains("retrieval"))
        std::printf("retrieval on %lld held-out pairs: image→text R@1 %.2f%%, text→image R@1 %.2f%%; results in %s\n",
                    (long long)results["retrieval"]["pairs"].get<std::int64_t>(),
                    100 * results["retrieval"]["image_to_text_r1"].get<double>(),
                    100 * results["retrieval"]["text_to_image_r1"].get<double>(), file.string().c_str());
    else
        std::printf("no --val-data given, so no retrieval figures; results in %s\n", file.string().c_str());
}

// The end of a run on labelled images: evaluate(), and the confusion matrix as confusion.svg.
template <class M>
json evaluate_labelled(const M& model, const TrainOptions& o, const Dataset& dataset, const tasks::CaptionEncoder& encoder) {
    const auto ev = evaluate(model, dataset, encoder, o.seed, o.eval_subset, o.probe_subset, !o.no_probe);
    std::vector<std::int64_t> counts;
    for (std::int64_t a = 0; a < ev.zero_shot.confusion.classes(); ++a)
        for (std::int64_t p = 0; p < ev.zero_shot.confusion.classes(); ++p) counts.push_back(ev.zero_shot.confusion.count(a, p));
    report::write_svg(std::filesystem::path(o.out) / "confusion.svg",
                      report::ConfusionMatrix{"Zero-shot confusion (" + o.dataset + " test)", ev.class_names, counts});
    // A few test images and the model's top guesses, for report.html.
    report::write_example_grid(o.out, tasks::zero_shot_examples(model, encoder, ev.class_names, dataset.eval_templates(),
                                                                test_images(dataset, o.seed, o.eval_subset),
                                                                dataset.is_shapes() ? data::Normalization{} : data::kFashionMnistNormalization,
                                                                o.dataset + " test images"));
    return ev.results;
}

// What train_command decided before the model's type is known: the options as they stand, the
// data, the vocabulary, the sizes, where the weights come from and where the run writes.
struct TrainSetup {
    TrainOptions& o;
    dist::Communicator* comm;  // null on one process
    bool lead, shapes, files, image_only, budget_grows;
    const Dataset& dataset;
    std::optional<tasks::ImageTextStream>& pairs_on_disk;  // csv / webdataset: this rank's share
    std::optional<ZeroShotCheck>& zeroshot_check;
    const tasks::CaptionEncoder& encoder;
    const model::ClipConfig& config;
    const std::optional<io::Pretrained>& init;
    const std::optional<run::ResumePoint>& resumed;
    std::filesystem::path out;
};

// where_it_runs<B>(): "N threads" on the CPU, the GPU's name on CUDA (for the first line a run prints).
template <class B>
std::string where_it_runs();
template <>
inline std::string where_it_runs<cpu>() {
    return std::to_string(num_threads()) + " threads";
}

// train_model<M>(setup): builds M (fresh, or from --init / --init-image weights), trains it as the
// options say, evaluates it and prints the results.
template <class M>
void train_model(TrainSetup& setup) {
    using B = typename M::backend;
    TrainOptions& o = setup.o;
    dist::Communicator* const comm = setup.comm;
    const bool lead = setup.lead, shapes = setup.shapes, files = setup.files, image_only = setup.image_only,
               budget_grows = setup.budget_grows;
    const Dataset& dataset = setup.dataset;
    auto& pairs_on_disk = setup.pairs_on_disk;
    auto& zeroshot_check = setup.zeroshot_check;
    const auto& encoder = setup.encoder;
    const auto& config = setup.config;
    const auto& init = setup.init;
    const auto& resumed = setup.resumed;
    const auto& out = setup.out;
    M model(config, o.seed);
    if (init) io::load_pretrained(*init, model, image_only ? io::Towers::image_only : io::Towers::both);
    model.visual.transformer.checkpointing = model.text.transformer.checkpointing = o.checkpoint_activations;
    CONTRA_CHECK((o.lock_image || o.lock_image_unlocked_blocks == 0) && (o.lock_text || o.lock_text_unlocked_blocks == 0),
                 "--lock-image-unlocked-blocks and --lock-text-unlocked-blocks need --lock-image and --lock-text");
    // FLIP: each rank draws its own patches (the draw depends on the seed, the step and the row).
    if (o.patch_dropout > 0) model.visual.patch_dropout.enable(o.patch_dropout, o.seed + std::uint64_t(comm ? comm->rank() : 0));
    if (o.lock_image) lock(model.visual, o.lock_image_unlocked_blocks, "image");
    if (o.lock_text) lock(model.text, o.lock_text_unlocked_blocks, "text");
    if constexpr (std::same_as<B, cpu>)  // train_command refuses mpirun with --device cuda
        if (comm) model.loss_fn.gather = dist::gather_features<float, cpu>(*comm, o.local_loss);
    optim::AdamWOptions adamw;
    adamw.weight_decay = o.weight_decay;
    optim::AdamW<typename M::value_type, B> optimizer(model, adamw);  // bf16: with fp32 master weights
    train::State state;
    if (resumed) {
        state = run::restore(*resumed, model, optimizer);
        std::fprintf(stderr, "resuming %s at step %lld of %lld\n", resumed->checkpoint.c_str(), (long long)state.step,
                     (long long)state.total_steps);
    }
    if (lead)
        std::printf("contra train: %s, model %s (%lld parameters), vocabulary %d, context %d, %s%s, output %s\n",
                    o.dataset.c_str(), config.name.c_str(), (long long)model.parameter_count(), int(encoder.vocab_size()),
                    encoder.context_length(), where_it_runs<B>().c_str(),
                    comm ? (" × " + std::to_string(comm->size()) + " ranks (batch " + std::to_string(o.batch) +
                            " each, " + (o.local_loss ? "local" : "global") + " loss)").c_str()
                         : "",
                    out.string().c_str());

    train::Options topt;
    topt.batch_size = o.batch;
    topt.lr = o.lr;
    topt.warmup_steps = o.warmup;
    topt.schedule = optim::parse_schedule(o.schedule);
    topt.grad_clip = o.grad_clip;
    topt.epochs = o.epochs;
    topt.time_budget_s = o.time_budget;
    topt.budget_grows = budget_grows;
    topt.max_steps = o.steps;
    topt.seed = o.seed;
    topt.accumulate = o.accumulate;
    topt.on_nonfinite = o.on_nonfinite == "stop" ? train::NonFinite::stop : train::NonFinite::skip;
    topt.comm = comm;
    const run::StopOnSignal ctrl_c;  // Ctrl-C: save a checkpoint and stop
    topt.stop = &run::StopOnSignal::stop_requested();

    run::RunSpec spec;
    spec.out = out;
    spec.options = saved_options(o);
    spec.options["augment"] = !o.no_augment && !shapes;  // for the reader: the options as they acted
    spec.options["threads"] = num_threads();
    spec.options["device"] = backend_traits<B>::name;
    spec.options["ranks"] = comm ? comm->size() : 1;
    spec.options["schedule_fills_budget"] = budget_grows;
    spec.metadata = run_metadata<M>(config, encoder, dataset, o.seed);
    spec.checkpoint_every = o.checkpoint_every;
    spec.keep_checkpoints = o.keep_checkpoints;
    const auto quick_test = files ? tasks::LabelledImages{} : test_images(dataset, o.seed, 1000);
    if (o.eval_points > 0 && !files)  // files have no labelled test images (--zeroshot-eval is checked below)
        spec.probes.push_back(run::Probe{"eval_zero_shot_top1_1k", "zero_shot_accuracy",
                                         "Zero-shot top-1 during training (1,000 test images)",
                                         [&] { return zero_shot_on(model, dataset, encoder, quick_test).top1; }, o.eval_points});
    if (zeroshot_check && (o.eval_points > 0 || o.zeroshot_every > 0))
        spec.probes.push_back(run::Probe{"zeroshot_eval_top1", "zero_shot_accuracy",
                                         "Zero-shot top-1 during training (" + o.zeroshot_eval + ")",
                                         [&] { return zeroshot_check->measure(model, encoder).top1; }, o.eval_points,
                                         o.zeroshot_every});
    if (files)
        spec.evaluate = [&] {
            auto results = evaluate_files(model, o, encoder, *pairs_on_disk);
            if (zeroshot_check) {
                results["zeroshot_eval"] = zeroshot_check->json_of(zeroshot_check->measure(model, encoder));
                // A few of its images and the model's top guesses, for report.html.
                report::write_example_grid(o.out, tasks::zero_shot_examples(model, encoder, zeroshot_check->folder,
                                                                            zeroshot_check->class_names.items,
                                                                            zeroshot_check->templates.items, o.zeroshot_eval));
            }
            return results;
        };
    else
        spec.evaluate = [&] { return evaluate_labelled(model, o, dataset, encoder); };

    const run::RunResult result = [&] {
        if (files) return run::train(model, optimizer, *pairs_on_disk, topt, spec, state);
        if (shapes)
            return run::train(model, optimizer, tasks::ShapesPairs(o.train_subset > 0 ? o.train_subset : o.shapes_train_size,
                                                                   encoder, o.seed),
                              topt, spec, state);
        return run::train(model, optimizer, tasks::FashionMnistPairs(*dataset.train, encoder, o.seed, o.train_subset, !o.no_augment),
                          topt, spec, state);
    }();
    if (!lead) return;  // rank 0 evaluates and reports
    if (result.stopped) {
        std::printf("stopped at step %lld of %lld; checkpoint saved: %s (continue with --resume %s)\n",
                    (long long)result.state.step, (long long)result.state.total_steps,
                    (out / "checkpoint.safetensors").string().c_str(), out.string().c_str());
        return;
    }
    std::printf("%s\n", result.results.dump(2).c_str());
    if (files) return print_files_summary(result.results, out / "results.json");
    std::printf("zero-shot top-1: %.2f%%  (top-5 %.2f%%) on %lld test images; results in %s\n",
                100 * result.results["zero_shot_top1"].get<double>(), 100 * result.results["zero_shot_top5"].get<double>(),
                (long long)result.results["test_images"].get<std::int64_t>(), (out / "results.json").string().c_str());
}

// train_on_cuda(setup, activation, loss, causal_text): train_model for the GPU model of that MLP
// activation, loss and text mask, in float or (--precision bf16) bf16 with fp32 master weights
// (commands_cuda.cu).
void train_on_cuda(TrainSetup& setup, ops::Activation activation, io::LossKind loss_kind, bool causal_text);

}  // namespace contra::cli
