// contra train: contrastive training from scratch on Fashion-MNIST (default), the built-in
// shapes, or the user's image–caption files (a CSV/TSV table or WebDataset shards), then the
// evaluation. Writes checkpoints, metrics.jsonl, results.json and plots.
#pragma once
#include <CLI/CLI.hpp>
#include <contra/optim/optim.hpp>
#include <contra/report/svg.hpp>
#include <contra/dist/gather.hpp>
#include <contra/train/progress.hpp>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#if defined(CONTRA_HAVE_MPI)
#include <contra/dist/mpi.hpp>
#endif

#include "run.hpp"

namespace contra::cli {

struct TrainOptions {
    std::string dataset = "fashion-mnist";
    std::string data_dir = std::string(data::kFashionMnistDir);
    std::string out;
    std::string arch;  // default: the dataset's preset
    std::string bpe;   // a merges file instead of learning the vocabulary
    std::string resume;
    std::string device = "cpu";
    std::string schedule = "cosine";
    std::int64_t batch = 128, warmup = 50, epochs = 0, checkpoint_every = 1000, vocab_size = 1000, accumulate = 1;
    std::int64_t patch_size = 0, vision_layers = 0, vision_width = 0, stem_channels = -1;  // ≥ 0 / > 0: override the preset
    std::int64_t train_subset = 0, eval_subset = 0, probe_subset = 0, eval_points = 10, shapes_train_size = 50000;
    double lr = 2e-3, weight_decay = 0.1, grad_clip = 1.0, time_budget = 0;
    std::uint64_t seed = 0;
    int threads = 0;
    bool no_probe = false;
    bool no_augment = false;
    bool local_loss = false;              // data parallel: each rank's rows against all columns
    bool checkpoint_activations = false;  // recompute each transformer block in backward
    double dist_timeout = 120;            // data parallel: seconds a rank may stay silent
    int keep_checkpoints = 3;             // the newest step checkpoints kept in the run folder
    std::string on_nonfinite = "skip";    // a step with a non-finite loss or gradient: skip or stop
    // Image–caption files (--dataset csv or webdataset).
    std::string train_data, val_data;     // a caption table, or a shard pattern
    std::string csv_img_key = "filepath", csv_caption_key = "title", csv_separator;  // open_clip's names
    std::int64_t train_samples = 0;       // webdataset: samples an epoch (0: counted by reading the shards)
    std::int64_t image_size = 0;          // > 0: override the preset's image side
    int workers = 2;                      // image decoding threads
};

namespace detail {
inline std::atomic<bool> stop_requested{false};
extern "C" inline void on_interrupt(int) { stop_requested.store(true); }

inline std::string default_out_dir(const std::string& dataset) {
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    return "runs/" + dataset + "-" + stamp;
}

inline void write_json(const std::filesystem::path& path, const json& j) { write_file_atomically(path, j.dump(2) + "\n"); }

inline void write_loss_chart(const std::filesystem::path& out, const std::vector<double>& steps, const std::vector<double>& loss) {
    report::write_svg(out / "loss.svg",
                      report::LineChart{"Training loss", "step", "loss", {{"loss", steps, loss}}, std::nullopt, std::nullopt});
}
}  // namespace detail

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

// caption_sample(pairs): the captions a vocabulary is learned from and the context sized by
// (the first 100,000: enough for a vocabulary, quick to read).
inline std::vector<std::string> caption_sample(const tasks::ImageTextStream& pairs) {
    const auto& all = pairs.captions();
    return {all.begin(), all.begin() + std::ptrdiff_t(std::min<std::size_t>(all.size(), 100000))};
}

// report_files(...): the end of a run on image–caption files: retrieval on --val-data (when
// given), the skipped samples, results.json and the loss curve.
inline void report_files(Model& model, const TrainOptions& o, const tasks::CaptionEncoder& encoder,
                         const tasks::ImageTextStream& train_pairs,
                         const train::State& state, const json& options, const std::vector<double>& steps,
                         const std::vector<double>& loss) {
    const std::filesystem::path out(o.out);
    const auto seen = train_pairs.stats();
    json results = {{"train_seconds", state.elapsed_s}, {"steps", state.step}, {"skipped_steps", state.skipped_steps},
                    {"pairs_seen", state.step * o.batch}, {"train_pairs_per_epoch", train_pairs.size()},
                    {"skipped_samples", seen.skipped}, {"options", options}, {"parameters", model.parameter_count()}};
    if (!seen.messages.empty()) results["first_skip_reason"] = seen.messages.front();
    if (!o.val_data.empty()) {
        auto val = open_image_text(o, o.val_data, false, nullptr);
        val.use_tokenizer(encoder.tokenizer(), encoder.context_length());
        const auto [r, n] = tasks::paired_retrieval(model, val, o.eval_subset);
        results["retrieval"] = retrieval_json(r);
        results["retrieval"]["pairs"] = n;
        results["val_skipped_samples"] = val.stats().skipped;
    }
    detail::write_json(out / "results.json", results);
    detail::write_loss_chart(out, steps, loss);
    std::printf("%s\n", results.dump(2).c_str());
    if (seen.skipped > 0)
        std::printf("%llu training samples could not be read and were skipped (first: %s)\n",
                    (unsigned long long)seen.skipped, seen.messages.front().c_str());
    if (results.contains("retrieval"))
        std::printf("retrieval on %lld held-out pairs: image→text R@1 %.2f%%, text→image R@1 %.2f%%; results in %s\n",
                    (long long)results["retrieval"]["pairs"].get<std::int64_t>(),
                    100 * results["retrieval"]["image_to_text_r1"].get<double>(),
                    100 * results["retrieval"]["text_to_image_r1"].get<double>(), (out / "results.json").string().c_str());
    else
        std::printf("no --val-data given, so no retrieval figures; results in %s\n", (out / "results.json").string().c_str());
}

inline void train_command(TrainOptions& o);

inline void add_train(CLI::App& app, TrainOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("train", "Train a CLIP from scratch and evaluate it zero-shot");
    cmd->add_option("--dataset", o.dataset, "fashion-mnist, shapes, csv (a caption table) or webdataset (tar shards)")
        ->check(CLI::IsMember({"fashion-mnist", "shapes", "csv", "webdataset"}))
        ->capture_default_str();
    cmd->add_option("--train-data", o.train_data, "csv/webdataset: the caption table, or shards like 'data/{000..099}.tar'");
    cmd->add_option("--val-data", o.val_data, "csv/webdataset: held-out pairs for image-text retrieval at the end");
    cmd->add_option("--csv-img-key", o.csv_img_key, "csv: the column of image paths")->capture_default_str();
    cmd->add_option("--csv-caption-key", o.csv_caption_key, "csv: the column of captions")->capture_default_str();
    cmd->add_option("--csv-separator", o.csv_separator, "csv: the field separator (default: tab if the header has one, else comma)");
    cmd->add_option("--train-samples", o.train_samples, "webdataset: samples an epoch (default: counted by reading the shards once)");
    cmd->add_option("--image-size", o.image_size, "Override the preset's image side (the patch size must divide it)");
    cmd->add_option("--workers", o.workers, "csv/webdataset: image decoding threads")->capture_default_str();
    cmd->add_option("--data", o.data_dir, "Fashion-MNIST directory (IDX files)")->capture_default_str();
    cmd->add_option("--out", o.out, "Output folder (default runs/<dataset>-<date>)");
    cmd->add_option("--arch", o.arch, "Model preset (default: fmnist for fashion-mnist, shapes otherwise)");
    cmd->add_option("--patch-size", o.patch_size, "Override the preset's patch size (must divide the image size)");
    cmd->add_option("--vision-layers", o.vision_layers, "Override the preset's number of image transformer blocks");
    cmd->add_option("--vision-width", o.vision_width, "Override the preset's image transformer width (heads of 32)");
    cmd->add_option("--stem-channels", o.stem_channels, "Override the preset's 3×3 convolution stem (0: none)");
    cmd->add_option("--bpe", o.bpe, "A BPE merges file (e.g. CLIP's bpe_simple_vocab_16e6.txt.gz) instead of learning one");
    cmd->add_option("--vocab-size", o.vocab_size, "Vocabulary size when learning BPE from the captions")->capture_default_str();
    cmd->add_option("--resume", o.resume,
                    "Continue from a checkpoint file (or a run folder) with the run's own model, data and training options");
    cmd->add_option("--device", o.device, "cpu or cuda")->capture_default_str();
    cmd->add_option("--batch", o.batch, "Pairs per step")->capture_default_str();
    cmd->add_option("--lr", o.lr, "Peak learning rate")->capture_default_str();
    cmd->add_option("--warmup", o.warmup, "Warmup steps")->capture_default_str();
    cmd->add_option("--schedule", o.schedule, "cosine, const or const-cooldown")->capture_default_str();
    cmd->add_option("--weight-decay", o.weight_decay, "AdamW weight decay (not on gains, biases, embeddings)")->capture_default_str();
    cmd->add_option("--grad-clip", o.grad_clip, "Clip the global gradient norm (0: off)")->capture_default_str();
    cmd->add_option("--epochs", o.epochs, "Epochs (the schedule's length; default 12 for fashion-mnist, 10 for shapes)");
    cmd->add_option("--time-budget", o.time_budget, "Seconds of training; the schedule is sized to fit (0: none)");
    cmd->add_option("--checkpoint-every", o.checkpoint_every, "Steps between checkpoints")->capture_default_str();
    cmd->add_option("--keep-checkpoints", o.keep_checkpoints, "How many of the newest checkpoints to keep")->capture_default_str();
    cmd->add_option("--on-nonfinite", o.on_nonfinite, "A non-finite loss or gradient: skip the step, or stop the run")
        ->check(CLI::IsMember({"skip", "stop"}))
        ->capture_default_str();
    cmd->add_option("--seed", o.seed, "Seed of initialisation, order and captions")->capture_default_str();
    cmd->add_option("--threads", o.threads, "CPU threads (0: all)")->capture_default_str();
    cmd->add_option("--train-subset", o.train_subset, "Train on the first N pairs only (0: all)");
    cmd->add_option("--eval-subset", o.eval_subset, "Evaluate on the first N test images only (0: all)");
    cmd->add_option("--probe-subset", o.probe_subset, "Linear probe on the first N training images (0: all)");
    cmd->add_option("--eval-points", o.eval_points, "Zero-shot checks during training (for the accuracy curve)")->capture_default_str();
    cmd->add_flag("--no-probe", o.no_probe, "Skip the linear probe");
    cmd->add_flag("--no-augment", o.no_augment, "Fashion-MNIST: no random flips and shifts of training images");
    cmd->add_option("--accumulate", o.accumulate,
                    "Gradient accumulation: each batch in this many micro-batches (same gradient, less memory)")
        ->capture_default_str();
    cmd->add_flag("--checkpoint-activations", o.checkpoint_activations,
                  "Recompute each transformer block's activations in backward (less memory, one more forward)");
    cmd->add_flag("--local-loss", o.local_loss, "Under mpirun: each rank's rows against all columns (open_clip's --local-loss)");
    cmd->add_option("--dist-timeout", o.dist_timeout, "Under mpirun: seconds before a silent rank stops the run")
        ->capture_default_str();
    cmd->callback([&] { run = [&] { train_command(o); }; });
}

inline void train_command(TrainOptions& o) {
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
    std::map<std::string, std::string> resumed;
    std::string resume_path = o.resume;
    if (!resume_path.empty()) {
        if (fs::is_directory(resume_path)) {  // the newest whole checkpoint of the run
            std::string why;
            resume_path = io::newest_checkpoint(resume_path, &why).string();
            if (!why.empty()) std::fprintf(stderr, "resuming from %s (%s)\n", resume_path.c_str(), why.c_str());
        }
        resumed = io::SafetensorsFile::read(resume_path).metadata();
        o.dataset = metadata_at(resumed, "dataset", resume_path);
        // The run goes on as it started: its training options and data come from the checkpoint.
        const auto saved = json::parse(metadata_at(resumed, "options", resume_path));
        o.batch = saved.value("batch", o.batch);
        o.lr = saved.value("lr", o.lr);
        o.warmup = saved.value("warmup", o.warmup);
        o.schedule = saved.value("schedule", o.schedule);
        o.weight_decay = saved.value("weight_decay", o.weight_decay);
        o.grad_clip = saved.value("grad_clip", o.grad_clip);
        o.epochs = saved.value("epochs", o.epochs);
        o.time_budget = saved.value("time_budget", o.time_budget);
        o.accumulate = saved.value("accumulate", o.accumulate);
        o.train_subset = saved.value("train_subset", o.train_subset);
        o.local_loss = saved.value("local_loss", o.local_loss);
        o.no_augment = o.dataset != "shapes" && !saved.value("augment", !o.no_augment);
        o.arch = saved.value("arch", o.arch);
        if (o.train_data.empty()) o.train_data = saved.value("train_data", "");
        if (o.val_data.empty()) o.val_data = saved.value("val_data", "");
        o.csv_img_key = saved.value("csv_img_key", o.csv_img_key);
        o.csv_caption_key = saved.value("csv_caption_key", o.csv_caption_key);
        o.csv_separator = saved.value("csv_separator", o.csv_separator);
        o.train_samples = saved.value("train_samples", o.train_samples);
        o.image_size = saved.value("image_size", o.image_size);
        if (o.out.empty()) o.out = fs::path(resume_path).parent_path().string();
    }
    const bool shapes = o.dataset == "shapes", files = o.dataset == "csv" || o.dataset == "webdataset";
    if (o.arch.empty()) o.arch = o.dataset == "fashion-mnist" ? "fmnist" : "shapes";
    if (o.epochs <= 0) o.epochs = o.dataset == "fashion-mnist" ? 12 : 10;  // measured: docs/benchmarks.md
    if (files) o.eval_points = 0;  // no labels to check zero-shot on during training
    if (o.out.empty()) o.out = detail::default_out_dir(o.dataset);
    const fs::path out(o.out);
    if (lead) fs::create_directories(out);

    const auto dataset = Dataset::open(o.dataset, o.data_dir);
    std::optional<tasks::ImageTextStream> pairs_on_disk;  // csv / webdataset: this rank's share
    if (files) pairs_on_disk.emplace(open_image_text(o, o.train_data, true, comm.get()));
    tasks::CaptionEncoder encoder;
    model::ClipConfig config;
    if (!resumed.empty()) {
        config = io::config_from_json(json::parse(metadata_at(resumed, "config", resume_path)));
        encoder = tasks::CaptionEncoder(tasks::merges_from_text(metadata_at(resumed, "tokenizer_merges", resume_path)),
                                        std::stoi(metadata_at(resumed, "context_length", resume_path)));
        o.seed = std::stoull(metadata_at(resumed, "seed", resume_path));
    } else {
        auto everything = files ? caption_sample(*pairs_on_disk) : dataset.corpus();
        CONTRA_CHECK(!everything.empty() || !o.bpe.empty(), "--train-samples skips reading the captions, so there are "
                                                            "none to learn a vocabulary from: give --bpe FILE");
        auto tokenizer = o.bpe.empty() ? data::learn_bpe(everything, int(o.vocab_size)) : data::Tokenizer::from_merges_file(o.bpe);
        for (const auto& p : dataset.eval_prompts()) everything.push_back(p);
        const int context = tasks::CaptionEncoder::fitting_context(tokenizer, everything);
        encoder = tasks::CaptionEncoder(std::move(tokenizer), context);
        config = model::preset(o.arch);
        if (o.patch_size > 0) config.vision.patch_size = o.patch_size;
        if (o.vision_layers > 0) config.vision.layers = o.vision_layers;
        if (o.vision_width > 0) {
            CONTRA_CHECK(o.vision_width % 32 == 0, "--vision-width must be a multiple of 32 (heads of 32), got ", o.vision_width);
            config.vision.width = o.vision_width;
            config.vision.heads = o.vision_width / 32;
        }
        if (o.stem_channels >= 0) config.vision.stem_channels = o.stem_channels;
        if (o.image_size > 0) config.vision.image_size = o.image_size;
        CONTRA_CHECK(!files || config.vision.channels == 3, "--arch ", o.arch, " takes ", config.vision.channels,
                     "-channel images; image files are read as RGB: choose a preset with 3 channels (shapes, tiny, ViT-B-32, ...)");
        config.text.vocab_size = encoder.vocab_size();
        config.text.context_length = encoder.context_length();
    }
    json options = {{"dataset", o.dataset}, {"arch", o.arch},       {"batch", o.batch},   {"lr", o.lr},
                          {"warmup", o.warmup},   {"schedule", o.schedule}, {"weight_decay", o.weight_decay},
                          {"grad_clip", o.grad_clip}, {"epochs", o.epochs}, {"time_budget", o.time_budget},
                          {"seed", o.seed},       {"threads", num_threads()}, {"train_subset", o.train_subset},
                          {"augment", !o.no_augment && !shapes}, {"accumulate", o.accumulate},
                          {"ranks", comm ? comm->size() : 1}, {"local_loss", o.local_loss}};
    if (files) {
        options["train_data"] = o.train_data;
        options["val_data"] = o.val_data;
        options["image_size"] = config.vision.image_size;
        options["csv_img_key"] = o.csv_img_key;
        options["csv_caption_key"] = o.csv_caption_key;
        options["csv_separator"] = o.csv_separator;
        options["train_samples"] = o.train_samples;
        pairs_on_disk->use_tokenizer(encoder.tokenizer(), encoder.context_length());
    }

    Model model(config, o.seed);
    model.visual.transformer.checkpointing = model.text.transformer.checkpointing = o.checkpoint_activations;
    if (comm) model.loss_fn.gather = dist::gather_features<float, cpu>(*comm, o.local_loss);
    optim::AdamWOptions adamw;
    adamw.weight_decay = o.weight_decay;
    optim::AdamW<float, cpu> optimizer(model, adamw);
    train::State state;
    if (!resumed.empty()) {
        io::load_checkpoint(resume_path, model, &optimizer);
        state.step = std::stoll(metadata_at(resumed, "step", resume_path));
        state.total_steps = std::stoll(metadata_at(resumed, "total_steps", resume_path));
        state.elapsed_s = std::stod(metadata_at(resumed, "train_seconds", resume_path));
        std::fprintf(stderr, "resuming %s at step %lld of %lld\n", resume_path.c_str(), (long long)state.step,
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
    topt.seed = o.seed;
    topt.accumulate = o.accumulate;
    topt.on_nonfinite = o.on_nonfinite == "stop" ? train::NonFinite::stop : train::NonFinite::skip;
    topt.comm = comm.get();
    topt.stop = &detail::stop_requested;
    std::signal(SIGINT, detail::on_interrupt);
    std::signal(SIGTERM, detail::on_interrupt);

    // Live progress, per-step metrics, a zero-shot look every few steps, checkpoints.
    std::ofstream metrics;
    if (lead) metrics.open(out / "metrics.jsonl", state.step > 0 ? std::ios::app : std::ios::trunc);
    train::Progress progress;
    const auto quick_test = files ? LabelledImages{} : test_images(dataset, o.seed, 1000);
    std::vector<double> curve_steps, curve_loss, acc_steps, acc_values;
    train::Hooks hooks;
    hooks.checkpoint_every = o.checkpoint_every;
    hooks.on_step = [&](const train::StepRecord& r, const train::State& s) {
        if (!lead) return;
        progress.update(r, s);
        metrics << json{{"step", r.step}, {"epoch", r.epoch}, {"loss", r.loss}, {"lr", r.lr}, {"logit_scale", r.logit_scale},
                        {"grad_norm", r.grad_norm}, {"pairs_per_s", r.pairs_per_s}, {"elapsed_s", r.elapsed_s},
                        {"skipped", r.skipped}}
                       .dump()
                << "\n";
        curve_steps.push_back(double(r.step));
        curve_loss.push_back(r.loss);
        const std::int64_t every = std::max<std::int64_t>(1, s.total_steps / std::max<std::int64_t>(1, o.eval_points));
        if (o.eval_points > 0 && (r.step % every == 0 || r.step == s.total_steps)) {
            const double top1 = zero_shot_on(model, dataset, encoder, quick_test).top1;
            metrics << json{{"step", r.step}, {"eval_zero_shot_top1_1k", top1}}.dump() << "\n";
            acc_steps.push_back(double(r.step));
            acc_values.push_back(top1);
        }
        metrics.flush();
    };
    const auto meta = run_metadata(config, encoder, dataset, o.seed, options);
    hooks.on_checkpoint = [&](const train::State& s) {
        if (!lead) return;
        auto m = meta;
        m["step"] = std::to_string(s.step);
        m["total_steps"] = std::to_string(s.total_steps);
        m["train_seconds"] = std::to_string(s.elapsed_s);
        io::save_rotating(out, s.step, model, optimizer, m, o.keep_checkpoints);
    };

    train::State final_state;
    if (files) {
        final_state = train::fit(model, optimizer, *pairs_on_disk, topt, hooks, state);
    } else if (shapes) {
        const tasks::ShapesPairs pairs(o.train_subset > 0 ? o.train_subset : o.shapes_train_size, encoder, o.seed);
        final_state = train::fit(model, optimizer, pairs, topt, hooks, state);
    } else {
        const tasks::FashionMnistPairs pairs(*dataset.train, encoder, o.seed, o.train_subset, !o.no_augment);
        final_state = train::fit(model, optimizer, pairs, topt, hooks, state);
    }
    if (!lead) return;  // rank 0 evaluates and reports
    progress.finish();
    if (detail::stop_requested.load()) {
        std::printf("stopped at step %lld of %lld; checkpoint saved: %s (continue with --resume %s)\n",
                    (long long)final_state.step, (long long)final_state.total_steps,
                    (out / "checkpoint.safetensors").string().c_str(), out.string().c_str());
        return;
    }

    std::printf("trained %lld steps in %.1f s; evaluating...\n", (long long)final_state.step, final_state.elapsed_s);
    if (files) {
        report_files(model, o, encoder, *pairs_on_disk, final_state, options, curve_steps, curve_loss);
        return;
    }
    const auto ev = evaluate(model, dataset, encoder, o.seed, o.eval_subset, o.probe_subset, !o.no_probe);
    json results = ev.results;
    results["train_seconds"] = final_state.elapsed_s;
    results["steps"] = final_state.step;
    results["skipped_steps"] = final_state.skipped_steps;
    results["pairs_seen"] = final_state.step * o.batch;
    results["options"] = options;
    results["parameters"] = model.parameter_count();
    detail::write_json(out / "results.json", results);

    detail::write_loss_chart(out, curve_steps, curve_loss);
    report::write_svg(out / "zero_shot_accuracy.svg",
                      report::LineChart{"Zero-shot top-1 during training (1,000 test images)", "step", "top-1",
                                        {{"zero-shot top-1", acc_steps, acc_values}}, 0.0, 1.0});
    std::vector<std::int64_t> counts;
    for (std::int64_t a = 0; a < ev.zero_shot.confusion.classes(); ++a)
        for (std::int64_t p = 0; p < ev.zero_shot.confusion.classes(); ++p) counts.push_back(ev.zero_shot.confusion.count(a, p));
    report::write_svg(out / "confusion.svg", report::ConfusionMatrix{"Zero-shot confusion (" + o.dataset + " test)", ev.class_names, counts});

    std::printf("%s\n", results.dump(2).c_str());
    std::printf("zero-shot top-1: %.2f%%  (top-5 %.2f%%) on %lld test images; results in %s\n", 100 * ev.zero_shot.top1,
                100 * ev.zero_shot.top5, (long long)results["test_images"].get<std::int64_t>(), (out / "results.json").string().c_str());
}

}  // namespace contra::cli
