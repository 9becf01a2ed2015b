// contra index and contra search: semantic search over a collection of images (docs/search.md).
//   contra index DIR_OR_CSV --model M --out INDEX [--int8]: the unit-length image embeddings of
//     every .jpg/.jpeg/.png under a folder (or every image of a caption table), decoded on
//     --workers threads and embedded --batch at a time, written atomically to INDEX with each
//     file's size and modification time and the model's identity; saved every --save-every
//     batches (less often when saving would take over a tenth of the time), so a killed run loses
//     at most that much. Run again, it embeds only new or changed
//     files and drops removed ones. A file that cannot be read is listed (in the index and on
//     stderr) and left out.
//   contra search INDEX "a red bicycle" [--queries FILE] [--image PHOTO] [--top K] [--json]
//     [--html PAGE]: the K images closest (cosine) to each query, exact (search/top_k.hpp).
#include <CLI/CLI.hpp>
#include <stb/stb_image_write.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include <contra/data/csv.hpp>
#include <contra/data/image.hpp>
#include <contra/data/loader.hpp>
#include <contra/eval/eval.hpp>
#include <contra/report/svg.hpp>
#include <contra/search/index.hpp>
#include <contra/train/progress.hpp>

#include "commands.hpp"
#include "models.hpp"
#include "pretrained_run.hpp"

