// The commands on pretrained models: inspect, tokenize, embed, grad, zeroshot, export.
//   contra inspect FILE: the tensors of a safetensors file (name, dtype, shape), its metadata and,
//     when it is a CLIP checkpoint, the architecture contra reads from it.
//   contra tokenize --bpe FILE | --hf FOLDER TEXT...: one line of ids per text ([start] + BPE +
//     [end], cut to the context with end-of-text last, no padding).
//   contra embed|grad --model PATH --inputs IN --out OUT: a pretrained model on preprocessed inputs,
//     for comparing contra with other implementations tensor by tensor.
//   contra zeroshot --model PATH --labels "dog,cat,..." IMAGE...: class probabilities per image file;
//     each label through every template, text embeddings averaged and renormalised (prompt
//     ensembling), softmax of 100·image·classes.
//   contra export --model PATH --to hf|open_clip --out PATH: a model in the layout other programs read.
#include <CLI/CLI.hpp>
#include <contra/data/hf_tokenizer.hpp>
#include <contra/data/image.hpp>
#include <contra/tasks/captions.hpp>
#include <contra/tasks/evaluate.hpp>

#include <cstdio>
#include <filesystem>
#include <numeric>
#include <optional>

#include "commands.hpp"
#include "models.hpp"
#include "pretrained_run.hpp"

