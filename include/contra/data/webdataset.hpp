// contra/data/webdataset.hpp — WebDataset tar shards of image–caption pairs, read with libarchive.
// defines: contra::data::expand_shards, MemberName, split_member_name, is_image_extension,
//          WebDatasetSample, WebDatasetOptions, WebDatasetStats, WebDatasetReader
//
// Convention (webdataset's base_plus_ext, as open_clip reads it):
//   a member "dir/abc.jpg" has key "dir/abc" and extension "jpg": the key is the path up to the
//   first '.' of the file name, the extension the rest ("a.b.c.txt" → key "a", "b.c.txt");
//   extensions compare in lower case; names without a '.' (or starting with one) are ignored.
//   Consecutive members with the same key form a sample; a new key, or an extension already
//   seen in the current sample, starts the next one. Samples never span shards.
//   A sample is usable with an image (the first member ending jpg, jpeg, png or webp) and a
//   caption (the first "txt" member); others are skipped and counted.
// Failure policy (open_clip's log_and_continue): a shard that cannot be opened, is corrupt or is
// truncated stops there, keeping the samples read from it so far; it is counted and its error
// kept, and reading moves on. Only when no shard at all could be opened does next() throw.
#pragma once
#if !defined(CONTRA_NO_LIBARCHIVE)
#include <archive.h>
#include <archive_entry.h>
#endif

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/random.hpp"

namespace contra::data {

namespace detail {

// BraceGroup: one "{...}" of a shard pattern, expanded.
struct BraceGroup {
    std::size_t open = 0, close = 0;  // positions of '{' and '}'
    std::vector<std::string> alternatives;
};

inline std::string lower_ascii(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return s;
}

inline bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// expand_brace(body, pattern, max_count): "000..123" → numbers (zero-padded as bash and
// braceexpand do: to the wider end when either end has a leading zero); "a,b" → {"a", "b"}.
inline std::vector<std::string> expand_brace(std::string_view body, std::string_view pattern, std::size_t max_count) {
    const auto dots = body.find("..");
    if (dots != std::string_view::npos) {
        const auto first = body.substr(0, dots), last = body.substr(dots + 2);
        CONTRA_CHECK(all_digits(first) && all_digits(last), "shard pattern '", pattern, "': '{", body,
                     "}' is not a range of non-negative integers like {000..099}");
        const std::uint64_t a = std::stoull(std::string(first)), b = std::stoull(std::string(last));
        const std::uint64_t count = (a <= b ? b - a : a - b) + 1;
        CONTRA_CHECK(count <= max_count, "shard pattern '", pattern, "': '{", body, "}' names ", count,
                     " shards, more than the limit of ", max_count);
        const bool padded = (first.size() > 1 && first[0] == '0') || (last.size() > 1 && last[0] == '0');
        const std::size_t width = padded ? std::max(first.size(), last.size()) : 0;
        std::vector<std::string> out;
        out.reserve(std::size_t(count));
        for (std::uint64_t k = 0; k < count; ++k) {
            std::string number = std::to_string(a <= b ? a + k : a - k);
            if (number.size() < width) number.insert(0, width - number.size(), '0');
            out.push_back(std::move(number));
        }
        return out;
    }
    CONTRA_CHECK(body.find(',') != std::string_view::npos, "shard pattern '", pattern, "': '{", body,
                 "}' is neither a range {first..last} nor a list {a,b,...}");
    std::vector<std::string> out;
    for (std::size_t from = 0;;) {
        const auto comma = body.find(',', from);
        out.emplace_back(body.substr(from, comma - from));
        if (comma == std::string_view::npos) break;
        from = comma + 1;
    }
    return out;
}

// expand_braces(pattern, max_count): every name of one "::"-free pattern, the first brace
// varying slowest.  throws: Error on nested or unbalanced braces and on more than max_count names.
inline std::vector<std::string> expand_braces(std::string_view pattern, std::size_t max_count) {
    std::vector<BraceGroup> groups;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        CONTRA_CHECK(pattern[i] != '}', "shard pattern '", pattern, "': '}' at offset ", i, " without a '{'");
        if (pattern[i] != '{') continue;
        const auto close = pattern.find_first_of("{}", i + 1);
        CONTRA_CHECK(close != std::string_view::npos && pattern[close] == '}', "shard pattern '", pattern,
                     "': the '{' at offset ", i, close == std::string_view::npos ? " never closes" : " holds a nested '{'");
        groups.push_back({i, close, expand_brace(pattern.substr(i + 1, close - i - 1), pattern, max_count)});
        i = close;
    }
    std::size_t total = 1;
    for (const auto& g : groups) {
        CONTRA_CHECK(total <= max_count / g.alternatives.size(), "shard pattern '", pattern,
                     "' names more shards than the limit of ", max_count);
        total *= g.alternatives.size();
    }
    std::vector<std::string> names{""};
    std::size_t from = 0;
    for (const auto& g : groups) {
        const auto literal = pattern.substr(from, g.open - from);
        std::vector<std::string> next;
        next.reserve(names.size() * g.alternatives.size());
        for (const auto& head : names)
            for (const auto& alt : g.alternatives) next.push_back(head + std::string(literal) + alt);
        names = std::move(next);
        from = g.close + 1;
    }
    for (auto& name : names) name += pattern.substr(from);
    return names;
}

}  // namespace detail

