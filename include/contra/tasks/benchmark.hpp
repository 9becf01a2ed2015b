// contra/tasks/benchmark.hpp — the standard CLIP evaluations of any model, as open_clip and
// clip_benchmark report them: zero-shot classification of an image folder (ImageNet layout) or of
// CIFAR-10/100, and image↔text retrieval with several captions per image (COCO, Flickr30k).
// Nothing here prints; every function takes a built model and a CaptionEncoder, and returns a
// report (the `contra eval --model` results.json is made of their JSON, docs/evaluation.md).
// defines: tasks::ImageFolder, tasks::scan_image_folder, tasks::folder_class_names,
//          tasks::parse_class_names, tasks::parse_templates, tasks::read_text_file, tasks::BrokenImages,
//          tasks::BenchmarkOptions, tasks::SkippedImage, tasks::EmbeddedImages, tasks::embed_decoded_images,
//          tasks::ClassAccuracy, tasks::ZeroShotReport, tasks::zero_shot_report, tasks::zero_shot_images,
//          tasks::zero_shot_folder, tasks::zero_shot_cifar, tasks::RetrievalReport, tasks::retrieval_captions,
//          tasks::confusion_plot, tasks::zero_shot_json, tasks::retrieval_json
//
// Broken images: by default (BrokenImages::fail) an image that cannot be read or decoded is an
// Error naming the file; with BrokenImages::skip it is left out, and listed with its reason in the
// report (retrieval also drops its captions, and counts them).
#pragma once
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "../core/parallel.hpp"
#include "../data/cifar.hpp"
#include "../data/csv.hpp"
#include "../data/image.hpp"
#include "../eval/eval.hpp"
#include "../report/svg.hpp"
#include "captions.hpp"
#include "evaluate.hpp"

namespace contra::tasks {

// ─── inputs: folders, class names, templates ──────────────────────────────────────────────────

// ImageFolder: a labelled image folder (torchvision's ImageFolder layout): one subfolder per
// class, in sorted name order (byte order, as Python's sorted), and the image files inside, sorted.
struct ImageFolder {
    std::filesystem::path root;
    std::vector<std::string> class_folders;      // class i is subfolder class_folders[i]
    std::vector<std::filesystem::path> images;   // class 0's images, then class 1's, ...
    std::vector<eval::Label> labels;             // labels[k]: the class of images[k]
    std::vector<std::filesystem::path> ignored;  // files that are not .jpg/.jpeg/.png (any case)
};

namespace detail {
inline bool is_image_file(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}
}  // namespace detail

// scan_image_folder(root): the classes and images of root.
//   throws: Error when root is not a folder, has no subfolder, or a class folder holds no image
//           file (naming it). Files directly in root and non-image files are listed in `ignored`.
inline ImageFolder scan_image_folder(const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    std::error_code ec;
    CONTRA_CHECK(fs::is_directory(root, ec), "image folder '", root.string(), "' does not exist or is not a folder");
    ImageFolder out;
    out.root = root;
    for (const auto& entry : fs::directory_iterator(root)) {
        if (entry.is_directory()) out.class_folders.push_back(entry.path().filename().string());
        else out.ignored.push_back(entry.path());
    }
    std::sort(out.class_folders.begin(), out.class_folders.end());
    CONTRA_CHECK(!out.class_folders.empty(), "image folder '", root.string(),
                 "' has no subfolders; expected one subfolder of images per class");
    for (std::size_t c = 0; c < out.class_folders.size(); ++c) {
        std::vector<fs::path> files;
        for (const auto& entry : fs::recursive_directory_iterator(root / out.class_folders[c])) {
            if (!entry.is_regular_file()) continue;
            (detail::is_image_file(entry.path()) ? files : out.ignored).push_back(entry.path());
        }
        CONTRA_CHECK(!files.empty(), "class folder '", (root / out.class_folders[c]).string(),
                     "' holds no image files (.jpg, .jpeg, .png); every class needs at least one image");
        std::sort(files.begin(), files.end());
        for (auto& f : files) {
            out.images.push_back(std::move(f));
            out.labels.push_back(eval::Label(c));
        }
    }
    std::sort(out.ignored.begin(), out.ignored.end());
    return out;
}

// folder_class_names(folder): the class names a folder gives by itself: its subfolder names
// with '_' turned into spaces ("golden_retriever" → "golden retriever").
inline std::vector<std::string> folder_class_names(const ImageFolder& folder) {
    std::vector<std::string> out;
    for (auto name : folder.class_folders) {
        std::replace(name.begin(), name.end(), '_', ' ');
        out.push_back(std::move(name));
    }
    return out;
}

// read_text_file(path): the bytes of a file.  throws: Error naming it when it cannot be read.
inline std::string read_text_file(const std::filesystem::path& path) {
    std::error_code ec;
    CONTRA_CHECK(std::filesystem::is_regular_file(path, ec), "'", path.string(), "' does not exist or is not a file");
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CONTRA_CHECK(!in.bad(), "'", path.string(), "': read error");
    return text;
}

namespace detail {
// The lines of text without their line ends (LF or CRLF), trailing empty lines dropped.
inline std::vector<std::string> text_lines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t begin = 0;
    while (begin < text.size()) {
        std::size_t end = text.find('\n', begin);
        if (end == std::string_view::npos) end = text.size();
        std::string line(text.substr(begin, end - begin));
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
        begin = end + 1;
    }
    while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string::npos) lines.pop_back();
    return lines;
}
}  // namespace detail