namespace contra::cli {

namespace {
void add_model_options(CLI::App* cmd, ModelOptions& o) {
    cmd->add_option("--model", o.path,
                    "An HF CLIPModel folder, an OpenAI/open_clip-layout .safetensors file, or a contra checkpoint")
        ->required();
    cmd->add_option("--vision-heads", o.vision_heads, "Image attention heads, when the file and no open_clip_config.json beside it say");
    cmd->add_option("--text-heads", o.text_heads, "Text attention heads, when the file and no open_clip_config.json beside it say");
    cmd->add_option("--activation", o.activation, "MLP activation (quick_gelu or gelu), when the file and no open_clip_config.json beside it say");
}
}  // namespace

void inspect_command(const InspectOptions& o) {
    namespace fs = std::filesystem;
    const fs::path file = fs::is_directory(o.path) ? fs::path(o.path) / "model.safetensors" : fs::path(o.path);
    const auto in = io::SafetensorsFile::read(file);
    std::int64_t elements = 0;
    for (const auto& name : in.names()) {
        const auto& info = in.info(name);
        elements += info.shape.numel();
        std::printf("%-64s %-5s %s\n", name.c_str(), std::string(dtype_name(info.dtype)).c_str(),
                    contra::detail::concat(info.shape).c_str());
    }
    std::printf("%zu tensors, %s elements\n", in.names().size(), with_commas(elements).c_str());
    for (const auto& [key, value] : in.metadata())
        std::printf("metadata %s: %s\n", key.c_str(), value.size() > 200 ? (value.substr(0, 200) + "...").c_str() : value.c_str());
    try {
        const auto p = io::describe_pretrained(o.path);
        std::printf("CLIP (%s layout, %s): %s\n",
                    p.layout == io::WeightLayout::hf ? "Hugging Face" : p.layout == io::WeightLayout::contra ? "contra" : "OpenAI",
                    io::activation_name(p.activation).c_str(), io::to_json(p.config).dump().c_str());
        if (const auto& r = p.resnet)
            std::printf("image tower: ModifiedResNet %s (config.vision unused)\n", io::to_json(*r).dump().c_str());
    } catch (const Error& e) {
        std::printf("not read as a CLIP model: %s\n", e.what());
    }
}

static void add_inspect(CLI::App& app, InspectOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("inspect", "List the tensors of a safetensors file (or an HF model folder)");
    cmd->add_option("file", o.path, "a .safetensors file or an HF model folder")->required();
    cmd->callback([&] { run = [&] { inspect_command(o); }; });
}

void tokenize_command(const TokenizeOptions& o) {
    CONTRA_CHECK(o.bpe.empty() != o.hf.empty(), "tokenize: give either --bpe FILE or --hf FOLDER");
    const auto tokenizer = o.hf.empty() ? data::Tokenizer::from_merges_file(o.bpe) : data::tokenizer_from_hf_folder(o.hf);
    for (const auto& text : o.texts) {
        auto ids = tokenizer.tokenize(text, o.context);
        while (!ids.empty() && ids.back() == 0) ids.pop_back();  // padding (the last real id is end-of-text)
        std::string line;
        for (const auto id : ids) line += (line.empty() ? "" : " ") + std::to_string(id);
        std::printf("%s\n", line.c_str());
    }
}

static void add_tokenize(CLI::App& app, TokenizeOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("tokenize", "Token ids of texts with CLIP's BPE");
    cmd->add_option("--bpe", o.bpe, "The merges file (bpe_simple_vocab_16e6.txt.gz)");
    cmd->add_option("--hf", o.hf, "Or an HF model folder with merges.txt and vocab.json");
    cmd->add_option("--context", o.context, "Context length (cut longer texts)")->capture_default_str()->check(CLI::Range(2, 1 << 20));
    cmd->add_option("texts", o.texts, "Texts to tokenize")->required();
    cmd->callback([&] { run = [&] { tokenize_command(o); }; });
}

namespace {
template <class T>
void embed_in(const EmbedOptions& o, const io::Pretrained& p, const io::SafetensorsFile& in, bool gradients) {
    with_pretrained<T>(p, [&](auto& model) { embed_with(model, p, in, gradients, o.out); });
}
}  // namespace

void embed_command(const EmbedOptions& o, bool gradients) {
    CONTRA_CHECK(o.dtype == "f32" || o.dtype == "f64", "--dtype must be f32 or f64, got '", o.dtype, "'");
    check_device(o.device);
    CONTRA_CHECK(o.device == "cpu" || o.dtype == "f32", "--device cuda computes in f32; --dtype f64 runs on --device cpu");
    if (o.device == "cuda") require_cuda_device();
    const auto p = describe(o.model);
    const auto in = io::SafetensorsFile::read(o.inputs);
    const bool has_images = in.contains("pixel_values"), has_texts = in.contains("input_ids");
    CONTRA_CHECK(has_images || has_texts, o.inputs, ": holds neither pixel_values nor input_ids");
    CONTRA_CHECK(!gradients || (has_images && has_texts), o.inputs, ": the loss needs both pixel_values and input_ids");
    if (o.device == "cuda") embed_on_cuda(p, in, gradients, o.out);
    else if (o.dtype == "f64") embed_in<double>(o, p, in, gradients);
    else embed_in<float>(o, p, in, gradients);
    std::printf("wrote %s\n", o.out.c_str());
}

static void add_embed(CLI::App& app, EmbedOptions& o, std::function<void()>& run, bool gradients) {
    auto* cmd = gradients
                    ? app.add_subcommand("grad", "The CLIP loss of a paired batch and the gradient of every parameter")
                    : app.add_subcommand("embed", "Image and text embeddings (and logits) of preprocessed inputs");
    add_model_options(cmd, o.model);
    cmd->add_option("--inputs", o.inputs, "safetensors with pixel_values [N,C,H,W] and/or input_ids [M,T]")->required();
    cmd->add_option("--out", o.out, "safetensors file to write")->required();
    cmd->add_option("--dtype", o.dtype, "Compute type: f32 or f64")->check(CLI::IsMember({"f32", "f64"}))->capture_default_str();
    cmd->add_option("--device", o.device, "cpu or cuda (f32 on the GPU)")->capture_default_str();
    cmd->callback([&o, &run, gradients] {
        run = [&o, gradients] { embed_command(o, gradients); };
    });
}

// OpenAI's short list of ImageNet prompts (the zero-shot notebook's selected subset).
const std::vector<std::string> kDefaultTemplates = {
    "itap of a {}.", "a bad photo of the {}.", "a origami {}.", "a photo of the large {}.",
    "a {} in a video game.", "art of the {}.", "a photo of the small {}."};

static std::vector<std::string> split_labels(const std::string& labels) {
    std::vector<std::string> out;
    std::size_t begin = 0;
    while (begin <= labels.size()) {
        auto end = labels.find(',', begin);
        if (end == std::string::npos) end = labels.size();
        auto label = labels.substr(begin, end - begin);
        label.erase(0, label.find_first_not_of(' '));
        label.erase(label.find_last_not_of(' ') + 1);
        CONTRA_CHECK(!label.empty(), "--labels: an empty label in '", labels, "'");
        out.push_back(label);
        begin = end + 1;
    }
    CONTRA_CHECK(out.size() >= 2, "--labels: at least two labels, comma-separated");
    return out;
}

// zeroshot_probabilities(o): for each image file, the probability of each label (in o's order).
std::vector<std::vector<double>> zeroshot_probabilities(const ZeroShotOptions& o) {
    check_device(o.device);
    if (o.device == "cuda") require_cuda_device();
    const auto p = describe(o.model);
    const auto labels = split_labels(o.labels);
    const auto templates = o.templates.empty() ? kDefaultTemplates : data::read_templates(o.templates);
    const auto tokenizer = tokenizer_for(p, o.bpe);
    const auto& v = p.config.vision;
    CONTRA_CHECK(v.channels == 3, "zeroshot reads colour images; this model takes ", v.channels, " channel(s)");
    const tasks::CaptionEncoder encoder(tokenizer, int(p.config.text.context_length));
    const ZeroShotJob job{encoder, labels, templates, o.images, v.image_size};
    if (o.device == "cuda") return zeroshot_on_cuda(p, job);
    std::vector<std::vector<double>> out;
    with_pretrained<float>(p, [&](auto& model) { out = zeroshot_with(model, job); });
    return out;
}

void zeroshot_command(const ZeroShotOptions& o) {
    const auto labels = split_labels(o.labels);
    const auto probabilities = zeroshot_probabilities(o);
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        std::vector<std::size_t> order(labels.size());
        std::iota(order.begin(), order.end(), std::size_t(0));
        std::sort(order.begin(), order.end(), [&](auto a, auto b) { return probabilities[i][a] > probabilities[i][b]; });
        std::printf("%s\n", o.images[i].c_str());
        for (std::size_t k = 0; k < order.size() && k < std::size_t(o.top); ++k)
            std::printf("  %6.2f%%  %s\n", 100 * probabilities[i][order[k]], labels[order[k]].c_str());
    }
}

