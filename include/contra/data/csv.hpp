// contra/data/csv.hpp — image–caption tables: a CSV or TSV file with one image path and its
// caption per row (open_clip's CsvDataset: tab-separated, columns "filepath" and "title").
// defines: contra::data::CaptionedPath, CaptionTableOptions, CsvRecord, kAutoSeparator,
//          parse_csv_records, detect_separator, parse_caption_table, read_caption_table
//
// Syntax (RFC 4180, read leniently where it costs nothing):
//   records end at LF, CRLF or a lone CR; fields are split at the separator;
//   a field that starts with '"' is quoted: it may hold separators and line breaks, and '""'
//   inside it is one '"'; a '"' elsewhere in an unquoted field is an ordinary character;
//   a UTF-8 byte order mark at the start is dropped; empty lines (anywhere) are skipped.
// Errors name the table and the line a record starts on: "CSV 'train.csv':12: ...".
#pragma once
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../core/config.hpp"

namespace contra::data {

// CaptionedPath: one row of a caption table.
struct CaptionedPath {
    std::filesystem::path image;  // absolute, or joined to the table's folder when relative
    std::string caption;          // verbatim (UTF-8 by convention; not validated here)
};

// kAutoSeparator: pick the separator from the header line (tab if it holds one, else comma).
inline constexpr char kAutoSeparator = '\0';

// CaptionTableOptions: which columns hold what, and how fields are separated.
struct CaptionTableOptions {
    std::string image_column = "filepath";  // open_clip's --csv-img-key
    std::string caption_column = "title";   // open_clip's --csv-caption-key
    char separator = kAutoSeparator;        // or ',', '\t', ';', ... (open_clip's --csv-separator)
};

// CsvRecord: the fields of one record and the (1-based) line it starts on.
struct CsvRecord {
    std::size_t line = 0;
    std::vector<std::string> fields;
};

namespace detail {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

inline bool is_line_end(char c) { return c == '\n' || c == '\r'; }

// skip_line_end(text, i): past one LF, CRLF or lone CR at i.  requires: is_line_end(text[i])
inline std::size_t skip_line_end(std::string_view text, std::size_t i) {
    return text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n' ? i + 2 : i + 1;
}

// printable(c): a character for a message, escaped when it is a control byte.
inline std::string printable(char c) {
    if (std::uint8_t(c) >= 0x20 && c != 0x7f) return std::string(1, c);
    static constexpr char hex[] = "0123456789abcdef";
    return std::string("\\x") + hex[std::uint8_t(c) >> 4] + hex[std::uint8_t(c) & 15];
}

// quoted_list(names): 'a', 'b', 'c'
inline std::string quoted_list(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t k = 0; k < names.size(); ++k) out += (k ? ", '" : "'") + names[k] + "'";
    return out.empty() ? "(none)" : out;
}

// find_column(header, name, role, source): the index of the one column called name.
//   throws: Error when there is no such column (listing the header's columns) or several.
inline std::size_t find_column(const CsvRecord& header, const std::string& name, const char* role,
                               std::string_view source) {
    const auto& cols = header.fields;
    const auto at = std::find(cols.begin(), cols.end(), name);
    CONTRA_CHECK(at != cols.end(), "CSV '", source, "':", header.line, ": no column '", name, "' (", role,
                 "); the header's columns are ", quoted_list(cols), " (choose others in CaptionTableOptions)");
    CONTRA_CHECK(std::find(at + 1, cols.end(), name) == cols.end(), "CSV '", source, "':", header.line,
                 ": column '", name, "' (", role, ") appears more than once in the header");
    return std::size_t(at - cols.begin());
}

}  // namespace detail

