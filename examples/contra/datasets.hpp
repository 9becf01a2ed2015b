// What `contra train` and `contra eval` share: the model type, the dataset of a run, the
// tokenizer, and the evaluation that ends every run (zero-shot, linear probe, retrieval).
#pragma once
#include <contra/contra.hpp>
#include <contra/io/checkpoint.hpp>
#include <contra/io/config_json.hpp>
#include <contra/run/runner.hpp>
#include <contra/tasks/benchmark.hpp>
#include <contra/tasks/evaluate.hpp>
#include <contra/tasks/fashion_mnist.hpp>
#include <contra/tasks/image_text.hpp>
#include <contra/tasks/shapes.hpp>
#include <nlohmann/json.hpp>

#include "models.hpp"
#include "zeroshot_lists.hpp"

#include <cstdio>
#include <optional>

namespace contra::cli {

using Model = model::OpenAiClip<float, cpu>;
using json = nlohmann::json;

inline constexpr std::int64_t kShapesTestImages = 3600;    // 100 per colour–shape class on average
inline constexpr std::int64_t kShapesProbeImages = 10000;  // linear-probe training images (seen combinations)

// The data of a run: Fashion-MNIST splits (loaded once) or the shapes generator settings.
struct Dataset {
    std::string name;  // "fashion-mnist", "shapes", or "csv"/"webdataset" (the pairs are read by tasks::ImageTextStream)
    std::string dir;   // Fashion-MNIST directory
    std::optional<data::FashionMnist> train, test;

