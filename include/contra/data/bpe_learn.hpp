// contra/data/bpe_learn.hpp — learning byte-level BPE merges from a corpus of captions.
// defines: contra::data::learn_bpe
//
// Classic BPE (Sennrich et al., 2016) on CLIP's scheme: captions are cleaned and pre-tokenized
// exactly as Tokenizer does it, each distinct word becomes its bytes with "</w>" on the last, and
// the most frequent adjacent pair (counted over words, weighted by how often each word occurs)
// is merged everywhere, again and again. The result is an ordinary Tokenizer: save_merges()
// writes it in CLIP's file format.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer.hpp"

namespace contra::data {

// learn_bpe(corpus, vocab_size): a Tokenizer whose merges are learned from corpus.
//   vocab_size counts everything: 512 byte symbols + merges + sot + eot, so vocab_size − 514
//   merges are learned, or fewer when every word of the corpus is already one token.
//   Ties between equally frequent pairs go to the pair whose (left, right) token strings come
//   first in byte order, so the result depends only on the corpus (not on its order).
// requires: vocab_size ≥ 514.
// ensures: every byte sequence still encodes (bytes are always in the vocabulary); each merge
//   joins tokens that exist before it; time ≈ (total word bytes) · log + (merges · words touched).
inline Tokenizer learn_bpe(const std::vector<std::string>& corpus, int vocab_size) {
    namespace tx = detail::text;
    CONTRA_CHECK(vocab_size >= 514, "learn_bpe: vocab_size must be at least 514 (512 byte symbols + sot + eot), got ",
                 vocab_size);
    const std::size_t wanted = std::size_t(vocab_size - 514);

    // Word frequencies (std::map: a fixed order whatever the corpus order).
    std::map<std::string, std::int64_t> frequency;
    for (const auto& caption : corpus) {
        tx::for_each_piece(tx::clean(caption), [&](std::u32string_view piece) {
            if (!tx::is_special(piece)) ++frequency[tx::utf8_encode(piece)];
            return true;
        });
    }

    // Token strings, starting from the byte symbols in vocabulary order (ids as in Tokenizer).
    std::vector<std::string> token;
    std::unordered_map<std::string, std::int32_t> token_id;
    std::array<std::int32_t, 256> byte_id{};
    for (int end_of_word = 0; end_of_word < 2; ++end_of_word) {
        for (int k = 0; k < 256; ++k) {
            std::string s;
            tx::utf8_append(s, tx::byte_symbol(k));
            if (end_of_word) s += "</w>";
            token_id.emplace(s, std::int32_t(token.size()));
            token.push_back(std::move(s));
            if (!end_of_word) byte_id[tx::byte_order()[std::size_t(k)]] = k;
        }
    }

    struct Word {
        std::vector<std::int32_t> symbols;
        std::int64_t count;
    };
    std::vector<Word> words;
    words.reserve(frequency.size());
    for (const auto& [text, count] : frequency) {
        Word w{{}, count};
        for (unsigned char b : text) w.symbols.push_back(byte_id[b]);
        w.symbols.back() += 256;  // "</w>" on the last byte
        words.push_back(std::move(w));
    }

    // Pair statistics: count of each adjacent pair, and the words it may occur in.
    auto key = [](std::int32_t a, std::int32_t b) { return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b); };
    std::unordered_map<std::uint64_t, std::int64_t> pair_count;
    std::unordered_map<std::uint64_t, std::vector<std::int32_t>> pair_words;  // may hold stale entries
    std::vector<std::uint64_t> touched;                                       // pairs whose count changed
    auto count_pairs = [&](std::int32_t w, std::int64_t sign) {
        const auto& s = words[std::size_t(w)].symbols;
        for (std::size_t i = 0; i + 1 < s.size(); ++i) {
            const auto k = key(s[i], s[i + 1]);
            pair_count[k] += sign * words[std::size_t(w)].count;
            if (sign > 0) pair_words[k].push_back(w);
            touched.push_back(k);
        }
    };
    for (std::int32_t w = 0; w < std::int32_t(words.size()); ++w) count_pairs(w, +1);

    // Candidates, most frequent first; entries whose count went stale are skipped when popped.
    struct Candidate {
        std::int64_t count;
        std::int32_t left, right;
    };
    auto after = [&](const Candidate& x, const Candidate& y) {  // x is taken after y
        if (x.count != y.count) return x.count < y.count;
        if (token[std::size_t(x.left)] != token[std::size_t(y.left)]) return token[std::size_t(x.left)] > token[std::size_t(y.left)];
        return token[std::size_t(x.right)] > token[std::size_t(y.right)];
    };
    std::priority_queue<Candidate, std::vector<Candidate>, decltype(after)> heap(after);
    auto offer_touched = [&] {
        std::sort(touched.begin(), touched.end());
        touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
        for (auto k : touched)
            if (const auto c = pair_count[k]; c > 0) heap.push({c, std::int32_t(k >> 32), std::int32_t(k & 0xFFFFFFFFu)});
        touched.clear();
    };
    offer_touched();

    std::vector<Tokenizer::Merge> merges;
    std::set<std::uint64_t> recorded;
    std::vector<std::int64_t> visited(words.size(), -1);
    for (std::int64_t step = 0; merges.size() < wanted && !heap.empty(); ++step) {
        const Candidate best = heap.top();
        heap.pop();
        const auto k = key(best.left, best.right);
        if (pair_count[k] != best.count) continue;  // stale

        // The merged token (a string made before by another pair is the same token).
        const std::string joined = token[std::size_t(best.left)] + token[std::size_t(best.right)];
        auto [it, fresh] = token_id.emplace(joined, std::int32_t(token.size()));
        if (fresh) token.push_back(joined);
        const std::int32_t merged = it->second;
        // A pair merged before can occur again only through such a remade token; it is merged
        // again but not listed twice (its first rank already covers it when encoding).
        if (recorded.insert(k).second) merges.emplace_back(token[std::size_t(best.left)], token[std::size_t(best.right)]);

        const std::vector<std::int32_t> where = std::move(pair_words[k]);
        pair_words.erase(k);
        for (std::int32_t w : where) {
            if (visited[std::size_t(w)] == step) continue;
            visited[std::size_t(w)] = step;
            count_pairs(w, -1);
            auto& s = words[std::size_t(w)].symbols;
            std::size_t out = 0;
            for (std::size_t i = 0; i < s.size(); ++i) {  // left to right, non-overlapping
                if (i + 1 < s.size() && s[i] == best.left && s[i + 1] == best.right) {
                    s[out++] = merged;
                    ++i;
                } else {
                    s[out++] = s[i];
                }
            }
            s.resize(out);
            count_pairs(w, +1);
        }
        offer_touched();
    }
    return Tokenizer::from_merges(merges);
}

}  // namespace contra::data