// expand_shards(pattern, max_shards): the shard paths a pattern names, in pattern order.
//   "::" separates patterns (open_clip's multi-source list); each may hold brace groups:
//   ranges "{000000..000123}" (zero-padding kept, descending allowed) or lists "{a,b}".
//   ensures: at most max_shards paths.
//   throws:  Error on an empty pattern, unbalanced or nested braces, a malformed range.
inline std::vector<std::filesystem::path> expand_shards(std::string_view pattern, std::size_t max_shards = 1'000'000) {
    std::vector<std::filesystem::path> out;
    for (std::size_t from = 0;;) {
        const auto sep = pattern.find("::", from);
        const auto part = pattern.substr(from, sep == std::string_view::npos ? std::string_view::npos : sep - from);
        CONTRA_CHECK(!part.empty(), "shard pattern '", pattern, "': empty entry at offset ", from,
                     " (entries are separated by '::')");
        for (auto& name : detail::expand_braces(part, max_shards)) {
            CONTRA_CHECK(out.size() < max_shards, "shard pattern '", pattern, "' names more shards than the limit of ",
                         max_shards);
            out.emplace_back(std::move(name));
        }
        if (sep == std::string_view::npos) break;
        from = sep + 2;
    }
    return out;
}

// MemberName: a tar member's name split into a sample key and an extension.
struct MemberName {
    std::string key;
    std::string extension;  // as stored (the reader compares it in lower case)
};

// split_member_name(name): "dir/abc.jpg" → {"dir/abc", "jpg"}; "a.b.c.txt" → {"a", "b.c.txt"};
// nullopt when the file name has no '.' or begins with one (webdataset ignores such members).
inline std::optional<MemberName> split_member_name(std::string_view name) {
    const auto slash = name.rfind('/');
    const std::size_t base = slash == std::string_view::npos ? 0 : slash + 1;
    const auto dot = name.find('.', base);
    if (dot == std::string_view::npos || dot == base) return std::nullopt;
    return MemberName{std::string(name.substr(0, dot)), std::string(name.substr(dot + 1))};
}

// is_image_extension(ext): ext (lower case) is one open_clip reads as the image ("jpg;png;jpeg;webp").
inline bool is_image_extension(std::string_view ext) {
    return ext == "jpg" || ext == "jpeg" || ext == "png" || ext == "webp";
}

