// The commands of the contra program: their options and entry points. Each command is compiled
// once, in its own translation unit of the library contra_commands (train.cpp, eval.cpp,
// pretrained.cpp, search.cpp, report.cpp, bench.cpp, info.cpp); main.cpp parses the command line
// into these structs, and the tests call the same functions.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <contra/core/config.hpp>  // CONTRA_CHECK

namespace CLI {
class App;
}

namespace contra::cli {

// `add_<command>(app, run)`: the command's options on the command line; parsing sets `run` to the
// call that executes it.
void add_train(CLI::App& app, std::function<void()>& run);
void add_eval(CLI::App& app, std::function<void()>& run);
void add_pretrained_commands(CLI::App& app, std::function<void()>& run);  // inspect, tokenize, embed, grad, zeroshot, export
void add_bench(CLI::App& app, std::function<void()>& run);
void add_info(CLI::App& app, std::function<void()>& run);
void add_report_commands(CLI::App& app, std::function<void()>& run);  // report, compare
void add_search_commands(CLI::App& app, std::function<void()>& run);  // index, search

// ─── contra train ────────────────────────────────────────────────────────────────────────────
struct TrainOptions {
    std::string dataset = "fashion-mnist";
    std::string data_dir = "/usr/share/datasets/fashion-mnist";  // data::kFashionMnistDir
    std::string out;
    std::string arch;  // default: the dataset's preset
    std::string bpe;   // a merges file instead of learning the vocabulary
    std::string resume;
    std::string init;        // pretrained weights a fresh run starts from
    std::string init_image;  // ...or only its image tower starts from them (LiT: the text tower is fresh)
    std::string activation;  // quick_gelu or gelu (empty: quick_gelu, or the --init weights')
    std::string loss;        // infonce or siglip (empty: infonce, or the --init weights')
    std::string text_mask;   // causal or none (empty: causal, or the --init weights')
    std::string device = "cpu";
    std::string precision;  // fp32; on a GPU also tf32 (TF32 tensor cores) or bf16 (mixed precision). Empty: bf16 on a GPU, else fp32
    std::string schedule = "cosine";
    std::int64_t batch = 128, warmup = 50, epochs = 0, checkpoint_every = 1000, vocab_size = 1000, accumulate = 1;
    std::int64_t patch_size = 0, vision_layers = 0, vision_width = 0, vision_heads = 0, stem_channels = -1;  // ≥ 0 / > 0: override the preset
    std::int64_t text_heads = 0;
    std::int64_t steps = -1;  // ≥ 0: exactly this many steps
    std::int64_t train_subset = 0, eval_subset = 0, probe_subset = 0, eval_points = 10, shapes_train_size = 50000;
    double lr = 2e-3, weight_decay = 0.1, grad_clip = 1.0, time_budget = 0;
    std::uint64_t seed = 0;
    int threads = 0;
    bool no_probe = false;
    bool no_augment = false;
    bool local_loss = false;              // data parallel: each rank's rows against all columns
    bool checkpoint_activations = false;  // recompute each transformer block in backward
    double patch_dropout = 0;             // FLIP: the share of patch tokens each training step drops
    bool lock_image = false, lock_text = false;  // LiT: frozen towers
    std::int64_t lock_image_unlocked_blocks = 0, lock_text_unlocked_blocks = 0;  // ...but their last N blocks
    double dist_timeout = 120;            // data parallel: seconds a rank may stay silent
    int keep_checkpoints = 3;             // the newest step checkpoints kept in the run folder
    std::string on_nonfinite = "skip";    // a step with a non-finite loss or gradient: skip or stop
    // Image–caption files (--dataset csv or webdataset).
    std::string train_data, val_data;     // a caption table, or a shard pattern
    std::string csv_img_key = "filepath", csv_caption_key = "title", csv_separator;  // open_clip's names
    std::int64_t train_samples = 0;       // webdataset: samples an epoch (0: counted by reading the shards)
    // Zero-shot checks during a run on files: an image folder (one subfolder per class), its class
    // names and templates (built-in list names or files), every N steps (0: --eval-points checks).
    std::string zeroshot_eval, zeroshot_classnames, zeroshot_templates = "imagenet";
    std::int64_t zeroshot_every = 0;
    std::int64_t image_size = 0;          // > 0: override the preset's image side
    int workers = 2;                      // image decoding threads
};

// The options a run keeps, listed once: visit_saved_options(o, f) calls f(name, field, from_command_line)
// for each. Every checkpoint saves them; --resume restores them (the run goes on as it started),
// except that a path given again on the command line wins (data that moved).
template <class F>
void visit_saved_options(TrainOptions& o, F&& f) {
    f("dataset", o.dataset, false);
    f("arch", o.arch, false);
    f("batch", o.batch, false);
    f("lr", o.lr, false);
    f("warmup", o.warmup, false);
    f("schedule", o.schedule, false);
    f("weight_decay", o.weight_decay, false);
    f("grad_clip", o.grad_clip, false);
    f("epochs", o.epochs, false);
    f("steps", o.steps, false);
    f("init", o.init, false);
    f("init_image", o.init_image, false);
    f("activation", o.activation, false);
    f("loss", o.loss, false);
    f("text_mask", o.text_mask, false);
    f("time_budget", o.time_budget, false);
    f("seed", o.seed, false);
    f("train_subset", o.train_subset, false);
    f("no_augment", o.no_augment, false);
    f("accumulate", o.accumulate, false);
    f("local_loss", o.local_loss, false);
    f("patch_dropout", o.patch_dropout, false);
    f("lock_image", o.lock_image, false);
    f("lock_text", o.lock_text, false);
    f("lock_image_unlocked_blocks", o.lock_image_unlocked_blocks, false);
    f("lock_text_unlocked_blocks", o.lock_text_unlocked_blocks, false);
    f("on_nonfinite", o.on_nonfinite, false);
    f("train_data", o.train_data, true);
    f("val_data", o.val_data, true);
    f("csv_img_key", o.csv_img_key, false);
    f("csv_caption_key", o.csv_caption_key, false);
    f("csv_separator", o.csv_separator, false);
    f("train_samples", o.train_samples, false);
    f("zeroshot_eval", o.zeroshot_eval, true);
    f("zeroshot_classnames", o.zeroshot_classnames, true);
    f("zeroshot_templates", o.zeroshot_templates, true);
    f("zeroshot_every", o.zeroshot_every, false);
    f("image_size", o.image_size, false);
    f("precision", o.precision, false);  // bf16 runs keep bf16 weights and fp32 masters: resumed in bf16
}

// train_command(o): trains, evaluates and writes the run folder (o is completed: defaults, or
// the resumed run's options).
void train_command(TrainOptions& o);

// ─── contra eval ─────────────────────────────────────────────────────────────────────────────
// Two routes: a contra train checkpoint (its own dataset), or --model with the standard
// benchmarks (docs/evaluation.md); exactly one of checkpoint and model.
struct EvalOptions {
    std::string checkpoint;
    std::string data_dir = "/usr/share/datasets/fashion-mnist";
    std::string templates;  // checkpoint: a file of zero-shot templates; --model: a file, or imagenet / cifar
    std::int64_t eval_subset = 0, probe_subset = 0;
    bool no_probe = false;
    int threads = 0;
    // --model: any model contra zeroshot takes, and the tasks to run on it.
    std::string model, bpe, activation;
    std::int64_t vision_heads = 0, text_heads = 0;
    std::string folder, classnames;       // zero-shot on an image folder; class names: a file, or imagenet / cifar10 / cifar100
    std::string cifar10, cifar100;        // folders holding test_batch.bin / test.bin
    std::string retrieval;                // a caption table, one row per caption
    std::string csv_img_key = "filepath", csv_caption_key = "title", csv_separator;  // open_clip's names
    std::string out;                      // results file (default: ./eval-results.json)
    std::int64_t batch = 64;              // images decoded and embedded together
    bool skip_broken_images = false;      // leave unreadable images out (listed in the results) instead of failing
    std::string device = "cpu";           // checkpoint: cpu or cuda (the model in float on the GPU)
};
void eval_command(const EvalOptions& o);

// ─── commands on pretrained models ────────────────────────────────────────────────────────────
// How to read a checkpoint: the file or folder, and what the file may not say.
struct ModelOptions {
    std::string path;
    std::int64_t vision_heads = 0, text_heads = 0;
    std::string activation;  // empty: from the checkpoint
};

struct InspectOptions {
    std::string path;
};
void inspect_command(const InspectOptions& o);

struct TokenizeOptions {
    std::string bpe, hf;
    int context = 77;  // data::kClipContextLength
    std::vector<std::string> texts;
};
void tokenize_command(const TokenizeOptions& o);

// embed: IN {pixel_values [N,C,S,S], input_ids [M,T]} → OUT {image_embeds [N,E], text_embeds [M,E]
// (L2-normalised), logits_per_image [N,M] when both are given}; grad (gradients = true): the loss of
// the paired batch (N = M) → OUT {loss, <parameter name>: its gradient}. dtype: f32 or f64.
struct EmbedOptions {
    ModelOptions model;
    std::string inputs, out, dtype = "f32";
    std::string device = "cpu";  // cpu or cuda (f32 on the GPU)
};
void embed_command(const EmbedOptions& o, bool gradients);

struct ZeroShotOptions {
    ModelOptions model;
    std::string bpe, labels, templates;
    std::vector<std::string> images;
    int top = 5;
    std::string device = "cpu";  // cpu or cuda
};
// OpenAI's short list of ImageNet prompts (the zero-shot notebook's selected subset).
extern const std::vector<std::string> kDefaultTemplates;
// zeroshot_probabilities(o): for each image file, the probability of each label (in o's order).
std::vector<std::vector<double>> zeroshot_probabilities(const ZeroShotOptions& o);
void zeroshot_command(const ZeroShotOptions& o);

struct ExportOptions {
    ModelOptions model;
    std::string to, out;
};
void export_command(const ExportOptions& o);

// ─── contra bench, contra info ─────────────────────────────────────────────────────────────────
struct BenchOptions {
    std::string config = "fmnist";
    int steps = 5, threads = 2;
    std::int64_t batch = 16;
    std::int64_t train_batch = 0;  // bench train: pairs per step; 0: the configuration's batch
    bool checkpoint_activations = false;
    double patch_dropout = 0;      // bench train: the fraction of image patches dropped in each step
    std::string device = "cpu";    // cpu or cuda
    std::string precision;  // fp32; on a GPU also tf32 or bf16. Empty: bf16 on a GPU, else fp32
};
void require_cuda_device();  // returns when this program has CUDA and a GPU is there; else a clear Error
// check_device(device): "cpu" or "cuda", else a clear Error.
inline void check_device(const std::string& device) {
    CONTRA_CHECK(device == "cpu" || device == "cuda", "--device must be cpu or cuda, got '", device, "'");
}
void check_precision(const std::string& precision, const std::string& device);  // fp32 anywhere; tf32, bf16 on a GPU
// default_precision(device): bf16 (mixed precision) on a GPU, fp32 on the CPU.
inline std::string default_precision(const std::string& device) { return device == "cuda" ? "bf16" : "fp32"; }
void bench_train(BenchOptions o);
void bench_embed(BenchOptions o);

struct InfoOptions {
    std::string arch = "ViT-B-32";
};
void info_command(const InfoOptions& o);

// ─── contra report, contra compare ──────────────────────────────────────────────────────────────
struct ReportOptions {
    std::string run;  // a run folder: its report.html is written again
    std::string data_dir = "/usr/share/datasets/fashion-mnist";  // for examples computed from a checkpoint
};
void report_command(const ReportOptions& o);

struct CompareOptions {
    std::vector<std::string> runs;  // two or more run folders
    std::string out = "compare.html";
};
void compare_command(const CompareOptions& o);

// ─── contra index, contra search (docs/search.md) ─────────────────────────────────────────────
// index: the embeddings of every image of a folder tree or caption table, in an index file;
// run again, it embeds only new or changed files and drops removed ones.
struct IndexOptions {
    ModelOptions model;
    std::string input;  // a folder (searched recursively for .jpg/.jpeg/.png) or a caption table (.csv/.tsv)
    std::string out;
    std::string csv_img_key = "filepath", csv_caption_key = "title", csv_separator;  // as eval --retrieval
    std::string device = "cpu";
    std::int64_t batch = 32;       // images decoded and embedded together
    std::int64_t save_every = 20;  // batches between saves of the index so far (a killed run keeps them)
    int workers = 2;               // image decoding threads
    int threads = 0;               // CPU threads for the model (0: all)
    bool int8 = false;             // store int8 codes and one scale a vector instead of floats
    bool fast_decode = false;      // JPEGs decoded at 1/2, 1/4 or 1/8 scale when still ≥ the model's side
    bool quiet = false;            // no progress bar
};
// IndexSummary: what a run of contra index did.
struct IndexSummary {
    std::int64_t files = 0, kept = 0, embedded = 0, removed = 0, changed = 0, broken = 0;
};
IndexSummary index_command(const IndexOptions& o);

// search: the images of an index closest to each query (a text, a line of --queries, a photo).
struct SearchOptions {
    std::string index;
    std::vector<std::string> texts;
    std::string queries;              // a file, one text query a line
    std::vector<std::string> images;  // photos to search by
    ModelOptions model;               // path empty: the model recorded in the index
    std::string bpe;
    std::int64_t top = 20;
    bool json = false;
    std::string html;  // a self-contained page of thumbnails
    int threads = 0;
};
struct SearchHit {
    std::string path;
    float score = 0;
};
struct QueryResult {
    std::string query;  // the text, or the photo's path
    bool image = false;
    std::vector<SearchHit> hits;  // best first
};
std::vector<QueryResult> search_results(const SearchOptions& o);
void search_command(const SearchOptions& o);

}  // namespace contra::cli
