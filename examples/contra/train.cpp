// contra train: contrastive training from scratch on Fashion-MNIST (default), the built-in
// shapes, or the user's image–caption files (a CSV/TSV table or WebDataset shards), then the
// evaluation. The run folder, checkpoints, resuming, metrics, plots and results.json are
// contra::run's (run/runner.hpp); this file chooses the data, the model and what is evaluated.
#include <CLI/CLI.hpp>

#include <ctime>
#include <filesystem>
#include <memory>
#include <thread>
#include <variant>
#if defined(CONTRA_HAVE_MPI)
#include <contra/dist/mpi.hpp>
#endif

#include "eval_run.hpp"
#include "pretrained_run.hpp"
#include "train_run.hpp"

namespace contra::cli {

namespace {

std::string default_out_dir(const std::string& dataset) {
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    return "runs/" + dataset + "-" + stamp;
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

// caption_sample(pairs): the captions a vocabulary is learned from and the context sized by
// (the first 100,000: enough for a vocabulary, quick to read).
std::vector<std::string> caption_sample(const tasks::ImageTextStream& pairs) {
    const auto& all = pairs.captions();
    return {all.begin(), all.begin() + std::ptrdiff_t(std::min<std::size_t>(all.size(), 100000))};
}

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

}  // namespace

#if !defined(CONTRA_CLI_CUDA)  // this program was built without the CUDA backend (commands_cuda.cu has the real ones)
void require_cuda_device() {
    throw Error("--device cuda: this contra was built without CUDA; build it with nvcc present (cmake -DCONTRA_CUDA=ON) "
                "to run on a GPU, or use --device cpu");
}
void train_on_cuda(TrainSetup&, ops::Activation, io::LossKind, bool) { require_cuda_device(); }
Evaluation evaluate_checkpoint_on_cuda(const std::filesystem::path&, const model::ClipConfig&, std::uint64_t, const Dataset&,
                                       const tasks::CaptionEncoder&, std::int64_t, std::int64_t, bool, ops::Activation,
                                       io::LossKind, bool) {
    require_cuda_device();
    return {};
}
void embed_on_cuda(const io::Pretrained&, const io::SafetensorsFile&, bool, const std::string&) { require_cuda_device(); }
std::vector<std::vector<double>> zeroshot_on_cuda(const io::Pretrained&, const ZeroShotJob&) {
    require_cuda_device();
    return {};
}
void with_image_embedder_on_cuda(const io::Pretrained&, const std::function<void(const ImageEmbedder&)>&) { require_cuda_device(); }
json model_eval_tasks_on_cuda(const io::Pretrained&, const eval_cmd::ModelEvalJob&) {
    require_cuda_device();
    return {};
}
#endif

// check_precision(precision, device): fp32 anywhere; tf32 and bf16 on a GPU only.
void check_precision(const std::string& precision, const std::string& device) {
    CONTRA_CHECK(precision == "fp32" || precision == "tf32" || precision == "bf16", "--precision must be fp32, tf32 or bf16, got '",
                 precision, "'");
    CONTRA_CHECK(precision == "fp32" || device == "cuda", "--precision ", precision, " is ",
                 precision == "tf32" ? "TF32 tensor-core math" : "bf16 mixed precision (bf16 activations, fp32 master weights)",
                 " on a GPU (with --device cuda); the CPU computes in fp32");
}

void train_command(TrainOptions& o) {
    namespace fs = std::filesystem;
    CONTRA_CHECK(o.device == "cpu" || o.device == "cuda", "--device must be cpu or cuda, got '", o.device, "'");
    if (o.precision.empty() && o.resume.empty()) o.precision = default_precision(o.device);
    if (o.resume.empty()) check_precision(o.precision, o.device);  // a resumed run's is checked once restored
    if (o.device == "cuda") require_cuda_device();                  // before any data is read
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
    CONTRA_CHECK(!comm || o.device == "cpu", "--device cuda under mpirun: data-parallel training on GPUs (NCCL) is not "
                                             "in the contra program yet; train on one GPU, or on CPUs under mpirun");
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
    if (o.precision.empty()) o.precision = "fp32";  // resuming a run from before --precision
    check_precision(o.precision, o.device);  // after --resume: a run keeps its precision
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
    TrainSetup setup{o, comm.get(), lead, shapes, files, image_only, budget_grows, dataset, pairs_on_disk, zeroshot_check,
                     encoder, config, init, resumed, out};
    if (o.device == "cuda") return train_on_cuda(setup, activation, loss_kind, causal_text);
    with_vit_model<float, cpu>(activation, loss_kind, causal_text,
                               [&]<class M>(std::type_identity<M>) { train_model<M>(setup); });
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
    cmd->add_option("--precision", o.precision,
                    "fp32; on a GPU also tf32 (float GEMMs on TF32 tensor cores) or bf16 (bf16 weights, activations and "
                    "GEMM inputs with fp32 accumulation, fp32 master weights and AdamW state); default bf16 on a GPU, "
                    "fp32 on the CPU");
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
