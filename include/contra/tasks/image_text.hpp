// contra/tasks/image_text.hpp — a user's image–caption files as training pairs: a caption table
// (CSV/TSV of image paths and captions) or WebDataset tar shards, decoded, preprocessed and
// tokenised on worker threads ahead of the step, in an order fixed by the seed.
// defines: tasks::ImageTextOptions, tasks::ImageTextStats, tasks::ImageTextStream, tasks::paired_retrieval
//
// The stream is endless: epoch 0's samples, then epoch 1's, ...; each epoch a new order
// (a caption table: a permutation of its rows; shards: shuffled shards and a shuffle buffer),
// a pure function of (seed, epoch). A sample that fails to read or decode is skipped and counted,
// never fatal; the next usable one takes its place, so batches stay full. With world > 1 this
// process takes the samples at positions ≡ rank (mod world) of each epoch, and decodes only those.
// seek(p) puts the stream at raw position p (epoch p / size(), then p mod size()): the samples
// from there are those a run from the start would have read when nothing before p was skipped.
#pragma once
#include <deque>
#include <memory>

#include "../data/csv.hpp"
#include "../data/image.hpp"
#include "../data/loader.hpp"
#include "../data/webdataset.hpp"
#include "../eval/eval.hpp"
#include "../train/data.hpp"
#include "captions.hpp"

namespace contra::tasks {

// ImageTextOptions: preprocessing, threads, order and the share of this process.
struct ImageTextOptions {
    int image_size = 224;               // the model's input side; requires > 0
    bool augment = true;                // random resized crop (scale 0.9–1.0); else CLIP's eval transform
    bool shuffle = true;                // false: file order (evaluation)
    std::size_t workers = 2;            // decoding threads (0: decode inside next())
    std::size_t prefetch = 256;         // samples decoded ahead of the consumer
    std::size_t shuffle_buffer = 1000;  // WebDataset: samples held for shuffling
    std::uint64_t seed = 0;
    int rank = 0, world = 1;            // requires 0 <= rank < world
    std::int64_t samples_per_epoch = 0; // WebDataset: > 0 skips the counting pass over the shards
    data::DecodeOptions decode;
};

// ImageTextStats: what the stream met so far.
struct ImageTextStats {
    std::uint64_t pairs = 0;              // decoded pairs handed out
    std::uint64_t skipped = 0;            // samples that failed to read or decode
    std::vector<std::string> messages;    // the first few reasons
};

class ImageTextStream {
public:
    // csv(table, table_options, tokenizer, context, options): the rows of a caption table.
    //   throws: Error for an unreadable or malformed table, or one without rows.
    static ImageTextStream csv(const std::filesystem::path& table, const data::CaptionTableOptions& table_options,
                               data::Tokenizer tokenizer, int context, const ImageTextOptions& options) {
        auto rows = data::read_caption_table(table, table_options);
        CONTRA_CHECK(!rows.empty(), "caption table '", table.string(), "' has no rows");
        std::vector<std::string> captions;
        for (const auto& r : rows) captions.push_back(r.caption);
        const auto size = std::int64_t(rows.size());
        return ImageTextStream(Source{std::move(tokenizer), context, options, std::move(rows), {}}, size, std::move(captions));
    }

    // webdataset(pattern, tokenizer, context, options): the samples of the shards the pattern
    // names ("shards/{000..099}.tar"). Without options.samples_per_epoch the shards are read once
    // to count the usable samples (and keep their captions for captions()).
    //   throws: Error for a bad pattern, when no shard can be opened, or when none holds a sample.
    static ImageTextStream webdataset(std::string_view pattern, data::Tokenizer tokenizer, int context,
                                      const ImageTextOptions& options) {
        auto shards = data::expand_shards(pattern);
        std::vector<std::string> captions;
        std::int64_t size = options.samples_per_epoch;
        if (size <= 0) {
            data::WebDatasetReader reader(shards);
            data::WebDatasetSample sample;
            while (reader.next(sample)) captions.push_back(std::move(sample.caption));
            size = std::int64_t(captions.size());
            CONTRA_CHECK(size > 0, "shards '", pattern, "' hold no image–caption sample (", reader.stats().summary(),
                         reader.stats().errors.empty() ? std::string() : "; " + reader.stats().errors.front(), ")");
        }
        return ImageTextStream(Source{std::move(tokenizer), context, options, {}, std::move(shards)}, size, std::move(captions));
    }