// parse_class_names(text, source): one class name a line, line i naming class i; the same name
// may appear twice (ImageNet has two classes named "missile").
//   throws: Error "source:LINE" for an empty line before the last name (it would shift every
//           class after it), and when there is no name.
inline std::vector<std::string> parse_class_names(std::string_view text, const std::string& source) {
    auto lines = detail::text_lines(text);
    CONTRA_CHECK(!lines.empty(), source, ": no class names");
    for (std::size_t i = 0; i < lines.size(); ++i)
        CONTRA_CHECK(lines[i].find_first_not_of(" \t") != std::string::npos, source, ":", i + 1,
                     ": an empty line; line i names class i, so a blank line would shift the classes after it");
    return lines;
}

// parse_templates(text, source): prompt templates, one a line, each with "{}" exactly once;
// blank lines and lines starting with '#' are skipped (as data::read_templates).
//   throws: Error "source:LINE" for a template without "{}" (or with two), and when there is none.
inline std::vector<std::string> parse_templates(std::string_view text, const std::string& source) {
    std::vector<std::string> out;
    const auto lines = detail::text_lines(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& line = lines[i];
        if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
        CONTRA_CHECK(data::has_one_slot(line), source, ":", i + 1, ": '", line,
                     "' needs \"{}\" exactly once (where the class name goes)");
        out.push_back(line);
    }
    CONTRA_CHECK(!out.empty(), source, ": no templates");
    return out;
}

// ─── embedding images ─────────────────────────────────────────────────────────────────────────

enum class BrokenImages { fail, skip };

struct BenchmarkOptions {
    std::int64_t image_size = 0;  // the side images are preprocessed to; 0: the model's config.vision.image_size
    std::int64_t batch = 64;      // images decoded (on all threads) and embedded together
    BrokenImages broken = BrokenImages::fail;
};

// SkippedImage: an image left out under BrokenImages::skip, and why.
struct SkippedImage {
    std::string path, reason;
};

// EmbeddedImages: the embeddings of the images that could be read.
struct EmbeddedImages {
    Tensor<float, cpu> embeddings;   // [K, E], not normalised
    std::vector<std::size_t> kept;   // kept[k]: the index of row k's image in the input
    std::vector<SkippedImage> skipped;
};

namespace detail {
// The side images are preprocessed to, and a check that the model takes colour images.
template <class Model>
int input_side(const Model& model, std::int64_t requested) {
    if constexpr (requires { model.config.vision.image_size; }) {
        CONTRA_CHECK(model.config.vision.channels == 3, "these evaluations read colour images; this model takes ",
                     model.config.vision.channels, " channel(s)");
        if (requested <= 0) return int(model.config.vision.image_size);
    }
    CONTRA_CHECK(requested > 0, "BenchmarkOptions::image_size: give the model's input side");
    return int(requested);
}
}  // namespace detail

