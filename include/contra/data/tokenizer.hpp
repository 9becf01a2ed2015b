// contra/data/tokenizer.hpp — CLIP's byte-level BPE tokenizer: text cleaning, pre-tokenizer,
// byte-pair merges, fixed-length id rows for the text tower.
// defines: contra::data::Tokenizer, kClipMerges, kClipContextLength (cleaning and pre-tokenizing: text_clean.hpp)
//
// The pipeline, as in OpenAI CLIP's simple_tokenizer.py:
//   text ─clean_text─▶ "a photo of a cat." ─pre_tokenize─▶ ["a","photo","of","a","cat","."]
//        ─bytes→unicode, BPE per piece─▶ [320, 1125, 539, 320, 2368, 269]
//        ─tokenize─▶ [49406, 320, 1125, 539, 320, 2368, 269, 49407, 0, 0, …] (77 ids)
//
// Cleaning stands in for ftfy.fix_text with a documented subset (see clean_text). Everything else
// follows the reference exactly; tests/text/clip_tokens.txt holds ids made by an independent
// Python rewrite (tests/text/make_tokens.py) that the tests compare against.
#pragma once
#include <utf8proc.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "text_clean.hpp"

namespace contra::data {

// CLIP uses the first 49152 − 256 − 2 = 48,894 merges of bpe_simple_vocab_16e6.txt.gz.
inline constexpr int kClipMerges = 49152 - 256 - 2;
inline constexpr int kClipContextLength = 77;

namespace detail::text {

// ── byte ↔ unicode (the reference's bytes_to_unicode) ─────────────────────────────────────────

// byte_order(): bytes in vocabulary order: the 188 printable ones (33–126, 161–172, 174–255)
// first, then the other 68 ascending. Byte byte_order()[k] is stood for by code point
// byte_symbol(k): itself for the printable ones, 256 + n for the n-th of the others.
inline const std::array<std::uint8_t, 256>& byte_order() {
    static const std::array<std::uint8_t, 256> order = [] {
        std::array<std::uint8_t, 256> o{};
        auto printable = [](int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255); };
        int k = 0;
        for (int b = 0; b < 256; ++b)
            if (printable(b)) o[k++] = std::uint8_t(b);
        for (int b = 0; b < 256; ++b)
            if (!printable(b)) o[k++] = std::uint8_t(b);
        return o;
    }();
    return order;
}

inline char32_t byte_symbol(int k) { return k < 188 ? char32_t(byte_order()[k]) : char32_t(256 + (k - 188)); }

}  // namespace detail::text

// Tokenizer: CLIP's byte-level BPE over a list of merges.
//   vocab ids: 0–255 the byte symbols, 256–511 the same with "</w>" (end of word), then one id per
//   merge (rank order), then <|startoftext|> = sot(), <|endoftext|> = eot(). With CLIP's file:
//   49,408 ids, sot 49406, eot 49407.
// Copies share the (immutable) tables and the word cache. All const members may be called from
// several threads at once.
class Tokenizer {
public:
    using Merge = std::pair<std::string, std::string>;

    // Tokenizer(): bytes only (no merges): every byte of a word is one id; vocab 514.
    Tokenizer() : Tokenizer(build({}, [](std::size_t) { return std::string(); })) {}

    // from_merges_file(path, max_merges): read a merges file, gzip-compressed or plain text: a
    // version line ("#version: 0.2"), then one merge "left right" per line, in rank order.
    // Only the first max_merges merges are read (CLIP: 48,894 of the file's 262,144).
    // throws: contra::Error naming the file (and line) when it is missing, unreadable, empty,
    //         lacks the version line, or has a malformed merge.
    static Tokenizer from_merges_file(const std::string& path, int max_merges = kClipMerges);

    // from_merges(merges): rank = position. Each side must be a token already: a byte symbol
    // (with or without "</w>") or the result of an earlier merge.
    // throws: contra::Error naming the first bad merge.
    static Tokenizer from_merges(const std::vector<Merge>& merges) {
        return build(merges, [](std::size_t k) { return ::contra::detail::concat("merge #", k); });
    }