// parse_csv_records(text, separator, source): every non-empty record of text, in order.
//   requires: separator is not '"', CR or LF.  source names the text in messages.
//   throws:   Error "CSV 'source':LINE: ..." for a quote that never closes (LINE: where it
//             opened) and for characters after a closing quote other than a separator or a
//             line end (a quote inside a quoted field must be doubled).
inline std::vector<CsvRecord> parse_csv_records(std::string_view text, char separator,
                                                std::string_view source = "<string>") {
    CONTRA_CHECK(separator != '"' && !detail::is_line_end(separator) && separator != kAutoSeparator,
                 "CSV '", source, "': the separator cannot be '", detail::printable(separator), "'");
    if (text.starts_with(detail::kUtf8Bom)) text.remove_prefix(detail::kUtf8Bom.size());
    std::vector<CsvRecord> records;
    const std::size_t n = text.size();
    std::size_t i = 0, line = 1;
    while (i < n) {
        if (detail::is_line_end(text[i])) {  // an empty line
            i = detail::skip_line_end(text, i);
            ++line;
            continue;
        }
        CsvRecord record{line, {}};
        for (;;) {  // one field per pass
            std::string field;
            if (i < n && text[i] == '"') {
                const std::size_t opened = line;
                for (++i;; ++i) {
                    CONTRA_CHECK(i < n, "CSV '", source, "':", opened,
                                 ": unterminated quote (the quoted field opened on this line never closes)");
                    if (text[i] == '"') {
                        if (i + 1 < n && text[i + 1] == '"') {
                            field += '"';
                            ++i;
                            continue;
                        }
                        ++i;
                        break;
                    }
                    if (text[i] == '\n') ++line;
                    field += text[i];
                }
                CONTRA_CHECK(i == n || text[i] == separator || detail::is_line_end(text[i]), "CSV '", source, "':",
                             line, ": unexpected '", detail::printable(text[i]),
                             "' after a closing quote (a '\"' inside a quoted field must be written '\"\"')");
            } else {
                const std::size_t start = i;
                while (i < n && text[i] != separator && !detail::is_line_end(text[i])) ++i;
                field.assign(text.substr(start, i - start));
            }
            record.fields.push_back(std::move(field));
            if (i < n && text[i] == separator) {
                ++i;
                continue;
            }
            break;  // a line end or the end of the text
        }
        if (i < n) {
            i = detail::skip_line_end(text, i);
            ++line;
        }
        records.push_back(std::move(record));
    }
    return records;
}

// detect_separator(text): tab when the first line holds a tab, else comma.
inline char detect_separator(std::string_view text) {
    if (text.starts_with(detail::kUtf8Bom)) text.remove_prefix(detail::kUtf8Bom.size());
    const auto first_line = text.substr(0, text.find_first_of("\r\n"));
    return first_line.find('\t') != std::string_view::npos ? '\t' : ',';
}

// parse_caption_table(text, options, source, folder): the rows of a caption table held in text.
//   A header line names the columns; options says which hold the image path and the caption
//   (other columns are ignored). Relative image paths are joined to folder (unless it is empty).
//   ensures: one CaptionedPath per data row, in file order; a header alone gives none.
//   throws:  Error "CSV 'source':LINE: ..." for an empty table, a missing or repeated column
//            (listing the header's columns), a row whose field count differs from the header's,
//            an empty image path, and the syntax errors of parse_csv_records.
inline std::vector<CaptionedPath> parse_caption_table(std::string_view text, const CaptionTableOptions& options = {},
                                                      std::string_view source = "<string>",
                                                      const std::filesystem::path& folder = {}) {
    const char separator = options.separator == kAutoSeparator ? detect_separator(text) : options.separator;
    const auto records = parse_csv_records(text, separator, source);
    CONTRA_CHECK(!records.empty(), "CSV '", source, "':1: the table is empty, expected a header line naming the columns '",
                 options.image_column, "' and '", options.caption_column, "'");
    const CsvRecord& header = records.front();
    const std::size_t image_at = detail::find_column(header, options.image_column, "image paths", source);
    const std::size_t caption_at = detail::find_column(header, options.caption_column, "captions", source);

    std::vector<CaptionedPath> rows;
    rows.reserve(records.size() - 1);
    for (std::size_t r = 1; r < records.size(); ++r) {
        const CsvRecord& record = records[r];
        CONTRA_CHECK(record.fields.size() == header.fields.size(), "CSV '", source, "':", record.line, ": expected ",
                     header.fields.size(), " fields like the header, found ", record.fields.size(),
                     separator == ',' ? " (quote fields that contain commas)" : "");
        const std::string& image = record.fields[image_at];
        CONTRA_CHECK(!image.empty(), "CSV '", source, "':", record.line, ": empty image path in column '",
                     options.image_column, "'");
        std::filesystem::path path(image);
        if (path.is_relative() && !folder.empty()) path = folder / path;
        rows.push_back({std::move(path), record.fields[caption_at]});
    }
    return rows;
}

// read_caption_table(path, options): parse_caption_table over the file's bytes, with relative
// image paths resolved against the file's folder.
//   throws: Error naming the file when it is missing, not a regular file or unreadable, and
//           every error of parse_caption_table (naming the file and line).
inline std::vector<CaptionedPath> read_caption_table(const std::filesystem::path& path,
                                                     const CaptionTableOptions& options = {}) {
    const std::string name = path.string();
    std::error_code ec;
    CONTRA_CHECK(std::filesystem::is_regular_file(path, ec), "CSV '", name, "' does not exist or is not a file");
    std::ifstream in(path, std::ios::binary);
    CONTRA_CHECK(in.is_open(), "CSV '", name, "' cannot be opened for reading");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CONTRA_CHECK(!in.bad(), "CSV '", name, "': read error");
    return parse_caption_table(text, options, name, path.parent_path());
}

}  // namespace contra::data
