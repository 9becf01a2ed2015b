// contra/tasks/captions.hpp — captions to token rows for a text tower: a tokenizer, a fixed
// context length, and a cache (training captions repeat: a few hundred distinct strings).
// defines: tasks::pack_token_rows, tasks::CaptionEncoder, tasks::merges_to_text, tasks::merges_from_text
#pragma once
#include <algorithm>
#include <memory>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "../backend/ops.hpp"
#include "../data/bpe_learn.hpp"
#include "../data/tokenizer.hpp"

namespace contra::tasks {

// pack_token_rows(rows, eot, context): rows of `context` ids (sot … eot, zeros) as [N, L], L the
// longest row up to and including its eot (at most context): the padding after the end token is
// cut, since under the causal mask it never reaches the pooled end-token position.
//   requires: every row holds context ids.
inline Tensor<ops::Index, cpu> pack_token_rows(const std::vector<std::vector<std::int32_t>>& rows, std::int32_t eot,
                                               int context) {
    std::int64_t longest = 1;
    for (const auto& r : rows) {
        CONTRA_CHECK(r.size() == std::size_t(context), "pack_token_rows: a row of ", r.size(), " ids, expected ", context);
        longest = std::max<std::int64_t>(longest, std::int64_t(std::find(r.begin(), r.end(), eot) - r.begin()) + 1);
    }
    longest = std::min<std::int64_t>(longest, context);
    auto out = Tensor<ops::Index, cpu>::empty(Shape{std::int64_t(rows.size()), longest});  // [N, L]
    for (std::size_t i = 0; i < rows.size(); ++i)
        std::copy(rows[i].begin(), rows[i].begin() + longest, out.data() + std::int64_t(i) * longest);
    return out;
}

class CaptionEncoder {
public:
    CaptionEncoder() = default;
    CaptionEncoder(data::Tokenizer tokenizer, int context_length)
        : tokenizer_(std::move(tokenizer)), context_length_(context_length) {}

    // The context length that fits the longest of `captions` (sot + ids + eot), at most `cap`.
    static int fitting_context(const data::Tokenizer& tokenizer, const std::vector<std::string>& captions, int cap = 77) {
        std::size_t longest = 0;
        for (const auto& c : captions) longest = std::max(longest, tokenizer.encode(c).size());
        return int(std::min<std::size_t>(longest + 2, std::size_t(cap)));
    }

    const data::Tokenizer& tokenizer() const { return tokenizer_; }
    int context_length() const { return context_length_; }
    std::int32_t vocab_size() const { return tokenizer_.vocab_size(); }

    // One row [L] of ids: sot, the caption's ids, eot, zeros (truncated with eot last).
    std::vector<std::int32_t> row(const std::string& caption) const {
        std::lock_guard lock(cache_->mutex);
        auto it = cache_->rows.find(caption);
        if (it == cache_->rows.end()) it = cache_->rows.emplace(caption, tokenizer_.tokenize(caption, context_length_)).first;
        return it->second;
    }
    // Rows for every caption: [N, L], L = the longest caption's length (sot … eot) in this batch.
    // The padding after the end token is cut: under the causal mask it never reaches the pooled
    // end-token position, so the embeddings are the same and the text tower does less work.
    Tensor<ops::Index, cpu> rows(std::span<const std::string> captions) const {
        std::vector<std::vector<std::int32_t>> all;
        for (const auto& c : captions) all.push_back(row(c));
        return pack_token_rows(all, tokenizer_.eot(), context_length_);
    }

private:
    data::Tokenizer tokenizer_;
    int context_length_ = 77;
    struct Cache {
        std::mutex mutex;
        std::unordered_map<std::string, std::vector<std::int32_t>> rows;
    };
    std::shared_ptr<Cache> cache_ = std::make_shared<Cache>();
};

// The merges of a tokenizer as text (one "left right" pair a line), for checkpoint metadata.
inline std::string merges_to_text(const data::Tokenizer& tokenizer) {
    std::string out;
    for (const auto& [left, right] : tokenizer.merges()) out += left + " " + right + "\n";
    return out;
}
inline data::Tokenizer merges_from_text(const std::string& text) {
    std::vector<data::Tokenizer::Merge> merges;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto space = line.find(' ');
        CONTRA_CHECK(space != std::string::npos && space > 0 && space + 1 < line.size(),
                     "tokenizer merges: line ", merges.size() + 1, " is not 'left right': '", line, "'");
        merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    }
    return data::Tokenizer::from_merges(merges);
}

}  // namespace contra::tasks