// embed_decoded_images(model, count, decode, name, options): images 0..count−1, decode(i) giving
// image i (a data::Image; it may throw), name(i) naming it in messages. Batches of options.batch
// images are decoded and preprocessed (CLIP's eval transform: shorter side to S with bicubic,
// centre crop, normalise) on all threads, then embedded with tasks::embed_images.
//   throws: under BrokenImages::fail, the Error of the first image that fails (naming it); under
//           skip, an Error when no image at all could be read.
//   ensures: rows in input order; kept and skipped together list every index once.
template <class Model, class Decode>
EmbeddedImages embed_decoded_images(const Model& model, std::size_t count, Decode&& decode,
                                    const std::function<std::string(std::size_t)>& name, const BenchmarkOptions& options) {
    CONTRA_CHECK(count >= 1, "embed_decoded_images: no images");
    CONTRA_CHECK(options.batch >= 1, "BenchmarkOptions::batch must be ≥ 1, got ", options.batch);
    const int side = detail::input_side(model, options.image_size);
    const std::int64_t pixels = 3 * std::int64_t(side) * side, batch = std::min<std::int64_t>(options.batch, std::int64_t(count));
    EmbeddedImages out;
    std::vector<float> rows;  // [K, E], appended batch by batch
    std::int64_t width = 0;
    auto slots = Tensor<float, cpu>::empty(Shape{batch, 3, side, side});  // [b, 3, S, S]
    std::vector<std::string> errors(static_cast<std::size_t>(batch));
    for (std::size_t b0 = 0; b0 < count; b0 += std::size_t(batch)) {
        const std::int64_t n = std::min<std::int64_t>(batch, std::int64_t(count - b0));
        parallel_for(n, std::int64_t(1) << 20, [&](std::int64_t i0, std::int64_t i1) {
            for (std::int64_t i = i0; i < i1; ++i) {
                errors[std::size_t(i)].clear();
                try {
                    data::preprocess_into<float>(decode(b0 + std::size_t(i)), side, slots.data() + i * pixels);
                } catch (const std::exception& e) {
                    errors[std::size_t(i)] = e.what();
                    if (errors[std::size_t(i)].empty()) errors[std::size_t(i)] = "unreadable";
                }
            }
        });
        std::int64_t good = 0;  // the readable images move to the front of the slots, in order
        for (std::int64_t i = 0; i < n; ++i) {
            const std::size_t index = b0 + std::size_t(i);
            if (!errors[std::size_t(i)].empty()) {
                const auto label = name(index);
                const auto& why = errors[std::size_t(i)];
                CONTRA_CHECK(options.broken == BrokenImages::skip,
                             why.find(label) != std::string::npos ? why : "image '" + label + "': " + why,
                             " (BrokenImages::skip leaves broken images out and lists them)");
                out.skipped.push_back({label, why});
                continue;
            }
            if (good != i) std::copy(slots.data() + i * pixels, slots.data() + (i + 1) * pixels, slots.data() + good * pixels);
            out.kept.push_back(index);
            ++good;
        }
        if (good == 0) continue;
        const auto part = embed_images(model, [&](std::int64_t begin, std::int64_t end) { return slots.rows(begin, end); },
                                       good, batch);  // [good, E]
        width = part.size(1);
        rows.insert(rows.end(), part.data(), part.data() + part.numel());
    }
    CONTRA_CHECK(!out.kept.empty(), "none of the ", count, " images could be read (the first: ",
                 out.skipped.front().path, ": ", out.skipped.front().reason, ")");
    out.embeddings = Tensor<float, cpu>::empty(Shape{std::int64_t(out.kept.size()), width});  // [K, E]
    std::copy(rows.begin(), rows.end(), out.embeddings.data());
    return out;
}

// ─── zero-shot classification ─────────────────────────────────────────────────────────────────

struct ClassAccuracy {
    std::string name;
    double accuracy = 0;     // top-1 among the class's images (NaN when it has none)
    std::int64_t count = 0;  // its images
};

struct ZeroShotReport {
    std::vector<std::string> class_names;
    std::int64_t images = 0, templates = 0;  // images classified; templates per class
    double top1 = 0;
    std::optional<double> top5;               // with 5 classes or more
    double mean_per_class_recall = 0;         // the mean of per_class accuracies (classes with images)
    std::vector<ClassAccuracy> per_class;     // in class order
    eval::ConfusionMatrix confusion{1};       // rows true, columns predicted
    std::vector<eval::Label> labels, predictions;  // per classified image
    std::vector<SkippedImage> skipped;        // BrokenImages::skip: left out, not counted in images
};