namespace contra::cli {

namespace search_cmd {  // named: no clash with the other commands' helpers
namespace fs = std::filesystem;

// model_identity(p): the identity an index records: the weights file's size and CRC-32, and how
// the model is built from it.
search::ModelIdentity model_identity(const io::Pretrained& p) {
    search::ModelIdentity id;
    id.path = fs::absolute(p.weights).lexically_normal().string();
    std::ifstream in(p.weights, std::ios::binary);
    CONTRA_CHECK(in.good(), "cannot read the weights '", p.weights.string(), "'");
    std::vector<char> chunk(std::size_t(1) << 22);
    std::uint32_t crc = std::uint32_t(::crc32(0, nullptr, 0));
    while (in) {
        in.read(chunk.data(), std::streamsize(chunk.size()));
        const auto n = std::size_t(in.gcount());
        crc = std::uint32_t(::crc32(crc, reinterpret_cast<const Bytef*>(chunk.data()), uInt(n)));
        id.bytes += n;
    }
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", crc);
    id.crc32 = hex;
    id.description = {{"config", io::to_json(p.config)}, {"activation", io::activation_name(p.activation)},
                      {"loss", p.loss == io::LossKind::siglip ? "siglip" : "infonce"}, {"causal_text", p.causal_text}};
    if (p.resnet) id.description["resnet"] = io::to_json(*p.resnet);
    return id;
}

// The files to index: a folder's images, or a caption table's distinct images; stamped now. A
// file that cannot be examined (a table naming a missing file) comes back in `missing`.
struct Listing {
    std::vector<search::FileStamp> files;
    std::vector<search::BrokenFile> missing;
};
Listing list_input(const IndexOptions& o) {
    std::vector<fs::path> paths;
    std::error_code ec;
    if (fs::is_directory(o.input, ec)) {
        paths = search::list_image_files(o.input);
    } else {
        CONTRA_CHECK(fs::is_regular_file(o.input, ec), "contra index: '", o.input,
                     "' is neither a folder of images nor a caption table");
        data::CaptionTableOptions table;
        table.image_column = o.csv_img_key;
        table.caption_column = o.csv_caption_key;
        if (!o.csv_separator.empty()) table.separator = o.csv_separator == "\\t" ? '\t' : o.csv_separator[0];
        std::set<std::string> seen;
        for (auto& row : data::read_caption_table(o.input, table))
            if (seen.insert(fs::absolute(row.image).lexically_normal().string()).second) paths.push_back(row.image);
    }
    Listing out;
    for (const auto& path : paths) {
        try {
            out.files.push_back(search::stamp_file(path));
        } catch (const Error& e) {
            out.missing.push_back({{fs::absolute(path).lexically_normal().string(), 0, 0}, e.what()});
        }
    }
    return out;
}

// Progress: a live bar on a terminal (images, images/s, ETA), a line every 10 s otherwise.
class Progress {
public:
    Progress(std::int64_t total, bool quiet) : total_(total), quiet_(quiet), live_(isatty(fileno(stderr)) != 0) {}
    void update(std::int64_t done) {
        if (quiet_) return;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        if (!live_ && (elapsed - last_ < 10 || done == 0) && done < total_) return;
        last_ = elapsed;
        const double rate = elapsed > 0 ? double(done) / elapsed : 0;
        const double eta = rate > 0 ? double(total_ - done) / rate : -1;
        const double fraction = double(done) / double(std::max<std::int64_t>(1, total_));
        std::string bar(std::size_t(fraction * 24), '#');
        bar.resize(24, '.');
        std::fprintf(stderr, "%s[%s] %lld/%lld images  %.1f images/s  elapsed %s  ETA %s%s", live_ ? "\r" : "", bar.c_str(),
                     (long long)done, (long long)total_, rate, train::format_duration(elapsed).c_str(),
                     train::format_duration(eta).c_str(), live_ ? "   " : "\n");
        std::fflush(stderr);
    }
    void finish() {
        if (live_ && !quiet_) std::fputc('\n', stderr);
    }

private:
    std::int64_t total_;
    bool quiet_, live_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    double last_ = -1e9;
};

// A decoded, preprocessed image (or why it could not be).
struct Decoded {
    std::size_t item = 0;
    std::vector<float> pixels;  // [3, S, S]
    std::string error;
};

// normalize_rows(x): each row of x [N, E] scaled to unit length (a zero row stays zero).
void normalize_rows(Tensor<float, cpu>& x) {
    const std::int64_t e = x.size(1);
    for (std::int64_t i = 0; i < x.size(0); ++i) {
        float* row = x.data() + i * e;
        double sum = 0;
        for (std::int64_t j = 0; j < e; ++j) sum += double(row[j]) * row[j];
        const float scale = sum > 0 ? float(1 / std::sqrt(sum)) : 0.0f;
        for (std::int64_t j = 0; j < e; ++j) row[j] *= scale;
    }
}

}  // namespace search_cmd

IndexSummary index_command(const IndexOptions& o) {
    using namespace search_cmd;
    check_device(o.device);
    if (o.device == "cuda") require_cuda_device();
    CONTRA_CHECK(o.batch >= 1, "--batch must be ≥ 1, got ", o.batch);
    CONTRA_CHECK(o.save_every >= 1, "--save-every must be ≥ 1, got ", o.save_every);
    CONTRA_CHECK(o.workers >= 0, "--workers must be ≥ 0, got ", o.workers);
    CONTRA_CHECK(o.csv_separator.size() <= 1 || o.csv_separator == "\\t", "--csv-separator must be one character, got '",
                 o.csv_separator, "'");
    if (o.threads > 0) set_num_threads(o.threads);
    const auto listing = list_input(o);
    const auto p = describe(o.model);
    // --fast-decode: JPEGs decoded at a smaller scale that still covers the model's side. The
    // embeddings differ a little from exact decoding, so the index records it, and an index is
    // updated only the way it was made.
    const int jpeg_min_side = o.fast_decode ? int(p.config.vision.image_size) : 0;
    auto identity = model_identity(p);
    if (jpeg_min_side > 0) identity.description["jpeg_min_side"] = jpeg_min_side;
    const auto encoding = o.int8 ? search::Encoding::int8 : search::Encoding::f32;

    std::optional<search::Index> old;
    std::error_code ec;
    if (fs::exists(o.out, ec)) {
        old = search::read_index(o.out);
        const bool old_fast = old->model.description.contains("jpeg_min_side");
        CONTRA_CHECK(old_fast == o.fast_decode, "'", o.out, "' was indexed ", old_fast ? "with" : "without",
                     " --fast-decode; this run is ", o.fast_decode ? "with" : "without",
                     " it: run as the index was made, or give another --out");
        CONTRA_CHECK(old->model.same_model(identity), "'", o.out, "' is an index built with the model ", old->model.summary(),
                     ", not ", identity.summary(), ": give another --out, or delete it to rebuild it with this model");
        CONTRA_CHECK(old->vectors.encoding() == encoding, "'", o.out, "' stores ", search::encoding_name(old->vectors.encoding()),
                     " vectors but this run asks for ", search::encoding_name(encoding),
                     (o.int8 ? "" : " (add --int8)"), ": give another --out, or delete it to rebuild it");
    }
    const auto plan = search::plan_update(old ? &*old : nullptr, listing.files);

    IndexSummary summary;
    summary.files = std::int64_t(listing.files.size() + listing.missing.size());
    summary.kept = std::int64_t(plan.keep.size());
    summary.removed = plan.removed;
    summary.changed = plan.changed;
    search::Index index;
    index.model = identity;
    index.source = fs::absolute(o.input).lexically_normal().string();
    index.broken = plan.still_broken;
    const auto note_broken = [&](search::BrokenFile b) {
        std::fprintf(stderr, "contra index: skipped %s: %s\n", b.file.path.c_str(), b.reason.c_str());
        index.broken.push_back(std::move(b));
    };
    for (const auto& m : listing.missing) note_broken(m);

    index.vectors = search::Vectors(encoding, p.config.embed_dim);
    for (const auto row : plan.keep) {
        index.files.push_back(old->files[std::size_t(row)]);
        index.vectors.push_back_row(old->vectors, row);
    }
    old.reset();  // the kept rows are copied
    // The loop below takes the model as a function of image batches, so one copy of it serves the
    // CPU and the GPU models.
    const auto embed_all = [&](const ImageEmbedder& embed) {
        const auto& v = p.config.vision;
        CONTRA_CHECK(v.channels == 3, "contra index reads colour images; this model takes ", v.channels, " channel(s)");
        const int side = int(v.image_size);
        const std::int64_t pixels = 3 * std::int64_t(side) * side;
        data::LoaderOptions loading;
        loading.batch_size = std::size_t(o.batch);
        loading.workers = std::size_t(o.workers);
        std::vector<std::size_t> order(plan.embed.size());
        std::iota(order.begin(), order.end(), std::size_t(0));
        data::PrefetchLoader loader(
            std::move(order),
            [&](std::size_t item) {
                Decoded d{item, {}, {}};
                try {
                    d.pixels.resize(std::size_t(pixels));
                    data::DecodeOptions decoding;
                    decoding.jpeg_min_side = jpeg_min_side;
                    data::preprocess_into<float>(data::read_image(plan.embed[item].path, decoding), side, d.pixels.data());
                } catch (const std::exception& e) {
                    d.error = e.what();
                    if (d.error.empty()) d.error = "unreadable";
                }
                return d;
            },
            loading);
        Progress progress(std::int64_t(plan.embed.size()), o.quiet);
        std::vector<Decoded> batch;
        std::int64_t done = 0, batches = 0;
        auto saved = std::chrono::steady_clock::now();
        std::chrono::steady_clock::duration saving{};
        progress.update(0);
        while (loader.next(batch)) {
            std::vector<std::size_t> good;
            for (const auto& d : batch) {
                if (d.error.empty()) good.push_back(d.item);
                else note_broken({plan.embed[d.item], d.error});
            }
            if (!good.empty()) {
                auto images = Tensor<float, cpu>::empty(Shape{std::int64_t(good.size()), 3, side, side});  // [g, 3, S, S]
                std::int64_t at = 0;
                for (const auto& d : batch)
                    if (d.error.empty()) std::copy(d.pixels.begin(), d.pixels.end(), images.data() + pixels * at++);
                auto embeddings = embed(images, o.batch);  // [g, E]
                normalize_rows(embeddings);
                for (std::size_t k = 0; k < good.size(); ++k) {
                    index.files.push_back(plan.embed[good[k]]);
                    index.vectors.push_back(embeddings.data() + std::int64_t(k) * embeddings.size(1));
                }
                summary.embedded += std::int64_t(good.size());
            }
            done += std::int64_t(batch.size());
            progress.update(done);
            // A save of a large index takes long: at most a tenth of the time goes to saving.
            const auto now = std::chrono::steady_clock::now();
            if (++batches % o.save_every == 0 && done < std::int64_t(plan.embed.size()) && now - saved >= 10 * saving) {
                search::write_index(index, o.out);
                saved = std::chrono::steady_clock::now();
                saving = saved - now;
            }
        }
        progress.finish();
    };
    if (!plan.embed.empty() && o.device == "cuda") {
        with_image_embedder_on_cuda(p, embed_all);
    } else if (!plan.embed.empty()) {
        with_pretrained<float>(p, [&](auto& model) {
            embed_all([&](const Tensor<float, cpu>& images, std::int64_t batch) { return eval::encode_images(model, images, batch); });
        });
    }
    summary.broken = std::int64_t(index.broken.size());
    search::write_index(index, o.out);
    std::printf("%s: %lld images (%lld kept, %lld embedded, %lld removed, %lld broken), %s vectors of %lld\n", o.out.c_str(),
                (long long)index.files.size(), (long long)summary.kept, (long long)summary.embedded, (long long)summary.removed,
                (long long)summary.broken, search::encoding_name(encoding), (long long)index.vectors.dim());
    return summary;
}

// ─── contra search ─────────────────────────────────────────────────────────────────────────────

std::vector<QueryResult> search_results(const SearchOptions& o) {
    using namespace search_cmd;
    CONTRA_CHECK(o.top >= 1, "--top must be ≥ 1, got ", o.top);
    if (o.threads > 0) set_num_threads(o.threads);
    auto texts = o.texts;
    if (!o.queries.empty()) {
        std::ifstream in(o.queries);
        CONTRA_CHECK(in.good(), "--queries: cannot read '", o.queries, "'");
        for (std::string line; std::getline(in, line);) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.find_first_not_of(" \t") != std::string::npos) texts.push_back(line);
        }
    }
    CONTRA_CHECK(!texts.empty() || !o.images.empty(), "contra search: no query; give a text, --queries FILE or --image PHOTO");
    const auto index = search::read_index(o.index);
    auto model_options = o.model;
    if (model_options.path.empty()) model_options.path = index.model.path;
    const auto p = describe(model_options);
    auto identity = model_identity(p);
    if (index.model.description.contains("jpeg_min_side"))  // how the photos were decoded, not the model
        identity.description["jpeg_min_side"] = index.model.description["jpeg_min_side"];
    CONTRA_CHECK(index.model.same_model(identity), "'", o.index, "' was built with the model ", index.model.summary(),
                 "; ", identity.summary(), " is a different model. Search with the index's model, or index again with this one");

    std::vector<QueryResult> out;
    for (const auto& t : texts) out.push_back({t, false, {}});
    for (const auto& i : o.images) out.push_back({i, true, {}});
    Tensor<float, cpu> queries;  // [Q, E]
    with_pretrained<float>(p, [&](auto& model) {
        queries = Tensor<float, cpu>::empty(Shape{std::int64_t(out.size()), p.config.embed_dim});
        float* at = queries.data();
        if (!texts.empty()) {
            const tasks::CaptionEncoder encoder(tokenizer_for(p, o.bpe), int(p.config.text.context_length));
            const auto embedded = eval::encode_texts(model, encoder.rows(texts));  // [T, E]
            at = std::copy(embedded.data(), embedded.data() + embedded.numel(), at);
        }
        if (!o.images.empty()) {
            const int side = int(p.config.vision.image_size);
            auto pixels = Tensor<float, cpu>::empty(Shape{std::int64_t(o.images.size()), 3, side, side});  // [I, 3, S, S]
            for (std::size_t i = 0; i < o.images.size(); ++i)
                data::preprocess_into<float>(data::read_image(o.images[i]), side, pixels.data() + std::int64_t(i) * 3 * side * side);
            const auto embedded = eval::encode_images(model, pixels);  // [I, E]
            std::copy(embedded.data(), embedded.data() + embedded.numel(), at);
        }
    });
    normalize_rows(queries);
    const auto hits = search::top_k(index.vectors, queries.data(), queries.size(0), o.top);
    for (std::size_t q = 0; q < out.size(); ++q)
        for (const auto& h : hits[q]) out[q].hits.push_back({index.files[std::size_t(h.row)].path, h.score});
    return out;
}