    // save_merges(path): write the merges in the CLIP file format (plain text), so
    // from_merges_file(path, n) with n ≥ merges().size() reads the same tokenizer back.
    // Written to path + ".tmp" first, then renamed. throws: contra::Error on an I/O failure.
    void save_merges(const std::string& path) const;

    // encode(text): ids of the cleaned, pre-tokenized, BPE-merged text; no sot/eot.
    // Literal "<|startoftext|>" / "<|endoftext|>" in the text become sot/eot, as in CLIP.
    // Never throws on any input bytes.
    std::vector<std::int32_t> encode(std::string_view text) const {
        std::vector<std::int32_t> ids;
        encode_into(text, ids, std::size_t(-1));
        return ids;
    }

    // tokenize(text, context_length): exactly context_length ids: sot, the ids of encode(text),
    // eot, then 0s. Too long: cut to context_length with the last id set to eot (open_clip).
    // requires: context_length ≥ 2.  ensures: only the first context_length − 2 ids are encoded,
    // so a long document costs one cleaning pass plus the BPE of its first words.
    std::vector<std::int32_t> tokenize(std::string_view text, int context_length = kClipContextLength) const {
        CONTRA_CHECK(context_length >= 2, "tokenize: context_length must leave room for sot and eot, got ",
                     context_length);
        std::vector<std::int32_t> row(std::size_t(context_length), 0);
        write_row(text, row);
        return row;
    }

    // tokenize(texts, context_length): a row-major [texts.size(), context_length] block of rows.
    std::vector<std::int32_t> tokenize(const std::vector<std::string>& texts, int context_length = kClipContextLength) const {
        CONTRA_CHECK(context_length >= 2, "tokenize: context_length must leave room for sot and eot, got ",
                     context_length);
        std::vector<std::int32_t> rows(texts.size() * std::size_t(context_length), 0);
        for (std::size_t r = 0; r < texts.size(); ++r)
            write_row(texts[r], std::span<std::int32_t>(rows).subspan(r * std::size_t(context_length), std::size_t(context_length)));
        return rows;
    }

    // decode(ids): the reference's decode: token strings joined, mapped back to bytes, decoded as
    // UTF-8 (invalid → U+FFFD), "</w>" → " ". Specials and padding are kept as text
    // ("<|startoftext|>", "!"), so strip them first if unwanted.
    // throws: contra::Error on an id outside [0, vocab_size()).
    std::string decode(std::span<const std::int32_t> ids) const {
        std::string bytes;
        for (std::int32_t id : ids) {
            CONTRA_CHECK(id >= 0 && id < vocab_size(), "decode: id ", id, " is outside the vocabulary [0, ", vocab_size(), ")");
            bytes += t_->bytes[std::size_t(id)];
        }
        std::string text = detail::text::utf8_encode(detail::text::utf8_decode(bytes));
        std::string out;
        out.reserve(text.size());
        for (std::size_t i = 0; i < text.size();) {
            if (text.compare(i, 4, "</w>") == 0) {
                out.push_back(' ');
                i += 4;
            } else {
                out.push_back(text[i++]);
            }
        }
        return out;
    }

