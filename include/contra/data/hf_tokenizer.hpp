// contra/data/hf_tokenizer.hpp — CLIP's BPE in the Hugging Face spelling: a model folder's
// merges.txt (the same merges, in rank order) and vocab.json (token string → id).
// The vocabulary is built from the merges as CLIP builds it; vocab.json must agree entry by entry,
// so a folder whose files disagree is an error rather than silently different ids.
// defines: data::tokenizer_from_hf_folder, data::save_hf_tokenizer
#pragma once
#include <climits>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../core/atomic_file.hpp"
#include "tokenizer.hpp"

namespace contra::data {

// tokenizer_from_hf_folder(dir): the tokenizer of dir/merges.txt, checked against dir/vocab.json.
//   throws: Error naming the file and the first disagreeing token.
inline Tokenizer tokenizer_from_hf_folder(const std::filesystem::path& dir) {
    const auto merges = dir / "merges.txt", vocab_file = dir / "vocab.json";
    CONTRA_CHECK(std::filesystem::exists(merges) && std::filesystem::exists(vocab_file), dir.string(),
                 ": an HF tokenizer needs merges.txt and vocab.json");
    auto tokenizer = Tokenizer::from_merges_file(merges.string(), INT_MAX);
    std::ifstream in(vocab_file);
    nlohmann::json vocab;
    try {
        vocab = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(vocab_file.string() + ": not valid JSON (" + e.what() + ")");
    }
    CONTRA_CHECK(vocab.is_object(), vocab_file.string(), ": expected an object of token → id");
    std::int64_t distinct = 0;  // a string two merges make is one entry (its last id), as in the reference
    for (std::int32_t id = 0; id < tokenizer.vocab_size(); ++id) distinct += tokenizer.id(tokenizer.token(id)) == id;
    CONTRA_CHECK(std::int64_t(vocab.size()) == distinct, vocab_file.string(), " has ", vocab.size(),
                 " tokens but merges.txt makes ", distinct);
    for (const auto& [token, id] : vocab.items()) {
        CONTRA_CHECK(id.is_number_integer(), vocab_file.string(), ": the id of '", token, "' is not an integer");
        const auto expected = tokenizer.id(token);
        CONTRA_CHECK(expected == id.get<std::int64_t>(), vocab_file.string(), ": '", token, "' has id ", id.dump(),
                     " but the merges give it ", expected);
    }
    return tokenizer;
}

// save_hf_tokenizer(tokenizer, dir): dir/merges.txt and dir/vocab.json, as HF's CLIPTokenizer reads them.
inline void save_hf_tokenizer(const Tokenizer& tokenizer, const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    tokenizer.save_merges((dir / "merges.txt").string());
    nlohmann::json vocab = nlohmann::json::object();
    for (std::int32_t id = 0; id < tokenizer.vocab_size(); ++id) vocab[tokenizer.token(id)] = id;
    const std::string text = vocab.dump() + "\n";
    AtomicFile out(dir / "vocab.json");
    out.write(text.data(), text.size());
    out.commit();
}

}  // namespace contra::data