// WebDatasetSample: one image–caption pair.
struct WebDatasetSample {
    std::string key;
    std::string image_extension;     // lower case: jpg, jpeg, png or webp
    std::vector<std::uint8_t> image;  // the encoded image, as stored in the shard
    std::string caption;             // the txt member's bytes (UTF-8 by convention; not validated)
    std::string shard;               // the shard it came from (for messages)
};

// WebDatasetOptions: order and limits. Both shuffles are pure functions of (seed, epoch) and
// the shards' contents: the same options give the same sample order on every run.
struct WebDatasetOptions {
    bool shuffle_shards = false;
    std::size_t shuffle_buffer = 0;  // samples held for shuffling (open_clip: 1000 or 5000); 0, 1: none
    std::uint64_t seed = 0;
    std::uint64_t epoch = 0;                                   // mixed into both shuffles
    std::uint64_t max_member_bytes = std::uint64_t(64) << 20;  // larger images/captions are skipped
};

// WebDatasetStats: what a reader met so far, for a caller to report.
struct WebDatasetStats {
    std::uint64_t samples = 0;             // complete samples read from shards
    std::uint64_t skipped_incomplete = 0;  // samples without an image or a caption
    std::uint64_t oversized_members = 0;   // image/txt members over max_member_bytes (not read)
    std::uint64_t ignored_members = 0;     // files whose name has no key.extension form
    std::uint64_t shards_completed = 0;    // shards read to their end
    std::uint64_t shard_errors = 0;        // shards unopenable, corrupt or truncated
    std::vector<std::string> errors;       // one message per shard error, naming the shard

    std::string summary() const {
        return contra::detail::concat(samples, " samples, ", skipped_incomplete, " incomplete skipped, ",
                                      oversized_members, " oversized members, ", shards_completed, " shards read, ",
                                      shard_errors, " shard errors");
    }
};

namespace detail {

#if !defined(CONTRA_NO_LIBARCHIVE)
// TarShard: one tar file (optionally gzip/zstd/... compressed) read member by member.
class TarShard {
public:
    // throws: Error naming the file when libarchive cannot open it or recognise an archive.
    explicit TarShard(const std::filesystem::path& path)
        : name_(path.string()), handle_(archive_read_new(), &archive_read_free), archive_(handle_.get()) {
        CONTRA_CHECK(archive_ != nullptr, "shard '", name_, "': libarchive could not allocate a reader");
        archive_read_support_filter_all(archive_);
        archive_read_support_format_tar(archive_);
        const int status = archive_read_open_filename(archive_, name_.c_str(), std::size_t(1) << 16);
        CONTRA_CHECK(status == ARCHIVE_OK, "shard '", name_, "' cannot be opened: ", message());
    }

    // next_member(name, regular, size): the next member's header; false at the archive's end.
    //   throws: Error when the archive is corrupt or truncated.
    bool next_member(std::string& name, bool& regular, std::int64_t& size) {
        archive_entry* entry = nullptr;
        const int status = archive_read_next_header(archive_, &entry);
        if (status == ARCHIVE_EOF) return false;
        CONTRA_CHECK(status == ARCHIVE_OK || status == ARCHIVE_WARN, "shard '", name_, "': bad tar header (", message(), ")");
        const char* path = archive_entry_pathname_utf8(entry);
        if (path == nullptr) path = archive_entry_pathname(entry);
        name = path ? path : "";
        regular = archive_entry_filetype(entry) == AE_IFREG;
        size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1;
        return true;
    }