    // size(): samples in one epoch, all processes together.
    std::int64_t size() const { return size_; }
    // captions(): every caption of the data when known (a table; shards after the counting pass).
    const std::vector<std::string>& captions() const { return captions_; }
    // stats(): pairs handed out and samples skipped so far (those of the current epoch included).
    ImageTextStats stats() const {
        ImageTextStats s = stats_;
        if (loader_) add_stats(s, loader_->stats());
        return s;
    }

    // seek(position): the next pairs come from raw position `position` of the endless stream.
    void seek(std::int64_t position) {
        CONTRA_CHECK(position >= 0, "ImageTextStream::seek: negative position ", position);
        pending_.clear();
        start_epoch(position / size_, position % size_);
    }

    // use_tokenizer(tokenizer, context): tokenise captions with these from now on (e.g. a
    // vocabulary learned from captions()).  requires: next() and seek() not called yet.
    void use_tokenizer(data::Tokenizer tokenizer, int context) {
        CONTRA_CHECK(!loader_, "ImageTextStream::use_tokenizer: the stream has started");
        CONTRA_CHECK(context >= 2, "ImageTextStream: context length must be at least 2, got ", context);
        auto source = *source_;
        source.tokenizer = std::move(tokenizer);
        source.context = context;
        source_ = std::make_shared<const Source>(std::move(source));
    }

    // next(count, within_epoch): the next `count` usable pairs of this process, [count, 3, S, S]
    // and [count, L] (L: the longest caption of the batch, sot … eot, at most the context length).
    // Batches run on into the next epoch, unless within_epoch: then the batch ends with the
    // current epoch (fewer pairs, none at its end), and the following call starts the next one.
    //   throws: Error when a whole epoch yields no usable sample.
    train::PairBatch next(std::int64_t count, bool within_epoch = false) {
        CONTRA_CHECK(count > 0, "ImageTextStream::next: count must be positive, got ", count);
        if (!loader_ || ended_) start_epoch(ended_ ? epoch_ + 1 : 0, 0);
        std::vector<Pair> batch;
        while (pending_.size() < std::size_t(count)) {
            if (loader_->next(batch)) {
                for (auto& p : batch) pending_.push_back(std::move(p));
                continue;
            }
            if (within_epoch) {
                ended_ = true;
                return take(std::int64_t(pending_.size()));
            }
            const bool empty_epoch = loader_->stats().loaded == 0 && skip_ == 0;
            const auto seen = stats();
            CONTRA_CHECK(!empty_epoch, "image–caption data: no usable sample in epoch ", epoch_, " (", seen.skipped,
                         " skipped", seen.messages.empty() ? "" : "; first: ", seen.messages.empty() ? "" : seen.messages.front(), ")");
            start_epoch(epoch_ + 1, 0);
        }
        return take(count);
    }

private:
    // Raw: one sample before decoding: a file to read, or bytes from a shard.
    struct Raw {
        std::uint64_t position = 0;  // in its epoch's order
        std::filesystem::path path;
        std::vector<std::uint8_t> bytes;
        std::string caption, name;
    };
    struct Pair {
        std::vector<float> image;          // [3, S, S]
        std::vector<std::int32_t> tokens;  // [context]
    };
    using Loader = data::StreamLoader<Raw, Pair>;

    // Source: what the loader's threads read; shared, never changed once the stream exists.
    struct Source {
        data::Tokenizer tokenizer;
        int context = 0;
        ImageTextOptions options;
        std::vector<data::CaptionedPath> rows;      // a caption table, or
        std::vector<std::filesystem::path> shards;  // WebDataset shards