static void add_zeroshot(CLI::App& app, ZeroShotOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("zeroshot", "Classify image files by label names alone");
    add_model_options(cmd, o.model);
    cmd->add_option("--bpe", o.bpe, "CLIP's merges file (not needed for HF folders with merges.txt or contra checkpoints)");
    cmd->add_option("--labels", o.labels, "Comma-separated class names")->required();
    cmd->add_option("--templates", o.templates, "A file of prompt templates, one per line with {} for the label");
    cmd->add_option("--top", o.top, "How many classes to print per image")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--device", o.device, "cpu or cuda (the model in float on the GPU)")->capture_default_str();
    cmd->add_option("images", o.images, "PNG or JPEG files")->required();
    cmd->callback([&] { run = [&] { zeroshot_command(o); }; });
}

void export_command(const ExportOptions& o) {
    const auto p = describe(o.model);
    CONTRA_CHECK(p.loss == io::LossKind::infonce, p.weights.string(),
                 " was trained with SigLIP's loss: its logit_bias has no place in the HF CLIPModel or open_clip CLIP "
                 "layouts (contra's own checkpoint keeps it; contra eval, zeroshot and embed read it)");
    CONTRA_CHECK(p.causal_text, p.weights.string(),
                 " has a bidirectional text tower: the HF CLIPModel and open_clip CLIP layouts hold causal ones only "
                 "(contra's own checkpoint keeps it; contra eval, zeroshot and embed read it)");
    with_pretrained<float>(p, [&](auto& model) {
        if (o.to == "open_clip") return io::save_open_clip(model, p.config, p.activation, o.out);
        io::save_hf(model, p.config, p.activation, o.out);
        const auto source = p.weights.parent_path();
        if (const auto it = p.metadata.find("tokenizer_merges"); it != p.metadata.end())
            data::save_hf_tokenizer(tasks::merges_from_text(it->second), o.out);
        else if (p.layout == io::WeightLayout::hf && std::filesystem::exists(source / "merges.txt"))
            data::save_hf_tokenizer(data::tokenizer_from_hf_folder(source), o.out);
    });
    std::printf("wrote %s (%s layout)\n", o.out.c_str(), o.to.c_str());
}

static void add_export(CLI::App& app, ExportOptions& o, std::function<void()>& run) {
    auto* cmd = app.add_subcommand("export", "Write a model in the Hugging Face or open_clip layout");
    add_model_options(cmd, o.model);
    cmd->add_option("--to", o.to, "hf (a CLIPModel folder) or open_clip (a .safetensors file)")
        ->required()
        ->check(CLI::IsMember({"hf", "open_clip"}));
    cmd->add_option("--out", o.out, "The folder (hf) or file (open_clip) to write")->required();
    cmd->callback([&] { run = [&] { export_command(o); }; });
}

void add_pretrained_commands(CLI::App& app, std::function<void()>& run) {
    static InspectOptions inspect;
    static TokenizeOptions tokenize;
    static EmbedOptions embed, grad;
    static ZeroShotOptions zeroshot;
    static ExportOptions exporting;
    add_inspect(app, inspect, run);
    add_tokenize(app, tokenize, run);
    add_embed(app, embed, run, /*gradients=*/false);
    add_embed(app, grad, run, /*gradients=*/true);
    add_zeroshot(app, zeroshot, run);
    add_export(app, exporting, run);
}

}  // namespace contra::cli