    // read_data(out, size, max_bytes): the current member's bytes into out; false (and the data
    // skipped) when it holds more than max_bytes. Memory grows with the bytes actually read
    // (up-front reservation at most 1 MiB), never with what the header's size field promises.
    //   throws: Error when the data is cut short or corrupt.
    template <class Bytes>
    bool read_data(Bytes& out, std::int64_t size, std::uint64_t max_bytes) {
        out.clear();
        if (size > 0 && std::uint64_t(size) > max_bytes) {
            CONTRA_CHECK(archive_read_data_skip(archive_) == ARCHIVE_OK, "shard '", name_, "': ", message());
            return false;
        }
        if (size > 0) out.reserve(std::size_t(std::min<std::int64_t>(size, std::int64_t(1) << 20)));
        chunk_.resize(std::size_t(1) << 16);
        for (;;) {
            const la_ssize_t got = archive_read_data(archive_, chunk_.data(), chunk_.size());
            CONTRA_CHECK(got >= 0, "shard '", name_, "': cannot read member data (", message(), ")");
            if (got == 0) return true;
            if (out.size() + std::size_t(got) > max_bytes) {
                out.clear();
                CONTRA_CHECK(archive_read_data_skip(archive_) == ARCHIVE_OK, "shard '", name_, "': ", message());
                return false;
            }
            out.insert(out.end(), chunk_.begin(), chunk_.begin() + got);
        }
    }

private:
    std::string message() const {
        const char* text = archive_error_string(archive_);
        return text ? text : "unknown libarchive error";
    }
    std::string name_;
    std::unique_ptr<archive, int (*)(archive*)> handle_;  // freed also when the constructor throws
    archive* archive_;
    std::vector<char> chunk_;  // read buffer
};

#else
// Built without libarchive (cmake -DCONTRA_WEBDATASET=OFF, for machines that lack it): opening a
// shard is an Error that says so; nothing else is reachable.
class TarShard {
public:
    explicit TarShard(const std::filesystem::path& path) {
        throw Error("shard '" + path.string() + "': this contra was built without libarchive (-DCONTRA_WEBDATASET=OFF), "
                    "so it reads no WebDataset shards; rebuild with libarchive (Debian's libarchive-dev)");
    }
    bool next_member(std::string&, bool&, std::int64_t&) { return false; }
    template <class Bytes>
    bool read_data(Bytes&, std::int64_t, std::uint64_t) { return false; }
};
#endif

}  // namespace detail

// WebDatasetReader: image–caption samples from a list of shards, one at a time.
// Not thread-safe: one thread calls next() (a StreamLoader in loader.hpp serialises it).
class WebDatasetReader {
public:
    using sample_type = WebDatasetSample;

    // requires: at least one shard.  The shard order is shuffled here when options ask for it.
    explicit WebDatasetReader(std::vector<std::filesystem::path> shards, WebDatasetOptions options = {})
        : shards_(std::move(shards)), options_(options),
          sample_draws_{options.seed, stream_id("contra.webdataset.samples") + options.epoch} {
        CONTRA_CHECK(!shards_.empty(), "WebDatasetReader: no shards given");
        if (options_.shuffle_shards)
            Rng(options_.seed, stream_id("contra.webdataset.shards") + options_.epoch).shuffle(shards_);
    }
    // A pattern as expand_shards reads it: "data/shard-{000000..000099}.tar::more/{0..9}.tar".
    explicit WebDatasetReader(std::string_view pattern, WebDatasetOptions options = {})
        : WebDatasetReader(expand_shards(pattern), options) {}

    // next(out): the next usable sample; false when every shard is done.
    //   throws: Error only when no shard could be opened at all (listing why for each).
    bool next(WebDatasetSample& out) {
        if (options_.shuffle_buffer <= 1) return next_in_order(out);
        while (!drained_ && buffer_.size() < options_.shuffle_buffer) {
            WebDatasetSample sample;
            if (!next_in_order(sample)) {
                drained_ = true;
                break;
            }
            buffer_.push_back(std::move(sample));
        }
        if (buffer_.empty()) return false;
        const std::size_t pick = std::size_t(sample_draws_.below(draws_++, buffer_.size()));
        out = std::move(buffer_[pick]);
        if (pick + 1 != buffer_.size()) buffer_[pick] = std::move(buffer_.back());
        buffer_.pop_back();
        return true;
    }