    std::int32_t vocab_size() const { return std::int32_t(t_->vocab.size()); }
    std::int32_t sot() const { return vocab_size() - 2; }
    std::int32_t eot() const { return vocab_size() - 1; }
    const std::vector<Merge>& merges() const { return t_->merges; }
    // token(id): the vocabulary string of id (byte symbols, e.g. "Ġ" for a space byte).
    const std::string& token(std::int32_t id) const {
        CONTRA_CHECK(id >= 0 && id < vocab_size(), "token: id ", id, " is outside the vocabulary");
        return t_->vocab[std::size_t(id)];
    }
    // id(token): the id of a vocabulary string, or -1.
    std::int32_t id(std::string_view token) const {
        auto it = t_->ids.find(std::string(token));
        return it == t_->ids.end() ? -1 : it->second;
    }

private:
    struct Rule {
        std::int32_t left, right, result;
    };
    struct Tables {
        std::vector<std::string> vocab;                          // id → token string (UTF-8)
        std::vector<std::string> bytes;                          // id → the raw bytes it stands for
        std::unordered_map<std::string, std::int32_t> ids;       // token string → id (the last, if repeated)
        std::vector<Merge> merges;                               // rank → merge, as given
        std::vector<Rule> rules;                                 // rank → merge, as ids
        std::unordered_map<std::uint64_t, std::int32_t> ranks;   // (left id, right id) → rank
        std::array<std::int32_t, 256> byte_id{};                 // byte → id of its symbol
        std::array<std::int32_t, 256> word_end_id{};             // byte → id of its symbol + "</w>"
    };
    struct Cache {
        std::mutex mutex;
        std::unordered_map<std::string, std::vector<std::int32_t>> words;
    };
    static constexpr std::size_t kCachedWordBytes = 64;  // longer pieces are not cached
    static constexpr std::size_t kCacheEntries = 1 << 16;

    explicit Tokenizer(std::shared_ptr<const Tables> t) : t_(std::move(t)), cache_(std::make_shared<Cache>()) {}