// zero_shot_report(image embeddings [N,E], classifier [C,E], labels (N), class_names (C)): the
// metrics of eval::zero_shot_logits: top-1, top-5, per-class accuracy, their mean, confusion.
//   requires: N ≥ 1, C = class_names.size(), labels in [0, C).
inline ZeroShotReport zero_shot_report(const Tensor<float, cpu>& image_embeddings, const Tensor<float, cpu>& classifier,
                                       std::span<const eval::Label> labels, const std::vector<std::string>& class_names) {
    CONTRA_CHECK(classifier.rank() == 2 && classifier.size(0) == std::int64_t(class_names.size()), "zero_shot_report: ",
                 class_names.size(), " class names for a classifier ", classifier.shape());
    const auto logits = eval::zero_shot_logits(image_embeddings, classifier);  // [N, C]
    const std::int64_t classes = classifier.size(0);
    ZeroShotReport r;
    r.class_names = class_names;
    r.images = logits.size(0);
    r.top1 = eval::topk_accuracy(logits, labels, 1);
    if (classes >= 5) r.top5 = eval::topk_accuracy(logits, labels, 5);
    r.labels.assign(labels.begin(), labels.end());
    r.predictions = eval::argmax_rows(logits);
    r.confusion = eval::ConfusionMatrix(classes);
    r.confusion.add(r.predictions, labels);
    const auto recall = r.confusion.recall();
    for (std::int64_t c = 0; c < classes; ++c)
        r.per_class.push_back({class_names[std::size_t(c)], recall[std::size_t(c)], r.confusion.support(eval::Label(c))});
    r.mean_per_class_recall = r.confusion.mean_per_class_recall();
    return r;
}

// zero_shot_images(model, encoder, count, decode, name, labels, class_names, templates, options):
// zero-shot classification of images 0..count−1 (decode and name as embed_decoded_images),
// labels[i] the class of image i, with prompt ensembling over templates.
template <class Model, class Decode>
ZeroShotReport zero_shot_images(const Model& model, const CaptionEncoder& encoder, std::size_t count, Decode&& decode,
                                const std::function<std::string(std::size_t)>& name, std::span<const eval::Label> labels,
                                const std::vector<std::string>& class_names, const std::vector<std::string>& templates,
                                const BenchmarkOptions& options = {}) {
    CONTRA_CHECK(labels.size() == count, "zero_shot_images: ", labels.size(), " labels for ", count, " images");
    CONTRA_CHECK(!class_names.empty() && !templates.empty(), "zero_shot_images: needs class names and templates");
    for (std::size_t t = 0; t < templates.size(); ++t)
        CONTRA_CHECK(data::has_one_slot(templates[t]), "template ", t + 1, " '", templates[t], "' needs \"{}\" exactly once");
    eval::detail::check_labels("zero_shot_images", labels, std::int64_t(class_names.size()));
    const auto classifier = zero_shot_classifier(model, encoder, class_names, templates);  // [C, E]
    auto embedded = embed_decoded_images(model, count, decode, name, options);           // [K, E]
    std::vector<eval::Label> kept_labels;
    for (auto i : embedded.kept) kept_labels.push_back(labels[i]);
    auto r = zero_shot_report(embedded.embeddings, classifier, kept_labels, class_names);
    r.templates = std::int64_t(templates.size());
    r.skipped = std::move(embedded.skipped);
    return r;
}

// zero_shot_folder(model, encoder, folder, class_names, templates, options): zero-shot
// classification of a scanned image folder; class_names empty: folder_class_names(folder).
//   throws: Error when class_names has another count than the folder has classes.
template <class Model>
ZeroShotReport zero_shot_folder(const Model& model, const CaptionEncoder& encoder, const ImageFolder& folder,
                                const std::vector<std::string>& class_names, const std::vector<std::string>& templates,
                                const BenchmarkOptions& options = {}) {
    const auto names = class_names.empty() ? folder_class_names(folder) : class_names;
    CONTRA_CHECK(names.size() == folder.class_folders.size(), names.size(), " class names for the ",
                 folder.class_folders.size(), " class folders of '", folder.root.string(),
                 "' (line i of the class-names file names the i-th subfolder in sorted order)");
    return zero_shot_images(
        model, encoder, folder.images.size(), [&](std::size_t i) { return data::read_image(folder.images[i]); },
        [&](std::size_t i) { return folder.images[i].string(); }, folder.labels, names, templates, options);
}

// zero_shot_folder(model, encoder, root, ...): the same on scan_image_folder(root).
template <class Model>
ZeroShotReport zero_shot_folder(const Model& model, const CaptionEncoder& encoder, const std::filesystem::path& root,
                                const std::vector<std::string>& class_names, const std::vector<std::string>& templates,
                                const BenchmarkOptions& options = {}) {
    return zero_shot_folder(model, encoder, scan_image_folder(root), class_names, templates, options);
}

