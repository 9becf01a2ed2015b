// contra train: contrastive training from scratch on Fashion-MNIST (default), the built-in
// shapes, or the user's image–caption files (a CSV/TSV table or WebDataset shards), then the
// evaluation. The run folder, checkpoints, resuming, metrics, plots and results.json are
// contra::run's (run/runner.hpp); this file chooses the data, the model and what is evaluated.
#include <CLI/CLI.hpp>
#include <contra/dist/gather.hpp>
#include <contra/report/svg.hpp>
#include <contra/tasks/zero_shot_examples.hpp>

#include <ctime>
#include <filesystem>
#include <memory>
#include <thread>
#include <variant>
#if defined(CONTRA_HAVE_MPI)
#include <contra/dist/mpi.hpp>
#endif

#include "commands.hpp"
#include "datasets.hpp"
#include "zeroshot_lists.hpp"

namespace contra::cli {

namespace {

std::string default_out_dir(const std::string& dataset) {
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    return "runs/" + dataset + "-" + stamp;
}

// The options a checkpoint keeps (visit_saved_options), as JSON.
json saved_options(TrainOptions& o) {
    json j;
    visit_saved_options(o, [&](const char* name, auto& field, bool) { j[name] = field; });
    return j;
}
// The run goes on as it started: the saved options replace the command line's, except paths given again.
void restore_options(TrainOptions& o, const json& saved) {
    visit_saved_options(o, [&](const char* name, auto& field, bool command_line_wins) {
        using Field = std::remove_reference_t<decltype(field)>;
        if (!saved.contains(name)) return;
        if constexpr (std::is_same_v<Field, std::string>)
            if (command_line_wins && !field.empty()) return;
        field = saved[name].get<Field>();
    });
}

// open_image_text(o, path, training, comm): the pairs of a caption table or of shards, as
// --dataset says; training: this rank's share, shuffled and augmented; else all, in file order.
tasks::ImageTextStream open_image_text(const TrainOptions& o, const std::string& path, bool training,
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

// caption_sample(pairs): the captions a vocabulary is learned from and the context sized by
// (the first 100,000: enough for a vocabulary, quick to read).
std::vector<std::string> caption_sample(const tasks::ImageTextStream& pairs) {
    const auto& all = pairs.captions();
    return {all.begin(), all.begin() + std::ptrdiff_t(std::min<std::size_t>(all.size(), 100000))};
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

// check_init_options(o, p): --init takes the architecture from the weights; an option that would
// change it is an error (the heads and the activation only say what the file does not).
// --init-image takes only the image tower's: --arch then names the fresh text tower's preset.
void check_init_options(const TrainOptions& o, const io::Pretrained& p) {
    const bool whole = !o.init.empty();
    const std::string option = whole ? "--init " + o.init : "--init-image " + o.init_image;
    CONTRA_CHECK(!p.resnet, option, ": contra train trains ViT image towers; this model's is a ModifiedResNet");
    const std::pair<const char*, bool> changes[] = {
        {"--arch", whole && !o.arch.empty()},   {"--patch-size", o.patch_size > 0},  {"--vision-layers", o.vision_layers > 0},
        {"--vision-width", o.vision_width > 0}, {"--stem-channels", o.stem_channels >= 0},
        {"--image-size", o.image_size > 0 && o.image_size != p.config.vision.image_size}};
    for (const auto& [changed, given] : changes)
        CONTRA_CHECK(!given, option, " takes the ", whole ? "model's" : "image tower's", " architecture from its weights; ",
                     changed, " cannot change it");
}

// check_images_fit(dataset, vision): Fashion-MNIST's and the shapes' images have one size; a model
// started from weights must take them. (Image files are resized to the model's input.)
void check_images_fit(const Dataset& dataset, const nn::VisionConfig& vision) {
    if (Dataset::is_files(dataset.name)) {
        CONTRA_CHECK(vision.channels == 3, "the model takes ", vision.channels, "-channel images; image files are read as RGB: "
                     "choose a model with 3 channels (--arch shapes, tiny, ViT-B-32, ...)");
        return;
    }
    const auto images = model::preset(dataset.is_shapes() ? "shapes" : "fmnist").vision;
    CONTRA_CHECK(vision.channels == images.channels && vision.image_size == images.image_size, dataset.name, "'s images are ",
                 images.channels, "×", images.image_size, "×", images.image_size, " but the model takes ", vision.channels,
                 "×", vision.image_size, "×", vision.image_size);
}

// The model's sizes for a fresh run: the preset with the command line's overrides.
model::ClipConfig fresh_config(const TrainOptions& o, const tasks::CaptionEncoder& encoder, bool files) {
    auto config = model::preset(o.arch);
    if (o.patch_size > 0) config.vision.patch_size = o.patch_size;
    if (o.vision_layers > 0) config.vision.layers = o.vision_layers;
    if (o.vision_width > 0 || o.vision_heads > 0) {
        // Unless --vision-heads says, the heads keep the preset's head width (32 for fmnist and
        // shapes, 64 for the OpenAI presets); the MLP keeps its ratio to the width.
        const std::int64_t head_width = config.vision.width / config.vision.heads;
        const std::int64_t mlp_ratio = config.vision.mlp_hidden() / config.vision.width;
        const std::int64_t width = o.vision_width > 0 ? o.vision_width : config.vision.width;
        CONTRA_CHECK(o.vision_heads > 0 || width % head_width == 0, "--vision-width ", width, " is not a multiple of the ",
                     o.arch, " preset's head width ", head_width, ": give --vision-heads");
        const std::int64_t heads = o.vision_heads > 0 ? o.vision_heads : width / head_width;
        CONTRA_CHECK(width % heads == 0, "--vision-heads ", heads, " does not divide the image width ", width);
        config.vision.width = width;
        config.vision.heads = heads;
        config.vision.mlp_width = mlp_ratio * width;
    }
    if (o.stem_channels >= 0) config.vision.stem_channels = o.stem_channels;
    if (o.image_size > 0) config.vision.image_size = o.image_size;
    if (o.text_heads > 0) {
        CONTRA_CHECK(config.text.width % o.text_heads == 0, "--text-heads ", o.text_heads, " does not divide the text width ",
                     config.text.width);
        config.text.heads = o.text_heads;
    }
    config.text.vocab_size = encoder.vocab_size();
    config.text.context_length = encoder.context_length();
    return config;
}

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

void print_files_summary(const json& results, const std::filesystem::path& file) {
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

}  // namespace

void train_command(TrainOptions& o) {
    namespace fs = std::filesystem;
    CONTRA_CHECK(o.device == "cpu" || o.device == "cuda", "--device must be cpu or cuda, got '", o.device, "'");
    CONTRA_CHECK(o.device == "cpu", "--device cuda: this build's CUDA backend has device memory, copies, elementwise "
                                    "kernels and cuBLAS GEMMs, but not yet every primitive a training step needs; use --device cpu");
    // Data parallel when launched by mpirun: --batch pairs on each rank, rank 0 writes everything.
    std::unique_ptr<dist::Communicator> comm;
    int threads = o.threads;
#if defined(CONTRA_HAVE_MPI)
    if (dist::launched_by_mpirun()) {
        auto mpi = std::make_unique<dist::MpiCommunicator>(MPI_COMM_WORLD, o.dist_timeout);
        if (threads <= 0)  // the cores of this machine, shared between its ranks
            threads = std::max(1, int(std::thread::hardware_concurrency()) / mpi->ranks_on_this_machine());
        comm = std::move(mpi);
    }
#endif
    const bool lead = !comm || comm->rank() == 0;  // the rank that prints, saves and evaluates
    if (threads > 0) set_num_threads(threads);

    // Resume: the run folder, its options and its model come from the checkpoint.
    std::optional<run::ResumePoint> resumed;
    if (!o.resume.empty()) {
        resumed = run::resume_point(o.resume);
        if (!resumed->note.empty()) std::fprintf(stderr, "resuming from %s (%s)\n", resumed->checkpoint.c_str(), resumed->note.c_str());
        const std::string init_given = o.init, init_image_given = o.init_image;
        restore_options(o, json::parse(run::metadata_at(resumed->metadata, "options", resumed->checkpoint)));
        const std::string started = !o.init.empty()         ? "started from " + o.init
                                    : !o.init_image.empty() ? "started from the image tower of " + o.init_image
                                                            : "started from a fresh model";
        CONTRA_CHECK(init_given.empty() || init_given == o.init, "--init ", init_given, " with --resume: the run ", started,
                     " and continues from its checkpoint");
        CONTRA_CHECK(init_image_given.empty() || init_image_given == o.init_image, "--init-image ", init_image_given,
                     " with --resume: the run ", started, " and continues from its checkpoint");
        if (o.out.empty()) o.out = resumed->checkpoint.parent_path().string();
    }
    const bool shapes = o.dataset == "shapes", files = Dataset::is_files(o.dataset);
    // --init: a fresh run starts from pretrained weights, with their architecture and tokenizer.
    // --init-image: only its image tower does; the text tower and the tokenizer are a fresh run's.
    CONTRA_CHECK(o.init.empty() || o.init_image.empty(), "--init and --init-image: give one (--init starts both towers "
                                                         "from the weights, --init-image only the image tower)");
    std::optional<io::Pretrained> init;
    const bool image_only = !o.init_image.empty();
    if ((!o.init.empty() || image_only) && !resumed) {
        init = describe(ModelOptions{image_only ? o.init_image : o.init, o.vision_heads, o.text_heads, o.activation});
        check_init_options(o, *init);
        if (files) o.image_size = init->config.vision.image_size;  // image files are read at the model's size
    }
    if (o.arch.empty()) o.arch = o.dataset == "fashion-mnist" ? "fmnist" : "shapes";
    // With a time budget and no --epochs, the budget sizes the schedule both ways (the default
    // epochs are only its first guess); --epochs given is a ceiling.
    const bool budget_grows = o.time_budget > 0 && o.epochs <= 0 && o.steps < 0;
    if (o.epochs <= 0) o.epochs = o.dataset == "fashion-mnist" ? 12 : 10;  // measured: docs/benchmarks.md
    CONTRA_CHECK(o.zeroshot_eval.empty() || files, "--zeroshot-eval checks a run on image–caption files; ", o.dataset,
                 " runs check zero-shot on their own test images (--eval-points)");
    if (files && o.zeroshot_eval.empty()) o.eval_points = 0;  // no labels to check zero-shot on during training
    // --zeroshot-eval: the folder, its class names and templates, read once before training.
    std::optional<ZeroShotCheck> zeroshot_check;
    if (!o.zeroshot_eval.empty()) zeroshot_check.emplace(o);
    CONTRA_CHECK(!files || o.train_subset == 0, "--train-subset takes the first N pairs of fashion-mnist or shapes; for --dataset ",
                 o.dataset, " give a shorter caption table or fewer shards");
    if (o.out.empty()) o.out = default_out_dir(o.dataset);
    const fs::path out(o.out);

    const auto dataset = Dataset::open(o.dataset, o.data_dir);
    std::optional<tasks::ImageTextStream> pairs_on_disk;  // csv / webdataset: this rank's share
    if (files) pairs_on_disk.emplace(open_image_text(o, o.train_data, true, comm.get()));
    tasks::CaptionEncoder encoder;
    model::ClipConfig config;
    ops::Activation activation = o.activation.empty() ? ops::Activation::quick_gelu : io::activation_from_name(o.activation);
    io::LossKind loss_kind = o.loss.empty() ? io::LossKind::infonce : io::loss_from_name(o.loss);
    bool causal_text = o.text_mask.empty() || o.text_mask == "causal";
    if (resumed) {
        const auto& meta = resumed->metadata;
        const auto& path = resumed->checkpoint;
        config = io::config_from_json(json::parse(run::metadata_at(meta, "config", path)));
        encoder = tasks::CaptionEncoder(tasks::merges_from_text(run::metadata_at(meta, "tokenizer_merges", path)),
                                        std::stoi(run::metadata_at(meta, "context_length", path)));
        activation = activation_of(meta);
        const auto variant = io::recorded_variant(meta, path.string());
        loss_kind = variant.loss;
        causal_text = variant.causal_text;
    } else if (init && !image_only) {
        config = init->config;
        encoder = tasks::CaptionEncoder(tokenizer_for(*init, o.bpe), int(config.text.context_length));
        activation = init->activation;
        CONTRA_CHECK(o.loss.empty() || io::loss_from_name(o.loss) == init->loss, "--loss ", o.loss, ": ", o.init,
                     " holds the parameters of ", io::loss_name(init->loss), "; a fine-tuned model keeps its loss");
        CONTRA_CHECK(o.text_mask.empty() || (o.text_mask == "causal") == init->causal_text, "--text-mask ", o.text_mask,
                     ": ", o.init, "'s text tower is ", init->causal_text ? "causal" : "bidirectional",
                     "; a fine-tuned model keeps its mask");
        loss_kind = init->loss;
        causal_text = init->causal_text;
    } else {
        auto everything = files ? caption_sample(*pairs_on_disk) : dataset.corpus();
        CONTRA_CHECK(!everything.empty() || !o.bpe.empty(), "--train-samples skips reading the captions, so there are "
                                                            "none to learn a vocabulary from: give --bpe FILE");
        auto tokenizer = o.bpe.empty() ? data::learn_bpe(everything, int(o.vocab_size)) : data::Tokenizer::from_merges_file(o.bpe);
        for (const auto& p : dataset.eval_prompts()) everything.push_back(p);
        if (zeroshot_check)
            for (const auto& p : zeroshot_check->prompts()) everything.push_back(p);
        const int context = tasks::CaptionEncoder::fitting_context(tokenizer, everything);
        encoder = tasks::CaptionEncoder(std::move(tokenizer), context);
        config = fresh_config(o, encoder, files);
        if (init) {  // --init-image: the weights' image tower, its embedding width and MLP activation
            config.vision = init->config.vision;
            config.embed_dim = init->config.embed_dim;
            activation = init->activation;
        }
    }
    if (!resumed) check_images_fit(dataset, config.vision);
    if (files) pairs_on_disk->use_tokenizer(encoder.tokenizer(), encoder.context_length());

    // The model's type follows its MLP activation, loss and text mask; everything else is sized at run time.
    with_vit_model<float>(activation, loss_kind, causal_text, [&]<class M>(std::type_identity<M>) {
        M model(config, o.seed);
        if (init) io::load_pretrained(*init, model, image_only ? io::Towers::image_only : io::Towers::both);
        model.visual.transformer.checkpointing = model.text.transformer.checkpointing = o.checkpoint_activations;
        CONTRA_CHECK((o.lock_image || o.lock_image_unlocked_blocks == 0) && (o.lock_text || o.lock_text_unlocked_blocks == 0),
                     "--lock-image-unlocked-blocks and --lock-text-unlocked-blocks need --lock-image and --lock-text");
        // FLIP: each rank draws its own patches (the draw depends on the seed, the step and the row).
        if (o.patch_dropout > 0) model.visual.patch_dropout.enable(o.patch_dropout, o.seed + std::uint64_t(comm ? comm->rank() : 0));
        if (o.lock_image) lock(model.visual, o.lock_image_unlocked_blocks, "image");
        if (o.lock_text) lock(model.text, o.lock_text_unlocked_blocks, "text");
        if (comm) model.loss_fn.gather = dist::gather_features<float, cpu>(*comm, o.local_loss);
        optim::AdamWOptions adamw;
        adamw.weight_decay = o.weight_decay;
        optim::AdamW<float, cpu> optimizer(model, adamw);
        train::State state;
        if (resumed) {
            state = run::restore(*resumed, model, optimizer);
            std::fprintf(stderr, "resuming %s at step %lld of %lld\n", resumed->checkpoint.c_str(), (long long)state.step,
                         (long long)state.total_steps);
        }
        if (lead)
            std::printf("contra train: %s, model %s (%lld parameters), vocabulary %d, context %d, %d threads%s, output %s\n",
                        o.dataset.c_str(), config.name.c_str(), (long long)model.parameter_count(), int(encoder.vocab_size()),
                        encoder.context_length(), num_threads(),
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
        topt.comm = comm.get();
        const run::StopOnSignal ctrl_c;  // Ctrl-C: save a checkpoint and stop
        topt.stop = &run::StopOnSignal::stop_requested();

        run::RunSpec spec;
        spec.out = out;
        spec.options = saved_options(o);
        spec.options["augment"] = !o.no_augment && !shapes;  // for the reader: the options as they acted
        spec.options["threads"] = num_threads();
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
    });
}

void add_train(CLI::App& app, std::function<void()>& run) {
    static TrainOptions o;
    auto* cmd = app.add_subcommand("train", "Train a CLIP from scratch, then evaluate it (zero-shot on labelled data, retrieval on files)");
    cmd->add_option("--dataset", o.dataset, "fashion-mnist, shapes, csv (a caption table) or webdataset (tar shards)")
        ->check(CLI::IsMember({"fashion-mnist", "shapes", "csv", "webdataset"}))
        ->capture_default_str();
    cmd->add_option("--train-data", o.train_data, "csv/webdataset: the caption table, or shards like 'data/{000..099}.tar'");
    cmd->add_option("--val-data", o.val_data, "csv/webdataset: held-out pairs for image-text retrieval at the end");
    cmd->add_option("--csv-img-key", o.csv_img_key, "csv: the column of image paths")->capture_default_str();
    cmd->add_option("--csv-caption-key", o.csv_caption_key, "csv: the column of captions")->capture_default_str();
    cmd->add_option("--csv-separator", o.csv_separator, "csv: the field separator (default: tab if the header has one, else comma)");
    cmd->add_option("--zeroshot-eval", o.zeroshot_eval,
                    "csv/webdataset: check zero-shot on an image folder (one subfolder per class) during training and at the end");
    cmd->add_option("--zeroshot-classnames", o.zeroshot_classnames,
                    "Its class names: imagenet, cifar10, cifar100 or a file, one per line in sorted folder order (default: the folder names)");
    cmd->add_option("--zeroshot-templates", o.zeroshot_templates, "Its templates: imagenet (the 80 of the CLIP paper), cifar or a file")
        ->capture_default_str();
    cmd->add_option("--zeroshot-every", o.zeroshot_every, "Steps between those checks (0: --eval-points checks over the run)");
    cmd->add_option("--train-samples", o.train_samples, "webdataset: samples an epoch (default: counted by reading the shards once)");
    cmd->add_option("--image-size", o.image_size, "Override the preset's image side (the patch size must divide it)");
    cmd->add_option("--workers", o.workers, "csv/webdataset: image decoding threads")->capture_default_str();
    cmd->add_option("--data", o.data_dir, "Fashion-MNIST directory (IDX files)")->capture_default_str();
    cmd->add_option("--out", o.out, "Output folder (default runs/<dataset>-<date>)");
    cmd->add_option("--arch", o.arch, "Model preset (default: fmnist for fashion-mnist, shapes otherwise)");
    cmd->add_option("--patch-size", o.patch_size, "Override the preset's patch size (must divide the image size)");
    cmd->add_option("--vision-layers", o.vision_layers, "Override the preset's number of image transformer blocks");
    cmd->add_option("--vision-width", o.vision_width,
                    "Override the preset's image transformer width (the heads keep the preset's head width: 32 for fmnist "
                    "and shapes, 64 for ViT-B-32)");
    cmd->add_option("--vision-heads", o.vision_heads, "Override the image transformer's number of heads");
    cmd->add_option("--stem-channels", o.stem_channels, "Override the preset's 3×3 convolution stem (0: none)");
    cmd->add_option("--bpe", o.bpe, "A BPE merges file (e.g. CLIP's bpe_simple_vocab_16e6.txt.gz) instead of learning one");
    cmd->add_option("--vocab-size", o.vocab_size, "Vocabulary size when learning BPE from the captions")->capture_default_str();
    cmd->add_option("--init", o.init,
                    "Start from pretrained weights (an HF CLIPModel folder, an OpenAI/open_clip .safetensors file, or a "
                    "contra checkpoint or run folder): their architecture and tokenizer (--bpe for OpenAI files)");
    cmd->add_option("--init-image", o.init_image,
                    "Start only the image tower from pretrained weights (as --init takes them); the text tower, its "
                    "tokenizer and the temperature start fresh (LiT, with --lock-image)");
    cmd->add_option("--activation", o.activation,
                    "MLP activation of a fresh model: quick_gelu (default, OpenAI's) or gelu; with --init, what the file does not say")
        ->check(CLI::IsMember({"quick_gelu", "quickgelu", "gelu"}))
        ->transform([](std::string name) { return name == "quickgelu" ? std::string("quick_gelu") : name; });
    cmd->add_option("--loss", o.loss, "Contrastive loss of a fresh model: infonce (CLIP's, default) or siglip (pairwise sigmoid)")
        ->check(CLI::IsMember({"infonce", "siglip"}));
    cmd->add_option("--text-mask", o.text_mask,
                    "Text attention of a fresh model: causal (CLIP's, default) or none (bidirectional; padding is masked)")
        ->check(CLI::IsMember({"causal", "none"}));
    cmd->add_option("--text-heads", o.text_heads, "Text attention heads (a fresh model: override the preset; --init: what the file does not say)");
    cmd->add_option("--steps", o.steps, "Train exactly this many steps (overrides --epochs; 0: none, only the evaluation)");
    cmd->add_option("--resume", o.resume,
                    "Continue from a checkpoint file (or a run folder) with the run's own model, data and training options");
    cmd->add_option("--device", o.device, "cpu or cuda")->capture_default_str();
    cmd->add_option("--batch", o.batch, "Pairs per step")->capture_default_str();
    cmd->add_option("--lr", o.lr, "Peak learning rate")->capture_default_str();
    cmd->add_option("--warmup", o.warmup, "Warmup steps")->capture_default_str();
    cmd->add_option("--schedule", o.schedule, "cosine, const or const-cooldown")->capture_default_str();
    cmd->add_option("--weight-decay", o.weight_decay, "AdamW weight decay (not on gains, biases, embeddings)")->capture_default_str();
    cmd->add_option("--grad-clip", o.grad_clip, "Clip the global gradient norm (0: off)")->capture_default_str();
    cmd->add_option("--epochs", o.epochs,
                    "Epochs (the schedule's length; default 12 for fashion-mnist, 10 for shapes; with --time-budget, at most this many)");
    cmd->add_option("--time-budget", o.time_budget,
                    "Seconds of training; the schedule is sized to fill them, with more or fewer epochs than the default (0: none)");
    cmd->add_option("--checkpoint-every", o.checkpoint_every, "Steps between checkpoints")->capture_default_str();
    cmd->add_option("--keep-checkpoints", o.keep_checkpoints, "How many of the newest checkpoints to keep")->capture_default_str();
    cmd->add_option("--on-nonfinite", o.on_nonfinite, "A non-finite loss or gradient: skip the step, or stop the run")
        ->check(CLI::IsMember({"skip", "stop"}))
        ->capture_default_str();
    cmd->add_option("--seed", o.seed, "Seed of initialisation, order and captions")->capture_default_str();
    cmd->add_option("--threads", o.threads, "CPU threads (0: all)")->capture_default_str();
    cmd->add_option("--train-subset", o.train_subset, "Fashion-MNIST, shapes: train on the first N pairs only (0: all)");
    cmd->add_option("--eval-subset", o.eval_subset, "Evaluate on the first N test images only (0: all)");
    cmd->add_option("--probe-subset", o.probe_subset, "Linear probe on the first N training images (0: all)");
    cmd->add_option("--eval-points", o.eval_points, "Zero-shot checks during training (for the accuracy curve)")->capture_default_str();
    cmd->add_flag("--no-probe", o.no_probe, "Skip the linear probe");
    cmd->add_flag("--no-augment", o.no_augment,
                  "No augmentation of training images: Fashion-MNIST's random flips and shifts, or the random resized "
                  "crop of image files (CLIP's centre crop instead)");
    cmd->add_option("--accumulate", o.accumulate,
                    "Gradient accumulation: each batch in this many micro-batches (same gradient, less memory)")
        ->capture_default_str();
    cmd->add_flag("--checkpoint-activations", o.checkpoint_activations,
                  "Recompute each transformer block's activations in backward (less memory, one more forward)");
    cmd->add_flag("--local-loss", o.local_loss, "Under mpirun: each rank's rows against all columns (open_clip's --local-loss)");
    cmd->add_option("--patch-dropout", o.patch_dropout,
                    "FLIP: each training step keeps a random 1 − RATE of each image's patch tokens (evaluation keeps all)")
        ->check(CLI::Range(0.0, 0.99));
    cmd->add_flag("--lock-image", o.lock_image, "Freeze the image tower (LiT): no gradients, no tape, no AdamW state");
    cmd->add_flag("--lock-text", o.lock_text, "Freeze the text tower");
    cmd->add_option("--lock-image-unlocked-blocks", o.lock_image_unlocked_blocks,
                    "With --lock-image: keep the last N image blocks (and the final norm and projection) trainable");
    cmd->add_option("--lock-text-unlocked-blocks", o.lock_text_unlocked_blocks,
                    "With --lock-text: keep the last N text blocks (and the final norm and projection) trainable");
    cmd->add_option("--dist-timeout", o.dist_timeout, "Under mpirun: seconds before a silent rank stops the run")
        ->capture_default_str();
    cmd->callback([&] { run = [&] { train_command(o); }; });
}

}  // namespace contra::cli