    static std::uint64_t key(std::int32_t left, std::int32_t right) {
        return (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
    }

    // build(merges, where): the tables; where(k) names merge k in error messages.
    static Tokenizer build(const std::vector<Merge>& merges, const std::function<std::string(std::size_t)>& where);

    void write_row(std::string_view text, std::span<std::int32_t> row) const {
        const std::size_t room = row.size() - 2;
        std::vector<std::int32_t> ids;
        encode_into(text, ids, room);
        const std::size_t n = std::min(ids.size(), room);
        std::fill(row.begin(), row.end(), 0);
        row[0] = sot();
        std::copy_n(ids.begin(), n, row.begin() + 1);
        row[n + 1] = eot();
    }

    // encode_into(text, out, limit): append ids, stopping after the piece that reaches limit.
    void encode_into(std::string_view text, std::vector<std::int32_t>& out, std::size_t limit) const {
        if (limit == 0) return;
        const std::u32string cleaned = detail::text::clean(text);
        std::string piece;
        detail::text::for_each_piece(cleaned, [&](std::u32string_view p) {
            if (detail::text::is_special(p)) {
                out.push_back(p == detail::text::kStartText ? sot() : eot());
            } else {
                piece.clear();
                for (char32_t c : p) detail::text::utf8_append(piece, c);
                bpe(piece, out);
            }
            return out.size() < limit;
        });
    }

    // bpe(word, out): append the ids of one piece (its UTF-8 bytes).
    void bpe(const std::string& word, std::vector<std::int32_t>& out) const {
        const bool cacheable = word.size() <= kCachedWordBytes;
        if (cacheable) {
            std::lock_guard lock(cache_->mutex);
            auto it = cache_->words.find(word);
            if (it != cache_->words.end()) {
                out.insert(out.end(), it->second.begin(), it->second.end());
                return;
            }
        }
        const std::size_t first = out.size();
        merge_word(word, out);
        if (cacheable) {
            std::lock_guard lock(cache_->mutex);
            if (cache_->words.size() >= kCacheEntries) cache_->words.clear();
            cache_->words.emplace(word, std::vector<std::int32_t>(out.begin() + std::ptrdiff_t(first), out.end()));
        }
    }

    // merge_word(word, out): the reference's BPE loop — repeatedly take the adjacent pair of
    // lowest rank and merge all its occurrences left to right — over a linked list of symbols,
    // with the candidate pairs kept in buckets by rank (a rank's bucket holds left positions).
    // ensures: O(n log n) for a word of n bytes (the reference loop is O(n²) or worse).
    void merge_word(const std::string& word, std::vector<std::int32_t>& out) const {
        const int n = int(word.size());
        if (n == 0) return;
        std::vector<std::int32_t> sym(word.size()), next(word.size()), prev(word.size());  // a linked list
        for (int i = 0; i < n; ++i) {
            const auto byte = static_cast<unsigned char>(word[i]);
            sym[i] = i + 1 < n ? t_->byte_id[byte] : t_->word_end_id[byte];  // the last carries "</w>"
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        std::map<std::int32_t, std::vector<std::int32_t>> buckets;  // rank → positions of pairs of that rank
        auto offer = [&](std::int32_t i) {                          // the pair starting at i, if it has a rank
            if (i < 0 || next[i] < 0) return;
            auto it = t_->ranks.find(key(sym[i], sym[next[i]]));
            if (it != t_->ranks.end()) buckets[it->second].push_back(i);
        };
        for (int i = 0; i + 1 < n; ++i) offer(i);
        while (!buckets.empty()) {
            // Every current occurrence of the lowest-rank pair, left to right. Merging creates only
            // pairs of other ranks, so taking the whole bucket first keeps the reference's order.
            auto lowest = buckets.extract(buckets.begin());
            const Rule& rule = t_->rules[std::size_t(lowest.key())];
            std::vector<std::int32_t>& batch = lowest.mapped();
            std::sort(batch.begin(), batch.end());
            for (const std::int32_t i : batch) {
                const std::int32_t j = next[i];
                if (sym[i] != rule.left || j < 0 || sym[j] != rule.right) continue;  // stale or overlapping
                sym[i] = rule.result;  // i absorbs j
                sym[j] = -1;
                next[i] = next[j];
                if (next[j] >= 0) prev[next[j]] = i;
                offer(prev[i]);
                offer(i);
            }
        }
        for (std::int32_t i = 0; i >= 0; i = next[i]) out.push_back(sym[i]);
    }

    std::shared_ptr<const Tables> t_;
    std::shared_ptr<Cache> cache_;
};

// ── definitions ──────────────────────────────────────────────────────────────────────────────

inline Tokenizer Tokenizer::build(const std::vector<Merge>& merges, const std::function<std::string(std::size_t)>& where) {
    using namespace detail::text;
    auto t = std::make_shared<Tables>();
    const std::size_t total = 512 + merges.size() + 2;
    t->vocab.reserve(total);
    t->bytes.reserve(total);
    t->ids.reserve(total);
    t->merges = merges;
    t->rules.reserve(merges.size());
    t->ranks.reserve(merges.size());
    auto add = [&](std::string token, std::string raw) {
        const auto id = std::int32_t(t->vocab.size());
        t->ids[token] = id;  // a repeated string keeps the last id, as the reference's dict does
        t->vocab.push_back(std::move(token));
        t->bytes.push_back(std::move(raw));
        return id;
    };
    for (int end_of_word = 0; end_of_word < 2; ++end_of_word) {
        for (int k = 0; k < 256; ++k) {
            std::string token;
            utf8_append(token, byte_symbol(k));
            std::string raw(1, char(byte_order()[std::size_t(k)]));
            if (end_of_word) token += "</w>", raw += "</w>";
            add(std::move(token), std::move(raw));
        }
    }
    // Pass 1: the vocabulary; each merge must join two tokens that exist by then.
    for (std::size_t k = 0; k < merges.size(); ++k) {
        const auto& [left, right] = merges[k];
        auto l = t->ids.find(left), r = t->ids.find(right);
        CONTRA_CHECK(l != t->ids.end() && r != t->ids.end(), where(k), ": '", (l == t->ids.end() ? left : right),
                     "' is neither a byte symbol nor the result of an earlier merge");
        add(left + right, t->bytes[std::size_t(l->second)] + t->bytes[std::size_t(r->second)]);
    }
    // Byte symbols by their final ids too (a merge may remake "a</w>").
    for (int k = 0; k < 256; ++k) {
        t->byte_id[byte_order()[std::size_t(k)]] = t->ids.at(t->vocab[std::size_t(k)]);
        t->word_end_id[byte_order()[std::size_t(k)]] = t->ids.at(t->vocab[std::size_t(256 + k)]);
    }
    // Pass 2: the rules as ids. The reference keys its ranks by strings, so a string that two
    // merges make is one symbol: its last id. A repeated pair keeps its last rank.
    for (std::size_t k = 0; k < merges.size(); ++k) {
        const auto& [left, right] = merges[k];
        const Rule rule{t->ids.at(left), t->ids.at(right), t->ids.at(left + right)};
        t->rules.push_back(rule);
        t->ranks[key(rule.left, rule.right)] = std::int32_t(k);
    }
    add("<|startoftext|>", "<|startoftext|>");
    add("<|endoftext|>", "<|endoftext|>");
    return Tokenizer(std::move(t));
}

inline Tokenizer Tokenizer::from_merges_file(const std::string& path, int max_merges) {
    CONTRA_CHECK(max_merges >= 0, "from_merges_file: max_merges must be ≥ 0, got ", max_merges);
    std::error_code ec;
    CONTRA_CHECK(std::filesystem::is_regular_file(path, ec), "bpe merges file '", path, "' does not exist or is not a file");
    gzFile file = gzopen(path.c_str(), "rb");  // reads plain text unchanged too
    CONTRA_CHECK(file != nullptr, "bpe merges file '", path, "' cannot be opened");
    // Read until the version line plus max_merges lines are in (the CLIP file has 5× more).
    std::string text;
    std::size_t lines = 0;
    std::array<char, 1 << 16> buffer{};
    while (lines <= std::size_t(max_merges)) {
        const int got = gzread(file, buffer.data(), unsigned(buffer.size()));
        if (got < 0) {
            int code = 0;
            const std::string why = gzerror(file, &code);
            gzclose(file);
            throw Error(::contra::detail::concat("bpe merges file '", path, "' is not readable gzip or text (zlib: ", why, ")"));
        }
        if (got == 0) break;
        text.append(buffer.data(), std::size_t(got));
        lines += std::size_t(std::count(buffer.data(), buffer.data() + got, '\n'));
    }
    gzclose(file);
    CONTRA_CHECK(!text.empty(), "bpe merges file '", path, "' is empty (expected a version line, then one merge per line)");

    // Split into lines (a trailing '\r' is dropped); keep the version line and max_merges more.
    std::vector<std::string_view> rows;
    for (std::size_t begin = 0; begin <= text.size() && rows.size() <= std::size_t(max_merges);) {
        std::size_t end = text.find('\n', begin);
        if (end == std::string::npos) end = text.size();
        std::string_view row(text.data() + begin, end - begin);
        if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
        rows.push_back(row);
        begin = end + 1;
    }
    CONTRA_CHECK(rows[0].find("#version") != std::string_view::npos, "bpe merges file '", path,
                 "' line 1: expected a version line like \"#version: 0.2\", got '", rows[0].substr(0, 80), "'");
    while (rows.size() > 1 && rows.back().empty()) rows.pop_back();  // blank lines at the end

    std::vector<Merge> merges;
    merges.reserve(rows.size() - 1);
    for (std::size_t k = 1; k < rows.size(); ++k) {
        const std::string_view row = rows[k];
        const std::size_t space = row.find(' ');
        const bool ok = space != std::string_view::npos && space > 0 && space + 1 < row.size() &&
                        row.find_first_of(" \t", space + 1) == std::string_view::npos && row.find('\t') == std::string_view::npos;
        CONTRA_CHECK(ok, "bpe merges file '", path, "' line ", k + 1, ": expected two symbols separated by one space, got '",
                     row.substr(0, 80), "'");
        merges.emplace_back(std::string(row.substr(0, space)), std::string(row.substr(space + 1)));
    }
    return build(merges, [&](std::size_t k) { return ::contra::detail::concat("bpe merges file '", path, "' line ", k + 2); });
}

inline void Tokenizer::save_merges(const std::string& path) const {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        CONTRA_CHECK(out.good(), "save_merges: cannot write '", tmp, "'");
        out << "#version: 0.2\n";
        for (const auto& [left, right] : t_->merges) out << left << ' ' << right << '\n';
        out.flush();
        CONTRA_CHECK(out.good(), "save_merges: writing '", tmp, "' failed");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    CONTRA_CHECK(!ec, "save_merges: cannot rename '", tmp, "' to '", path, "': ", ec.message());
}

}  // namespace contra::data
