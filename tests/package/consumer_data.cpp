// contra::data: a BPE vocabulary learned from captions, a caption tokenized and decoded back.
#include <contra/data/bpe_learn.hpp>

#include <cstdio>

int main() {
    const std::vector<std::string> captions{"a photo of a red bicycle.", "a photo of a blue bicycle.", "a red car."};
    const auto tokenizer = contra::data::learn_bpe(captions, 600);
    const auto ids = tokenizer.tokenize("a red bicycle.", 16);
    const auto text = tokenizer.decode(ids);
    std::printf("contra::data: %zu ids, decoded '%s'\n", ids.size(), text.c_str());
    return text.find("red bicycle") != std::string::npos ? 0 : 1;
}