namespace search_cmd {

// thumbnail_uri(path): a JPEG data URI of the image, its longer side at most 192 pixels; "" when
// the file can no longer be read.
std::string thumbnail_uri(const std::string& path) {
    data::Image image;
    try {
        image = data::to_rgb(data::read_image(path));
    } catch (const Error&) {
        return "";
    }
    constexpr int kSide = 192;
    const double shrink = std::min(1.0, double(kSide) / std::max(image.width, image.height));
    if (shrink < 1)
        image = data::resize_bicubic(image, std::max(1, int(std::lround(image.width * shrink))),
                                     std::max(1, int(std::lround(image.height * shrink))));
    std::string jpeg;
    stbi_write_jpg_to_func([](void* to, void* data, int size) { static_cast<std::string*>(to)->append(static_cast<char*>(data), std::size_t(size)); },
                           &jpeg, image.width, image.height, 3, image.pixels.data(), 85);
    static constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string uri = "data:image/jpeg;base64,";
    for (std::size_t i = 0; i < jpeg.size(); i += 3) {
        const std::uint32_t n = std::uint32_t(std::uint8_t(jpeg[i])) << 16 |
                                (i + 1 < jpeg.size() ? std::uint32_t(std::uint8_t(jpeg[i + 1])) << 8 : 0u) |
                                (i + 2 < jpeg.size() ? std::uint32_t(std::uint8_t(jpeg[i + 2])) : 0u);
        uri += kBase64[(n >> 18) & 63];
        uri += kBase64[(n >> 12) & 63];
        uri += i + 1 < jpeg.size() ? kBase64[(n >> 6) & 63] : '=';
        uri += i + 2 < jpeg.size() ? kBase64[n & 63] : '=';
    }
    return uri;
}

// html_page(results, index): one section per query, a grid of thumbnails with rank, score and path.
std::string html_page(const std::vector<QueryResult>& results, const std::string& index) {
    using report::xml_escape;
    std::string page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>contra search: " + xml_escape(index) +
                       "</title>\n<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;width:200px;"
                       "margin:4px;vertical-align:top;font-size:12px;word-break:break-all}img{max-width:192px;max-height:192px}"
                       "</style></head><body>\n<h1>contra search</h1>\n<p>index " + xml_escape(index) + "</p>\n";
    std::map<std::string, std::string> thumbnails;  // a path found by several queries is encoded once
    for (const auto& r : results) {
        page += std::string("<h2>") + (r.image ? "photo " : "") + xml_escape(r.query) + "</h2>\n<div>\n";
        for (std::size_t k = 0; k < r.hits.size(); ++k) {
            const auto& h = r.hits[k];
            auto [it, fresh] = thumbnails.try_emplace(h.path);
            if (fresh) it->second = thumbnail_uri(h.path);
            char score[32];
            std::snprintf(score, sizeof score, "%.4f", double(h.score));
            page += "<figure>" + (it->second.empty() ? std::string("<div>(unreadable now)</div>") : "<img src=\"" + it->second + "\" alt=\"\">") +
                    "<figcaption>" + std::to_string(k + 1) + ". " + score + "<br>" + xml_escape(h.path) + "</figcaption></figure>\n";
        }
        page += "</div>\n";
    }
    return page + "</body></html>\n";
}

}  // namespace search_cmd

