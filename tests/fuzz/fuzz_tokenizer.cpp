// fuzz_tokenizer: the CLIP tokenizer on arbitrary bytes. The tokenizer is CLIP's own merges file
// (../shared/data/bpe_simple_vocab_16e6.txt.gz) when present, else merges learned in-process
// with learn_bpe from a small caption corpus. encode/tokenize are documented never to throw on
// any bytes, so nothing is caught around them: any exception is a finding. Inputs starting
// with 0xFF instead learn a BPE from the input's lines (learn_bpe on arbitrary text).
#include <contra/data/bpe_learn.hpp>
#include <contra/data/text_clean.hpp>
#include <contra/data/tokenizer.hpp>

#include "fuzz_common.hpp"

using namespace contra;

namespace {

const data::Tokenizer& tokenizer() {
    static const data::Tokenizer tok = [] {
        const std::string clip = CONTRA_SHARED_DIR "/data/bpe_simple_vocab_16e6.txt.gz";
        if (std::filesystem::exists(clip)) return data::Tokenizer::from_merges_file(clip);
        std::vector<std::string> corpus;
        for (const char* c : {"a photo of a cat.", "a blurry photo of a dog!", "an image of the Eiffel Tower, 1889",
                              "naïve café — résumé", "東京の夜景", "a close-up photo of a t-shirt (red)", "don't stop"})
            for (int i = 0; i < 3; ++i) corpus.push_back(c);
        return data::learn_bpe(corpus, 514 + 200);
    }();
    return tok;
}

void check_row(const data::Tokenizer& tok, std::string_view text, int context) {
    const auto row = tok.tokenize(text, context);
    if (row.size() != std::size_t(context) || row[0] != tok.sot()) std::abort();
    std::size_t last = 0;  // the last non-padding id must be eot
    for (std::size_t i = 1; i < row.size(); ++i) {
        if (row[i] < 0 || row[i] >= tok.vocab_size()) std::abort();
        if (row[i] != 0) last = i;
    }
    if (row[last] != tok.eot()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    if (size > 0 && data[0] == 0xFF) {
        std::vector<std::string> lines;
        for (std::size_t from = 1; from <= size;) {
            std::size_t end = text.find('\n', from);
            if (end == std::string_view::npos) end = size;
            lines.emplace_back(text.substr(from, end - from));
            from = end + 1;
        }
        const auto learned = data::learn_bpe(lines, 514 + 64);
        for (const auto& line : lines) {
            const auto ids = learned.encode(line);
            (void)learned.decode(ids);
        }
        return 0;
    }
    const auto& tok = tokenizer();
    const auto ids = tok.encode(text);
    for (auto id : ids)
        if (id < 0 || id >= tok.vocab_size()) std::abort();
    (void)tok.decode(ids);
    check_row(tok, text, data::kClipContextLength);
    check_row(tok, text, 2);
    (void)data::clean_text(text);
    (void)data::pre_tokenize(data::clean_text(text));
    // Decoding any in-range ids (read from the input) must not throw either.
    std::vector<std::int32_t> raw;
    for (std::size_t i = 0; i + 1 < size && raw.size() < 64; i += 2)
        raw.push_back(std::int32_t((data[i] | (data[i + 1] << 8)) % tok.vocab_size()));
    (void)tok.decode(raw);
    return 0;
}