    const WebDatasetStats& stats() const { return stats_; }
    // shards(): the shards in the order they are read.
    const std::vector<std::filesystem::path>& shards() const { return shards_; }

private:
    // Group: the members of the sample being assembled.
    struct Group {
        bool active = false;
        bool has_caption = false;             // an empty caption is still a caption
        std::vector<std::string> extensions;  // lower case, in member order
        WebDatasetSample sample;
    };

    // next_in_order(out): the next complete sample in shard and member order.
    bool next_in_order(WebDatasetSample& out) {
        for (;;) {
            if (ready_) {
                out = std::move(*ready_);
                ready_.reset();
                ++stats_.samples;
                return true;
            }
            if (!shard_) {
                if (next_shard_ == shards_.size()) {
                    check_any_opened();
                    return false;
                }
                open_shard(shards_[next_shard_++]);
                continue;
            }
            try {
                read_member();
            } catch (const Error& e) {
                ++stats_.shard_errors;
                stats_.errors.push_back(e.what());
                close_group();
                shard_.reset();
            }
        }
    }

    void open_shard(const std::filesystem::path& path) {
        current_ = path.string();
        shard_started_ = false;
        try {
            shard_ = std::make_unique<detail::TarShard>(path);
        } catch (const Error& e) {
            ++stats_.shard_errors;
            stats_.errors.push_back(e.what());
        }
    }

    // read_member(): one member of the current shard into the group; a finished group goes to ready_.
    void read_member() {
        std::string name;
        bool regular = false;
        std::int64_t size = 0;
        const bool more = shard_->next_member(name, regular, size);
        if (!shard_started_) any_opened_ = shard_started_ = true;
        if (!more) {
            ++stats_.shards_completed;
            close_group();
            shard_.reset();
            return;
        }
        if (!regular) return;
        auto split = split_member_name(name);
        if (!split) {
            ++stats_.ignored_members;
            return;
        }
        std::string ext = detail::lower_ascii(std::move(split->extension));
        auto& g = group_;
        if (g.active && (split->key != g.sample.key ||
                         std::find(g.extensions.begin(), g.extensions.end(), ext) != g.extensions.end()))
            close_group();
        if (!g.active) {
            g.active = true;
            g.sample.key = std::move(split->key);
            g.sample.shard = current_;
        }
        g.extensions.push_back(ext);
        if (is_image_extension(ext) && g.sample.image_extension.empty()) {
            if (shard_->read_data(g.sample.image, size, options_.max_member_bytes))
                g.sample.image_extension = ext;
            else
                ++stats_.oversized_members;
        } else if (ext == "txt" && !g.has_caption) {
            if (shard_->read_data(g.sample.caption, size, options_.max_member_bytes))
                g.has_caption = true;
            else
                ++stats_.oversized_members;
        }
    }

    // close_group(): the group becomes ready_ when it has an image and a caption, else is counted.
    void close_group() {
        if (!group_.active) return;
        if (!group_.sample.image_extension.empty() && group_.has_caption)
            ready_ = std::move(group_.sample);
        else
            ++stats_.skipped_incomplete;
        group_ = Group{};
    }

    void check_any_opened() const {
        if (any_opened_) return;
        std::string why;
        for (std::size_t k = 0; k < stats_.errors.size() && k < 8; ++k) why += "\n  " + stats_.errors[k];
        if (stats_.errors.size() > 8) why += "\n  ...";
        CONTRA_CHECK(any_opened_, "WebDatasetReader: none of the ", shards_.size(), " shards could be read:", why);
    }

    std::vector<std::filesystem::path> shards_;
    WebDatasetOptions options_;
    RandomStream sample_draws_;
    std::uint64_t draws_ = 0;
    std::vector<WebDatasetSample> buffer_;  // the shuffle buffer
    bool drained_ = false;

    std::size_t next_shard_ = 0;
    std::unique_ptr<detail::TarShard> shard_;
    std::string current_;  // the open shard's name
    bool shard_started_ = false, any_opened_ = false;
    Group group_;
    std::optional<WebDatasetSample> ready_;
    WebDatasetStats stats_;
};

}  // namespace contra::data
