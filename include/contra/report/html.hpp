// contra/report/html.hpp — self-contained HTML pages: PNG images as data URIs (a small PNG
// writer over zlib), SVG documents inlined with their ids kept apart, tables, and a page whose
// Content-Security-Policy forbids scripts and every load but its own data URIs, so it opens the
// same offline, from a mail attachment or a browser's file:// URL.
// Text goes through xml_escape (svg.hpp), which is also right for HTML text and quoted attributes.
// defines: contra::report::{base64, png_bytes, png_data_uri, inline_svg, HtmlTable, render_html, HtmlPage}
#pragma once
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "svg.hpp"

namespace contra::report {

// base64(bytes): RFC 4648 base64 with padding.
inline std::string base64(std::string_view bytes) {
    static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 3; ++k) v = v << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
        for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kDigits[(v >> (18 - 6 * k)) & 63] : '=';
    }
    return out;
}

namespace detail {
inline void append_be32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out += char((v >> shift) & 0xff);
}
inline void append_png_chunk(std::string& out, const char (&type)[5], std::string_view data) {
    append_be32(out, std::uint32_t(data.size()));
    const std::size_t start = out.size();
    out.append(type, 4);
    out.append(data);
    const auto crc = crc32(0, reinterpret_cast<const Bytef*>(out.data() + start), uInt(out.size() - start));
    append_be32(out, std::uint32_t(crc));
}
}  // namespace detail

// png_bytes(width, height, channels, pixels): an 8-bit PNG file of row-major interleaved pixels
// (pixel (y, x) channel c at pixels[(y·width + x)·channels + c]); channels 1 grey, 2 grey+alpha,
// 3 RGB, 4 RGBA.
//   throws: Error unless width, height ≥ 1, channels in [1, 4] and pixels has width·height·channels bytes.
inline std::string png_bytes(int width, int height, int channels, std::span<const std::uint8_t> pixels) {
    CONTRA_CHECK(width >= 1 && height >= 1 && width <= (1 << 24) && height <= (1 << 24), "png_bytes: size ", width, "×",
                 height, " is not a picture");
    CONTRA_CHECK(channels >= 1 && channels <= 4, "png_bytes: ", channels, " channels; expected 1 to 4");
    const std::size_t row = std::size_t(width) * std::size_t(channels);
    CONTRA_CHECK(pixels.size() == row * std::size_t(height), "png_bytes: ", pixels.size(), " bytes for ", width, "×",
                 height, "×", channels, " pixels");
    std::string raw;  // each row after filter byte 0 (none)
    raw.reserve((row + 1) * std::size_t(height));
    for (int y = 0; y < height; ++y) {
        raw += '\0';
        raw.append(reinterpret_cast<const char*>(pixels.data()) + std::size_t(y) * row, row);
    }
    uLongf packed_size = compressBound(uLong(raw.size()));
    std::string packed(packed_size, '\0');
    CONTRA_CHECK(compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(raw.data()),
                           uLong(raw.size()), Z_BEST_COMPRESSION) == Z_OK,
                 "png_bytes: zlib could not compress ", raw.size(), " bytes");
    packed.resize(packed_size);

    static constexpr std::uint8_t kColourType[5] = {0, 0, 4, 2, 6};  // by channel count
    std::string header;
    detail::append_be32(header, std::uint32_t(width));
    detail::append_be32(header, std::uint32_t(height));
    header += char(8);                                   // bits per channel
    header += char(kColourType[channels]);
    header.append(3, '\0');                              // deflate, adaptive filters, no interlace
    std::string png = "\x89PNG\r\n\x1a\n";
    detail::append_png_chunk(png, "IHDR", header);
    detail::append_png_chunk(png, "IDAT", packed);
    detail::append_png_chunk(png, "IEND", {});
    return png;
}

// png_data_uri(...): png_bytes as a "data:image/png;base64,..." URI for an <img src>.
inline std::string png_data_uri(int width, int height, int channels, std::span<const std::uint8_t> pixels) {
    return "data:image/png;base64," + base64(png_bytes(width, height, channels, pixels));
}

