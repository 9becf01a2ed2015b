// fuzz_bpe_merges: Tokenizer::from_merges_file on an arbitrary file (plain text or gzip); for an
// accepted file, encode/tokenize/decode of fixed text must not throw, and save_merges must read
// back to the same merges.
#include <contra/data/tokenizer.hpp>

#include "fuzz_common.hpp"

using namespace contra;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = fuzz::write_file("merges.txt", fuzz::as_text(data, size));
    std::optional<data::Tokenizer> tok;
    const int max_merges = size > 0 ? data[0] % 64 * 512 : 0;  // a cut anywhere in the file
    if (!fuzz::accepts([&] { tok.emplace(data::Tokenizer::from_merges_file(path.string(), max_merges)); })) return 0;
    for (std::string_view text : {"a photo of a cat.", "Hello, World! <|endoftext|> 123 don't", "\xff\xfe zz"}) {
        const auto ids = tok->encode(text);
        for (auto id : ids)
            if (id < 0 || id >= tok->vocab_size()) std::abort();
        (void)tok->decode(ids);
        const auto row = tok->tokenize(text, 8);
        if (row.size() != 8 || row[0] != tok->sot()) std::abort();
    }
    const auto saved = fuzz::scratch_dir() / "saved.txt";
    tok->save_merges(saved.string());
    const auto back = data::Tokenizer::from_merges_file(saved.string(), int(tok->merges().size()));
    if (back.merges() != tok->merges()) std::abort();
    return 0;
}