// zero_shot_cifar(model, encoder, cifar, class_names, templates, options): zero-shot
// classification of CIFAR images (32×32, upscaled to the model's side by CLIP's transform).
//   requires: class_names has 10 (CIFAR-10) or 100 (CIFAR-100) names.
template <class Model>
ZeroShotReport zero_shot_cifar(const Model& model, const CaptionEncoder& encoder, const data::CifarImages& cifar,
                               const std::vector<std::string>& class_names, const std::vector<std::string>& templates,
                               const BenchmarkOptions& options = {}) {
    CONTRA_CHECK(std::int64_t(class_names.size()) == data::cifar_classes(cifar.kind), class_names.size(),
                 " class names for ", data::cifar_classes(cifar.kind), " CIFAR classes");
    return zero_shot_images(
        model, encoder, std::size_t(cifar.size()), [&](std::size_t i) { return cifar.image(std::int64_t(i)); },
        [](std::size_t i) { return "CIFAR image " + std::to_string(i); }, cifar.labels, class_names, templates, options);
}

// ─── retrieval ────────────────────────────────────────────────────────────────────────────────

struct RetrievalReport {
    eval::RetrievalResult metrics;
    std::int64_t images = 0, captions = 0;  // distinct images and their captions, evaluated
    std::vector<SkippedImage> skipped;      // BrokenImages::skip: images left out ...
    std::int64_t skipped_captions = 0;      // ... and their captions
};

// retrieval_captions(model, encoder, rows, options): image↔text retrieval over a caption table
// with one row per caption (an image on several rows has several captions): the distinct images
// (by path, in order of first appearance) against every caption, eval::retrieval_metrics.
//   throws: Error for a table without rows and for an empty caption (naming its image).
template <class Model>
RetrievalReport retrieval_captions(const Model& model, const CaptionEncoder& encoder,
                                   const std::vector<data::CaptionedPath>& rows, const BenchmarkOptions& options = {}) {
    CONTRA_CHECK(!rows.empty(), "retrieval: the caption table has no captions");
    std::vector<std::filesystem::path> images;
    std::map<std::string, std::size_t> image_of;  // path → index in images
    std::vector<std::size_t> caption_image;       // per row: its image's index
    for (std::size_t r = 0; r < rows.size(); ++r) {
        CONTRA_CHECK(rows[r].caption.find_first_not_of(" \t\r\n") != std::string::npos, "retrieval: caption ", r + 1,
                     " (of image '", rows[r].image.string(), "') is empty");
        const auto key = rows[r].image.lexically_normal().string();
        const auto [it, added] = image_of.emplace(key, images.size());
        if (added) images.push_back(rows[r].image);
        caption_image.push_back(it->second);
    }
    auto embedded = embed_decoded_images(
        model, images.size(), [&](std::size_t i) { return data::read_image(images[i]); },
        [&](std::size_t i) { return images[i].string(); }, options);  // [N, E]
    std::vector<std::int64_t> row_of_image(images.size(), -1);       // image index → embedding row
    for (std::size_t k = 0; k < embedded.kept.size(); ++k) row_of_image[embedded.kept[k]] = std::int64_t(k);
    RetrievalReport report;
    std::vector<std::string> captions;
    std::vector<eval::Label> text_to_image;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto row = row_of_image[caption_image[r]];
        if (row < 0) {
            ++report.skipped_captions;
            continue;
        }
        captions.push_back(rows[r].caption);
        text_to_image.push_back(eval::Label(row));
    }
    const auto tokens = encoder.rows(captions);                            // [M, L]
    const auto texts = cast<float>(eval::encode_texts(model, tokens, 256)); // [M, E]
    report.metrics = eval::retrieval_metrics(embedded.embeddings, texts, text_to_image);
    report.images = embedded.embeddings.size(0);
    report.captions = std::int64_t(captions.size());
    report.skipped = std::move(embedded.skipped);
    return report;
}

// ─── reporting ────────────────────────────────────────────────────────────────────────────────

