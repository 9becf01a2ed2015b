// The Hugging Face spelling of the BPE (merges.txt + vocab.json): written and read back to the same
// ids, CLIP's own vocabulary included; a vocab.json that disagrees with its merges is an error.
#include <doctest/doctest.h>
#include <unistd.h>

#include <contra/data/bpe_learn.hpp>
#include <contra/data/hf_tokenizer.hpp>
#include <filesystem>
#include <fstream>

#include "../support/skip.hpp"

using namespace contra;
using namespace contra::data;
namespace fs = std::filesystem;

namespace {
const std::vector<std::string> kTexts = {"a photo of a cat.", "Hello, World! 123", "naïve café — 東京", "", "<|endoftext|>"};

fs::path folder(const std::string& name) {
    return fs::temp_directory_path() / ("contra_hf_tok_" + std::to_string(::getpid())) / name;
}
}  // namespace

TEST_CASE("hf tokenizer: CLIP's merges written as merges.txt + vocab.json read back to the same ids") {
    const std::string merges = CONTRA_SHARED_DIR "/data/bpe_simple_vocab_16e6.txt.gz";
    if (!std::ifstream(merges)) {
        test::skip("CLIP merges file not found at " CONTRA_SHARED_DIR "/data/bpe_simple_vocab_16e6.txt.gz");
        return;
    }
    const auto clip = Tokenizer::from_merges_file(merges);
    save_hf_tokenizer(clip, folder("clip"));
    const auto back = tokenizer_from_hf_folder(folder("clip"));
    CHECK(back.vocab_size() == 49408);
    CHECK(back.id("<|endoftext|>") == 49407);
    for (const auto& t : kTexts) CHECK(back.tokenize(t) == clip.tokenize(t));
    fs::remove_all(folder("").parent_path());
}

TEST_CASE("hf tokenizer: a learned vocabulary round-trips; disagreeing files are named") {
    const auto learned = learn_bpe({"a photo of a dress.", "a photo of a shirt.", "a bad photo of a bag."}, 540);
    save_hf_tokenizer(learned, folder("learned"));
    const auto back = tokenizer_from_hf_folder(folder("learned"));
    CHECK(back.vocab_size() == learned.vocab_size());
    for (const auto& t : kTexts) CHECK(back.tokenize(t, 16) == learned.tokenize(t, 16));

    // vocab.json with two ids swapped.
    auto vocab = nlohmann::json::parse(std::ifstream(folder("learned") / "vocab.json"));
    vocab["a</w>"] = vocab["b</w>"].get<int>();
    std::ofstream(folder("learned") / "vocab.json") << vocab.dump();
    CHECK_THROWS_WITH_AS(tokenizer_from_hf_folder(folder("learned")), doctest::Contains("'a</w>' has id"), Error);
    std::ofstream(folder("learned") / "vocab.json") << "{\"a\": 1}";
    CHECK_THROWS_WITH_AS(tokenizer_from_hf_folder(folder("learned")), doctest::Contains("has 1 tokens"), Error);
    std::ofstream(folder("learned") / "vocab.json") << "[1, 2";
    CHECK_THROWS_WITH_AS(tokenizer_from_hf_folder(folder("learned")), doctest::Contains("not valid JSON"), Error);
    fs::remove(folder("learned") / "vocab.json");
    CHECK_THROWS_WITH_AS(tokenizer_from_hf_folder(folder("learned")), doctest::Contains("needs merges.txt and vocab.json"), Error);
    fs::remove_all(folder("").parent_path());
}