// inline_svg(document, scope): an SVG document (render_svg's, or a file's) ready to sit in an
// HTML page: without its XML declaration, and with every id it defines (and every reference to
// one: url(#id), href="#id") prefixed by "scope-", so that two charts' ids never meet.
//   requires: scope unique within the page, made of letters, digits, '-' and '_'.
inline std::string inline_svg(std::string_view document, std::string_view scope) {
    if (document.substr(0, 5) == "<?xml") {
        const auto end = document.find("?>");
        document.remove_prefix(end == std::string_view::npos ? document.size() : end + 2);
    }
    while (!document.empty() && (document.front() == '\n' || document.front() == '\r' || document.front() == ' '))
        document.remove_prefix(1);
    std::vector<std::string> ids;
    for (std::size_t at = document.find(" id=\""); at != std::string_view::npos; at = document.find(" id=\"", at + 1)) {
        const std::size_t begin = at + 5, end = document.find('"', begin);
        if (end != std::string_view::npos) ids.emplace_back(document.substr(begin, end - begin));
    }
    std::string out(document);
    const auto replace_all = [&out](const std::string& from, const std::string& to) {
        for (std::size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size()))
            out.replace(at, from.size(), to);
    };
    const std::string prefix = std::string(scope) + "-";
    for (const auto& id : ids) {
        replace_all(" id=\"" + id + "\"", " id=\"" + prefix + id + "\"");
        replace_all("url(#" + id + ")", "url(#" + prefix + id + ")");
        replace_all("href=\"#" + id + "\"", "href=\"#" + prefix + id + "\"");
    }
    return out;
}

// HtmlTable: a table of text cells (escaped when rendered); rows marked in `highlighted` are
// shaded (class "differs").
struct HtmlTable {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::vector<bool> highlighted;  // empty, or one flag a row
};

// render_html(table): the <table> element.
//   throws: Error when a row has more cells than the header, or highlighted has another length.
inline std::string render_html(const HtmlTable& table) {
    CONTRA_CHECK(table.highlighted.empty() || table.highlighted.size() == table.rows.size(), "HTML table: ",
                 table.highlighted.size(), " highlight flags for ", table.rows.size(), " rows");
    std::string out = "<table>\n<thead><tr>";
    for (const auto& h : table.header) out += "<th>" + xml_escape(h) + "</th>";
    out += "</tr></thead>\n<tbody>\n";
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        const auto& row = table.rows[r];
        CONTRA_CHECK(row.size() <= table.header.size(), "HTML table: row ", r, " has ", row.size(), " cells for ",
                     table.header.size(), " columns");
        out += !table.highlighted.empty() && table.highlighted[r] ? "<tr class=\"differs\">" : "<tr>";
        for (const auto& cell : row) out += "<td>" + xml_escape(cell) + "</td>";
        out += "</tr>\n";
    }
    return out + "</tbody>\n</table>\n";
}

// HtmlPage: a title, a line under it, and sections (a heading and the HTML body a caller built,
// text escaped); render() gives the whole document, with a table of contents.
struct HtmlPage {
    std::string title;     // text
    std::string subtitle;  // text
    std::vector<std::pair<std::string, std::string>> sections;  // heading (text), body (HTML)

    void add(std::string heading, std::string body) { sections.emplace_back(std::move(heading), std::move(body)); }

    std::string render() const {
        std::string out =
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src "
            "'unsafe-inline'\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
            xml_escape(title) + "</title>\n<style>\n" + std::string(kStyle) + "</style>\n</head>\n<body>\n<h1>" +
            xml_escape(title) + "</h1>\n";
        if (!subtitle.empty()) out += "<p class=\"subtitle\">" + xml_escape(subtitle) + "</p>\n";
        if (sections.size() > 1) {
            out += "<nav>";
            for (std::size_t i = 0; i < sections.size(); ++i)
                out += "<a href=\"#section-" + std::to_string(i) + "\">" + xml_escape(sections[i].first) + "</a>";
            out += "</nav>\n";
        }
        for (std::size_t i = 0; i < sections.size(); ++i)
            out += "<section id=\"section-" + std::to_string(i) + "\">\n<h2>" + xml_escape(sections[i].first) + "</h2>\n" +
                   sections[i].second + "</section>\n";
        return out + "</body>\n</html>\n";
    }

    static constexpr std::string_view kStyle =
        "body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1240px;padding:0 16px;color:#222}\n"
        "h1{margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}\n"
        ".subtitle{color:#555;margin-top:0}nav a{margin-right:16px}\n"
        "table{border-collapse:collapse;font-size:14px}th,td{border:1px solid #ddd;padding:4px 10px;text-align:left}\n"
        "th{background:#f3f3f3}tbody tr:nth-child(even){background:#fafafa}tr.differs td{background:#fff3bf}\n"
        ".charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{max-width:100%;height:auto;border:1px solid #eee}\n"
        ".note{color:#666;font-size:13px}\n"
        ".gallery{display:flex;flex-wrap:wrap;gap:10px}\n"
        ".gallery figure{margin:0;width:150px;border:2px solid #ccc;border-radius:4px;padding:6px;font-size:12px}\n"
        ".gallery figure.correct{border-color:#59a14f}.gallery figure.wrong{border-color:#e15759}\n"
        ".gallery img{width:96px;height:96px;image-rendering:pixelated;display:block;margin:0 auto 4px}\n"
        ".gallery .mark{font-weight:bold}.gallery .correct .mark{color:#3b7d32}.gallery .wrong .mark{color:#c23b3d}\n"
        ".gallery ol{margin:4px 0 0;padding-left:18px}\n";
};

}  // namespace contra::report