// confusion_plot(report, title, max_classes): the confusion matrix for report::render_svg. With
// more than max_classes classes, only the max_classes with the lowest accuracy are shown (in
// class order), plus a column "(other classes)" for their images predicted outside them, so that
// each row still sums to its class's images.
inline report::ConfusionMatrix confusion_plot(const ZeroShotReport& r, const std::string& title, std::size_t max_classes = 40) {
    const std::size_t n = r.class_names.size();
    std::vector<std::size_t> shown(n);
    for (std::size_t c = 0; c < n; ++c) shown[c] = c;
    report::ConfusionMatrix plot{title, {}, {}};
    if (n <= max_classes) {
        plot.classes = r.class_names;
        for (std::size_t a = 0; a < n; ++a)
            for (std::size_t p = 0; p < n; ++p) plot.counts.push_back(r.confusion.count(eval::Label(a), eval::Label(p)));
        return plot;
    }
    const auto accuracy = [&](std::size_t c) { return std::isnan(r.per_class[c].accuracy) ? 2.0 : r.per_class[c].accuracy; };
    std::stable_sort(shown.begin(), shown.end(), [&](std::size_t a, std::size_t b) { return accuracy(a) < accuracy(b); });
    shown.resize(max_classes);
    std::sort(shown.begin(), shown.end());
    plot.title += " (the " + std::to_string(max_classes) + " of " + std::to_string(n) + " classes with the lowest accuracy)";
    for (auto c : shown) plot.classes.push_back(r.class_names[c]);
    plot.classes.push_back("(other classes)");
    const std::size_t k = shown.size() + 1;
    plot.counts.assign(k * k, 0);
    for (std::size_t a = 0; a < shown.size(); ++a) {
        std::int64_t inside = 0;
        for (std::size_t p = 0; p < shown.size(); ++p)
            inside += plot.counts[a * k + p] = r.confusion.count(eval::Label(shown[a]), eval::Label(shown[p]));
        plot.counts[a * k + k - 1] = r.confusion.support(eval::Label(shown[a])) - inside;
    }
    return plot;
}

namespace detail {
inline nlohmann::json skipped_json(const std::vector<SkippedImage>& skipped) {
    auto out = nlohmann::json::array();
    for (const auto& s : skipped) out.push_back({{"path", s.path}, {"reason", s.reason}});
    return out;
}
// A JSON number, or null for NaN.
inline nlohmann::json number_or_null(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }
}  // namespace detail

// zero_shot_json(report): {"classes", "templates", "images", "metrics": {"acc1", "acc5" (with ≥ 5
// classes), "mean_per_class_recall"}, "per_class": {name: {"accuracy", "count"}}, "skipped_images"}.
// A class name that repeats (ImageNet's "missile") is keyed "name (class i)" from its second time.
inline nlohmann::json zero_shot_json(const ZeroShotReport& r) {
    nlohmann::json metrics = {{"acc1", r.top1}, {"mean_per_class_recall", detail::number_or_null(r.mean_per_class_recall)}};
    if (r.top5) metrics["acc5"] = *r.top5;
    nlohmann::json per_class = nlohmann::json::object();
    for (std::size_t c = 0; c < r.per_class.size(); ++c) {
        const auto& pc = r.per_class[c];
        const auto key = per_class.contains(pc.name) ? pc.name + " (class " + std::to_string(c) + ")" : pc.name;
        per_class[key] = {{"accuracy", detail::number_or_null(pc.accuracy)}, {"count", pc.count}};
    }
    return {{"classes", r.class_names.size()}, {"templates", r.templates}, {"images", r.images}, {"metrics", metrics},
            {"per_class", per_class}, {"skipped_images", detail::skipped_json(r.skipped)}};
}

// retrieval_json(report): {"images", "captions", "metrics": {"image_to_text_R@1" ... "@10",
// "text_to_image_R@1" ... "@10", mean and median ranks}, "skipped_images", "skipped_captions"}.
inline nlohmann::json retrieval_json(const RetrievalReport& r) {
    const auto& m = r.metrics;
    const nlohmann::json metrics = {{"image_to_text_R@1", m.image_to_text_r1},
                                    {"image_to_text_R@5", m.image_to_text_r5},
                                    {"image_to_text_R@10", m.image_to_text_r10},
                                    {"text_to_image_R@1", m.text_to_image_r1},
                                    {"text_to_image_R@5", m.text_to_image_r5},
                                    {"text_to_image_R@10", m.text_to_image_r10},
                                    {"image_to_text_mean_rank", m.image_to_text_mean_rank},
                                    {"image_to_text_median_rank", m.image_to_text_median_rank},
                                    {"text_to_image_mean_rank", m.text_to_image_mean_rank},
                                    {"text_to_image_median_rank", m.text_to_image_median_rank}};
    return {{"images", r.images}, {"captions", r.captions}, {"metrics", metrics},
            {"skipped_images", detail::skipped_json(r.skipped)}, {"skipped_captions", r.skipped_captions}};
}

}  // namespace contra::tasks