        bool mine(std::uint64_t position) const {
            return position % std::uint64_t(options.world) == std::uint64_t(options.rank);
        }
        // decode(raw, epoch): the image preprocessed and the caption tokenised (on a worker thread).
        Pair decode(const Raw& raw, std::int64_t epoch) const {
            const data::Image image = raw.bytes.empty() ? data::read_image(raw.path, options.decode)
                                                        : data::decode_image(raw.bytes, raw.name, options.decode);
            const int s = options.image_size;
            Pair p;
            p.image.resize(std::size_t(3) * std::size_t(s) * std::size_t(s));
            if (options.augment) {
                const RandomStream crops{options.seed, stream_id("contra.image_text.crop") + std::uint64_t(epoch)};
                data::preprocess_train_into(image, s, crops, raw.position, p.image.data());
            } else {
                data::preprocess_into(image, s, p.image.data());
            }
            p.tokens = tokenizer.tokenize(raw.caption, context);
            return p;
        }
    };

    ImageTextStream(Source source, std::int64_t size, std::vector<std::string> captions)
        : source_(std::make_shared<const Source>(std::move(source))), size_(size), captions_(std::move(captions)) {
        const auto& o = source_->options;
        CONTRA_CHECK(o.image_size > 0, "ImageTextStream: image_size must be positive, got ", o.image_size);
        CONTRA_CHECK(o.world >= 1 && o.rank >= 0 && o.rank < o.world, "ImageTextStream: rank ", o.rank, " is not in 0..",
                     o.world - 1);
        CONTRA_CHECK(source_->context >= 2, "ImageTextStream: context length must be at least 2, got ", source_->context);
    }

    // start_epoch(epoch, skip): a loader over the epoch's order from raw position `skip` on.
    void start_epoch(std::int64_t epoch, std::int64_t skip) {
        if (loader_) add_stats(stats_, loader_->stats());
        loader_.reset();
        ended_ = false;
        epoch_ = epoch;
        skip_ = skip;
        data::LoaderOptions lo;
        lo.batch_size = 1;  // next(count) gathers its own batches, across epochs
        lo.workers = source_->options.workers;
        lo.prefetch_batches = std::max<std::size_t>(1, source_->options.prefetch);
        auto pull = source_->shards.empty() ? table_pull(epoch, skip) : shard_pull(epoch, skip);
        loader_ = std::make_unique<Loader>(std::move(pull),
                                           [src = source_, epoch](Raw&& raw) { return src->decode(raw, epoch); }, lo);
    }

    typename Loader::Pull table_pull(std::int64_t epoch, std::int64_t skip) const {
        const std::size_t n = source_->rows.size();
        auto order = std::make_shared<std::vector<std::size_t>>(n);
        if (source_->options.shuffle)
            *order = data::shuffled_order(n, source_->options.seed, std::uint64_t(epoch));
        else
            std::iota(order->begin(), order->end(), std::size_t(0));
        auto next = std::make_shared<std::uint64_t>(std::uint64_t(skip));
        return [src = source_, order, next](Raw& raw) {
            while (*next < order->size() && !src->mine(*next)) ++*next;
            if (*next >= order->size()) return false;
            const auto& row = src->rows[(*order)[*next]];
            raw = Raw{*next, row.image, {}, row.caption, row.image.string()};
            ++*next;
            return true;
        };
    }

    typename Loader::Pull shard_pull(std::int64_t epoch, std::int64_t skip) const {
        const auto& o = source_->options;
        data::WebDatasetOptions wo;
        wo.shuffle_shards = o.shuffle;
        wo.shuffle_buffer = o.shuffle ? o.shuffle_buffer : 0;
        wo.seed = o.seed;
        wo.epoch = std::uint64_t(epoch);
        auto reader = std::make_shared<data::WebDatasetReader>(source_->shards, wo);
        auto next = std::make_shared<std::uint64_t>(0);
        return [src = source_, reader, next, skip](Raw& raw) {
            data::WebDatasetSample sample;
            std::uint64_t position = 0;
            do {  // past the samples before `skip` and those of other processes, undecoded
                if (!reader->next(sample)) return false;
                position = (*next)++;
            } while (position < std::uint64_t(skip) || !src->mine(position));
            raw = Raw{position, {}, std::move(sample.image), std::move(sample.caption), sample.shard + ":" + sample.key};
            return true;
        };
    }