void search_command(const SearchOptions& o) {
    const auto results = search_results(o);
    if (o.json) {
        auto all = nlohmann::json::array();
        for (const auto& r : results) {
            auto hits = nlohmann::json::array();
            for (const auto& h : r.hits) hits.push_back({{"path", h.path}, {"score", h.score}});
            all.push_back({{"query", r.query}, {"kind", r.image ? "image" : "text"}, {"hits", hits}});
        }
        std::printf("%s\n", all.dump(2).c_str());
    } else {
        for (const auto& r : results) {
            std::printf("%s%s\n", r.image ? "photo " : "", r.query.c_str());
            for (std::size_t k = 0; k < r.hits.size(); ++k)
                std::printf("  %3zu  %.4f  %s\n", k + 1, double(r.hits[k].score), r.hits[k].path.c_str());
        }
    }
    if (!o.html.empty()) {
        write_file_atomically(o.html, search_cmd::html_page(results, o.index));
        std::fprintf(stderr, "wrote %s\n", o.html.c_str());
    }
}

namespace search_cmd {
void add_model_options(CLI::App* cmd, ModelOptions& o, bool required) {
    auto* model = cmd->add_option("--model", o.path,
                                  required ? "An HF CLIPModel folder, an OpenAI/open_clip-layout .safetensors file, or a contra checkpoint"
                                           : "The model (default: the one the index records; it must be the same model)");
    if (required) model->required();
    cmd->add_option("--vision-heads", o.vision_heads, "Image attention heads, when the file and no open_clip_config.json beside it say");
    cmd->add_option("--text-heads", o.text_heads, "Text attention heads, when the file and no open_clip_config.json beside it say");
    cmd->add_option("--activation", o.activation, "MLP activation (quick_gelu or gelu), when the file and no open_clip_config.json beside it say");
}
}  // namespace search_cmd