    static Dataset open(const std::string& name, const std::string& dir) {
        Dataset d{name, dir, std::nullopt, std::nullopt, {}};
        if (name == "fashion-mnist") {
            d.train = data::load_fashion_mnist(data::Split::train, dir);
            d.test = data::load_fashion_mnist(data::Split::test, dir);
        } else if (name != "shapes" && !is_files(name)) {
            throw Error("unknown dataset '" + name + "' (known: fashion-mnist, shapes, csv, webdataset)");
        }
        return d;
    }
    static bool is_files(const std::string& name) { return name == "csv" || name == "webdataset"; }
    bool is_shapes() const { return name == "shapes"; }
    std::vector<std::string> corpus() const { return is_shapes() ? tasks::shapes_corpus() : tasks::fashion_mnist_corpus(); }
    // class_names(): the labels zero-shot evaluation names (none for image–caption files).
    std::vector<std::string> class_names() const {
        std::vector<std::string> out;
        if (is_files(name)) return out;
        if (is_shapes())
            for (const auto& c : data::shapes::classes()) out.push_back(c.name);
        else
            for (auto n : data::kFashionMnistClasses) out.emplace_back(n);
        return out;
    }
    std::vector<std::string> templates;  // evaluation templates chosen by the user (empty: the dataset's)
    std::vector<std::string> eval_templates() const {
        if (!templates.empty()) return templates;
        std::vector<std::string> out;
        if (is_shapes())
            for (auto t : data::shapes::kEvalTemplates) out.emplace_back(t);
        else
            for (auto t : data::kEvalTemplates) out.emplace_back(t);
        return out;
    }
    // Every prompt evaluation writes (for sizing the context length).
    std::vector<std::string> eval_prompts() const {
        std::vector<std::string> out;
        for (const auto& c : class_names())
            for (const auto& t : eval_templates()) out.push_back(data::caption(c, t));
        return out;
    }
};

// Images of one split and their labels (the first `limit` when limit > 0).
inline tasks::LabelledImages labelled_images(const Dataset& d, bool test_split, std::uint64_t seed, std::int64_t limit) {
    if (d.is_shapes()) {
        namespace sh = data::shapes;
        const sh::Split split = test_split ? sh::Split::test : sh::Split::train;
        const std::int64_t available = test_split ? kShapesTestImages : kShapesProbeImages;
        const std::int64_t n = limit > 0 ? std::min(limit, available) : available;
        tasks::LabelledImages out{[seed, split](std::int64_t b, std::int64_t e) {
                               return sh::make_batch(std::uint64_t(b), e - b, seed, split).images;
                           },
                           {}};
        for (std::int64_t i = 0; i < n; ++i) out.labels.push_back(sh::draw_attributes(std::uint64_t(i), seed, split).label());
        return out;
    }
    const auto& images = test_split ? *d.test : *d.train;
    const std::int64_t n = limit > 0 ? std::min(limit, images.size()) : images.size();
    tasks::LabelledImages out{[&images](std::int64_t b, std::int64_t e) {
                           std::vector<std::int64_t> idx(static_cast<std::size_t>(e - b));
                           for (std::int64_t i = b; i < e; ++i) idx[std::size_t(i - b)] = i;
                           return images.images_batch(idx);
                       },
                       {}};
    for (std::int64_t i = 0; i < n; ++i) out.labels.push_back(images.label(i));
    return out;
}
inline tasks::LabelledImages test_images(const Dataset& d, std::uint64_t seed, std::int64_t limit) {
    return labelled_images(d, true, seed, limit);
}
inline tasks::LabelledImages probe_train_images(const Dataset& d, std::uint64_t seed, std::int64_t limit) {
    return labelled_images(d, false, seed, limit);
}

// Zero-shot top-1 on test images (a quick look during training, or the full figure).
template <class M>
tasks::ZeroShotResult zero_shot_on(const M& model, const Dataset& d, const tasks::CaptionEncoder& encoder,
                                          const tasks::LabelledImages& test) {
    const auto classifier = tasks::zero_shot_classifier(model, encoder, d.class_names(), d.eval_templates());  // [C, E]
    const auto features = tasks::embed_images(model, test.images, test.size());                               // [N, E]
    return tasks::zero_shot(features, classifier, test.labels);
}

// retrieval_json(r): recall at 1, 5 and 10 both ways, as results.json holds them.
inline json retrieval_json(const eval::RetrievalResult& r) {
    return {{"image_to_text_r1", r.image_to_text_r1}, {"image_to_text_r5", r.image_to_text_r5},
            {"image_to_text_r10", r.image_to_text_r10}, {"text_to_image_r1", r.text_to_image_r1},
            {"text_to_image_r5", r.text_to_image_r5}, {"text_to_image_r10", r.text_to_image_r10}};
}

struct Evaluation {
    json results;                   // the numbers of results.json
    tasks::ZeroShotResult zero_shot;
    std::vector<std::string> class_names;
};

// The evaluation that ends every run on labelled images (tasks::evaluate_labelled: zero-shot
// top-1/top-5, a linear probe on frozen features, image↔text retrieval), as results.json holds it;
// for shapes also the accuracy on the combinations training never saw, and on those it saw.
template <class M>
Evaluation evaluate(const M& model, const Dataset& d, const tasks::CaptionEncoder& encoder, std::uint64_t seed,
                           std::int64_t test_limit, std::int64_t probe_limit, bool with_probe) {
    Evaluation ev;
    ev.class_names = d.class_names();
    const auto test = test_images(d, seed, test_limit);
    const auto probe = with_probe ? std::optional(probe_train_images(d, seed, probe_limit)) : std::nullopt;
    const auto measured = tasks::evaluate_labelled(model, encoder, ev.class_names, d.eval_templates(), test,
                                                   probe ? &*probe : nullptr);
    ev.zero_shot = measured.zero_shot;
    ev.results["zero_shot_top1"] = ev.zero_shot.top1;
    ev.results["zero_shot_top5"] = ev.zero_shot.top5;
    ev.results["test_images"] = test.size();
    if (d.is_shapes()) {  // accuracy over all 36 names, split by whether training saw the combination
        std::int64_t held = 0, held_hits = 0, seen = 0, seen_hits = 0;
        for (std::size_t i = 0; i < test.labels.size(); ++i) {
            const bool hit = ev.zero_shot.predictions[i] == test.labels[i];
            const int label = test.labels[i];
            if (data::shapes::is_held_out(label / data::shapes::kShapeCount, label % data::shapes::kShapeCount)) {
                ++held;
                held_hits += hit;
            } else {
                ++seen;
                seen_hits += hit;
            }
        }
        ev.results["zero_shot_heldout_top1"] = held ? double(held_hits) / double(held) : 0.0;
        ev.results["zero_shot_seen_top1"] = seen ? double(seen_hits) / double(seen) : 0.0;
        ev.results["heldout_test_images"] = held;
    }
    if (measured.linear_probe_top1) {
        ev.results["linear_probe_top1"] = *measured.linear_probe_top1;
        ev.results["linear_probe_train_images"] = probe->size();
    }
    ev.results["retrieval"] = retrieval_json(measured.retrieval);
    ev.results["retrieval"]["images"] = measured.retrieval_images;
    return ev;
}

// evaluate_checkpoint<M>(path, config, seed, d, encoder, ...): a contra train checkpoint's weights
// read into an M (any precision: converted), then evaluate() on its own dataset.
template <class M>
Evaluation evaluate_checkpoint(const std::filesystem::path& path, const model::ClipConfig& config, std::uint64_t seed,
                               const Dataset& d, const tasks::CaptionEncoder& encoder, std::int64_t test_limit,
                               std::int64_t probe_limit, bool with_probe) {
    M model(config, model::uninitialized);  // every parameter is loaded next
    io::load_checkpoint(path, model);
    return evaluate(model, d, encoder, seed, test_limit, probe_limit, with_probe);
}

// The same on the GPU, in float (commands_cuda.cu): the models `contra train --device cuda` builds.
Evaluation evaluate_checkpoint_on_cuda(const std::filesystem::path& path, const model::ClipConfig& config, std::uint64_t seed,
                                       const Dataset& d, const tasks::CaptionEncoder& encoder, std::int64_t test_limit,
                                       std::int64_t probe_limit, bool with_probe, ops::Activation activation,
                                       io::LossKind loss_kind, bool causal_text);

// Run metadata stored in every checkpoint, enough to rebuild the model and its tokenizer.
// The MLP activation of a model type the program trains, which its checkpoints record.
template <class M>
inline constexpr ops::Activation trained_activation =
    std::remove_cvref_t<decltype(std::declval<M&>().text.transformer.resblocks[0].mlp)>::activation::kind;

// activation_of(metadata): the activation a checkpoint of this program records (QuickGELU when it
// records none: the only one the program trained before it recorded it).
inline ops::Activation activation_of(const std::map<std::string, std::string>& metadata) {
    const auto saved = metadata.find("activation");
    return saved == metadata.end() ? ops::Activation::quick_gelu : io::activation_from_name(saved->second);
}

// The loss of a model type the program trains.
template <class M>
inline constexpr io::LossKind trained_loss =
    requires(const M& m) { m.loss_fn.logit_bias; } ? io::LossKind::siglip : io::LossKind::infonce;

template <class M>
std::map<std::string, std::string> run_metadata(const model::ClipConfig& config, const tasks::CaptionEncoder& encoder,
                                                const Dataset& d, std::uint64_t seed) {
    return {{"config", io::to_json(config).dump()},
            {"tokenizer_merges", tasks::merges_to_text(encoder.tokenizer())},
            {"context_length", std::to_string(encoder.context_length())},
            {"dataset", d.name},
            {"seed", std::to_string(seed)},
            {"activation", io::activation_name(trained_activation<M>)},  // read back by io::describe_pretrained
            {"loss", io::loss_name(trained_loss<M>)},
            {"text_mask", M::text_tower::causal ? "causal" : "none"}};
}

// A list named by --classnames / --templates: a built-in one (data/zeroshot/) or a file; `source`
// says which, for the results.
struct NamedList {
    std::vector<std::string> items;
    std::string source;
};

inline NamedList class_names_from(const std::string& spec) {
    if (spec == "imagenet" || spec == "cifar10" || spec == "cifar100") {
        const auto source = spec + " (built in)";
        return {tasks::parse_class_names(builtin_list(spec + "_classnames.txt"), source), source};
    }
    return {tasks::parse_class_names(tasks::read_text_file(spec), spec), spec};
}

inline NamedList templates_from(const std::string& spec) {
    if (spec == "imagenet") return {tasks::parse_templates(builtin_list("imagenet_templates.txt"), "imagenet (built in)"), "imagenet (built in)"};
    if (spec == "cifar" || spec == "cifar10" || spec == "cifar100")
        return {tasks::parse_templates(builtin_list("cifar_templates.txt"), "cifar (built in)"), "cifar (built in)"};
    return {tasks::parse_templates(tasks::read_text_file(spec), spec), spec};
}

}  // namespace contra::cli