    train::PairBatch take(std::int64_t count) {
        const int s = source_->options.image_size;
        const std::size_t plane = std::size_t(3) * std::size_t(s) * std::size_t(s);
        auto images = Tensor<float, cpu>::empty(Shape{count, 3, s, s});  // [N, 3, S, S]
        std::vector<std::vector<std::int32_t>> rows;
        for (std::int64_t i = 0; i < count; ++i) {
            auto& p = pending_.front();
            std::copy(p.image.begin(), p.image.end(), images.data() + std::size_t(i) * plane);
            rows.push_back(std::move(p.tokens));
            pending_.pop_front();
        }
        stats_.pairs += std::uint64_t(count);
        return {images, pack_token_rows(rows, source_->tokenizer.eot(), source_->context)};  // [N,3,S,S], [N,L]
    }

    static void add_stats(ImageTextStats& to, const data::LoaderStats& s) {
        to.skipped += s.skipped;
        for (const auto& m : s.messages)
            if (to.messages.size() < data::LoaderStats::kMaxMessages) to.messages.push_back(m);
    }

    std::shared_ptr<const Source> source_;
    std::int64_t size_ = 0, epoch_ = 0, skip_ = 0;
    bool ended_ = false;  // next(…, within_epoch) reached the end of epoch_
    std::vector<std::string> captions_;
    std::deque<Pair> pending_;
    ImageTextStats stats_;
    std::unique_ptr<Loader> loader_;  // last: its threads stop before the rest goes
};

// paired_retrieval(model, pairs, limit): image↔text retrieval over the pairs of one epoch of a
// stream (at most `limit` when > 0; caption i describes image i), encoded chunk by chunk.
//   ensures: result.second is the number of pairs used.  throws: Error when there is none.
template <class Model>
std::pair<eval::RetrievalResult, std::int64_t> paired_retrieval(const Model& model, ImageTextStream& pairs,
                                                                std::int64_t limit = 0, std::int64_t chunk = 100) {
    using T = typename Model::value_type;
    using Device = device_of<typename Model::backend>;
    std::vector<float> images, texts;  // [N, E] each, row by row
    std::int64_t n = 0, width = 0;
    for (;;) {
        const std::int64_t want = limit > 0 ? std::min(chunk, limit - n) : chunk;
        if (want <= 0) break;
        const auto batch = pairs.next(want, /*within_epoch=*/true);
        const std::int64_t got = batch.images.size(0);
        if (got == 0) break;
        const auto image_part = cast<float>(eval::encode_images(model, to_device<Device>(cast<T>(batch.images)), chunk));  // [got, E]
        const auto text_part = cast<float>(eval::encode_texts(model, batch.tokens, chunk));                                // [got, E]
        images.insert(images.end(), image_part.data(), image_part.data() + image_part.numel());
        texts.insert(texts.end(), text_part.data(), text_part.data() + text_part.numel());
        width = image_part.size(1);
        n += got;
        if (got < want) break;
    }
    CONTRA_CHECK(n > 0, "retrieval: the evaluation data holds no usable pair");
    auto image_embeddings = Tensor<float, cpu>::empty(Shape{n, width}), text_embeddings = Tensor<float, cpu>::empty(Shape{n, width});
    std::copy(images.begin(), images.end(), image_embeddings.data());
    std::copy(texts.begin(), texts.end(), text_embeddings.data());
    std::vector<eval::Label> text_to_image(static_cast<std::size_t>(n));
    std::iota(text_to_image.begin(), text_to_image.end(), eval::Label(0));
    return {eval::retrieval_metrics(image_embeddings, text_embeddings, text_to_image), n};
}

}  // namespace contra::tasks