void add_search_commands(CLI::App& app, std::function<void()>& run) {
    static IndexOptions index;
    static SearchOptions search;
    auto* cmd = app.add_subcommand("index", "Embed every image of a folder tree or caption table into an index file (docs/search.md)");
    cmd->add_option("input", index.input, "A folder (searched recursively for .jpg/.jpeg/.png) or a caption table")->required();
    search_cmd::add_model_options(cmd, index.model, true);
    cmd->add_option("--out", index.out, "The index file (updated when it exists)")->required();
    cmd->add_option("--csv-img-key", index.csv_img_key, "caption table: the column of image paths")->capture_default_str();
    cmd->add_option("--csv-caption-key", index.csv_caption_key, "caption table: the column of captions")->capture_default_str();
    cmd->add_option("--csv-separator", index.csv_separator, "caption table: the field separator (default: tab if the header has one, else comma)");
    cmd->add_option("--batch", index.batch, "Images decoded and embedded together")->capture_default_str();
    cmd->add_option("--save-every", index.save_every, "Batches between saves of the index so far")->capture_default_str();
    cmd->add_option("--workers", index.workers, "Image decoding threads")->capture_default_str();
    cmd->add_option("--threads", index.threads, "CPU threads for the model (0: all)");
    cmd->add_option("--device", index.device, "cpu or cuda (the model in float on the GPU)")->capture_default_str();
    cmd->add_flag("--int8", index.int8, "Store int8 codes with one scale a vector (4x smaller)");
    cmd->add_flag("--fast-decode", index.fast_decode,
                  "Decode JPEGs at 1/2, 1/4 or 1/8 scale where that still covers the model's input (faster, "
                  "approximate: docs/search.md)");
    cmd->add_flag("--quiet", index.quiet, "No progress bar");
    cmd->callback([&] { run = [&] { index_command(index); }; });

    auto* s = app.add_subcommand("search", "The images of an index closest to a text or a photo (docs/search.md)");
    s->add_option("index", search.index, "An index written by contra index")->required();
    s->add_option("texts", search.texts, "Text queries");
    s->add_option("--queries", search.queries, "A file of text queries, one a line");
    s->add_option("--image", search.images, "A photo to search by (repeatable)");
    search_cmd::add_model_options(s, search.model, false);
    s->add_option("--bpe", search.bpe, "CLIP's merges file (not needed for HF folders with merges.txt or contra checkpoints)");
    s->add_option("--top", search.top, "Images per query")->capture_default_str();
    s->add_flag("--json", search.json, "Print JSON");
    s->add_option("--html", search.html, "Write a self-contained page of thumbnails");
    s->add_option("--threads", search.threads, "CPU threads (0: all)");
    s->callback([&] { run = [&] { search_command(search); }; });
}

}  // namespace contra::cli
