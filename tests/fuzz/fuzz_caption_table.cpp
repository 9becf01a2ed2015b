// fuzz_caption_table: parse_caption_table (the in-memory core of read_caption_table) and
// parse_csv_records on arbitrary text. The first byte picks the separator (auto, ',', '\t',
// ';', or that byte itself, which may be one the parser must refuse).
#include <contra/data/csv.hpp>

#include "fuzz_common.hpp"

using namespace contra;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const char choice = char(data[0]);
    const std::string_view text = fuzz::as_text(data + 1, size - 1);
    data::CaptionTableOptions options;
    switch (std::uint8_t(choice) % 8) {
        case 0: case 1: case 2: options.separator = data::kAutoSeparator; break;
        case 3: options.separator = ','; break;
        case 4: options.separator = '\t'; break;
        case 5: options.separator = ';'; break;
        default: options.separator = char(std::uint8_t(choice) >> 3); break;  // 0..31: controls, '\n', '\r', '\0'
    }
    if (std::uint8_t(choice) & 0x80) options.image_column = "image", options.caption_column = "caption";
    fuzz::accepts([&] {
        const auto rows = data::parse_caption_table(text, options, "fuzz.csv", "/data");
        for (const auto& row : rows)
            if (row.image.empty()) std::abort();
    });
    fuzz::accepts([&] {
        const char sep = options.separator == data::kAutoSeparator ? data::detect_separator(text) : options.separator;
        const auto records = data::parse_csv_records(text, sep, "fuzz.csv");
        std::size_t line = 0;
        for (const auto& r : records) {
            if (r.line <= line || r.fields.empty()) std::abort();  // lines ascend; a record has a field
            line = r.line;
        }
    });
    return 0;
}
