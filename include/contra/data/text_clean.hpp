// contra/data/text_clean.hpp — the text side of CLIP's tokenizer before BPE: UTF-8 decoding,
// cleaning (a documented subset of ftfy, html.unescape, whitespace, lowercase) and the
// pre-tokenizer that splits cleaned text into the pieces BPE sees.
// defines: contra::data::clean_text, contra::data::pre_tokenize, contra::data::detail::text::*
#pragma once
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../core/config.hpp"

namespace contra::data {
namespace detail::text {

// ── UTF-8 ────────────────────────────────────────────────────────────────────────────────────

// utf8_decode(bytes): the code points of bytes. Never throws: every ill-formed subsequence
// (stray continuation byte, truncated sequence, overlong form, surrogate, > U+10FFFF) becomes
// one U+FFFD per maximal subpart, the rule of Unicode §3.9 and of Python's errors="replace".
inline std::u32string utf8_decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        const unsigned char b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            out.push_back(b);
            ++i;
            continue;
        }
        int len = 0;
        char32_t cp = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the next byte (Table 3-7)
        if (b >= 0xC2 && b <= 0xDF) {
            len = 2, cp = b & 0x1Fu;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3, cp = b & 0x0Fu;
            if (b == 0xE0) lo = 0xA0;  // no overlongs
            if (b == 0xED) hi = 0x9F;  // no surrogates
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4, cp = b & 0x07u;
            if (b == 0xF0) lo = 0x90;  // no overlongs
            if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
        } else {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        int k = 1;
        for (; k < len && j < n; ++k, ++j) {
            const unsigned char c = static_cast<unsigned char>(s[j]);
            if (c < lo || c > hi) break;
            cp = (cp << 6) | (c & 0x3Fu);
            lo = 0x80, hi = 0xBF;
        }
        out.push_back(k == len ? cp : char32_t(0xFFFD));
        i = j;  // an offending byte is not consumed: it starts the next sequence
    }
    return out;
}

// utf8_append(out, cp): append the UTF-8 form of one valid code point.
inline void utf8_append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    }
}

inline std::string utf8_encode(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) utf8_append(out, c);
    return out;
}

// ── character classes ─────────────────────────────────────────────────────────────────────────

// is_space(c): Python's str.isspace, which is what `\s` means in the reference's cleaning step.
inline bool is_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

inline utf8proc_category_t category(char32_t c) { return utf8proc_category(utf8proc_int32_t(c)); }

// \p{L}: Lu Ll Lt Lm Lo.
inline bool is_letter(char32_t c) {
    switch (category(c)) {
        case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: return true;
        default: return false;
    }
}

// \p{N}: Nd Nl No.
inline bool is_number(char32_t c) {
    switch (category(c)) {
        case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO: return true;
        default: return false;
    }
}

// ── HTML character references (Python's html.unescape, with a table of common names) ─────────

struct NamedEntity {
    const char* name;  // without '&' and ';'
    char32_t cp;
    bool legacy;  // HTML5 also accepts it without the ';'
};

inline const std::vector<NamedEntity>& named_entities() {
    static const std::vector<NamedEntity> table = [] {
        std::vector<NamedEntity> t = {
            {"amp", '&', true},      {"lt", '<', true},       {"gt", '>', true},       {"quot", '"', true},
            {"AMP", '&', true},      {"LT", '<', true},       {"GT", '>', true},       {"QUOT", '"', true},
            {"COPY", 0xA9, true},    {"REG", 0xAE, true},     {"apos", '\'', false},   {"hellip", 0x2026, false},
            {"mdash", 0x2014, false}, {"ndash", 0x2013, false}, {"lsquo", 0x2018, false}, {"rsquo", 0x2019, false},
            {"sbquo", 0x201A, false}, {"ldquo", 0x201C, false}, {"rdquo", 0x201D, false}, {"bdquo", 0x201E, false},
            {"lsaquo", 0x2039, false}, {"rsaquo", 0x203A, false}, {"trade", 0x2122, false}, {"euro", 0x20AC, false},
            {"bull", 0x2022, false},  {"dagger", 0x2020, false}, {"Dagger", 0x2021, false}, {"permil", 0x2030, false},
            {"prime", 0x2032, false}, {"Prime", 0x2033, false}, {"larr", 0x2190, false},  {"uarr", 0x2191, false},
            {"rarr", 0x2192, false},  {"darr", 0x2193, false},  {"harr", 0x2194, false},  {"minus", 0x2212, false},
            {"ne", 0x2260, false},    {"le", 0x2264, false},    {"ge", 0x2265, false},    {"infin", 0x221E, false},
            {"hearts", 0x2665, false}, {"ensp", 0x2002, false}, {"emsp", 0x2003, false},  {"thinsp", 0x2009, false},
            {"zwnj", 0x200C, false},  {"zwj", 0x200D, false},   {"OElig", 0x152, false},  {"oelig", 0x153, false},
            {"Scaron", 0x160, false}, {"scaron", 0x161, false}, {"Yuml", 0x178, false},   {"fnof", 0x192, false},
            {"circ", 0x2C6, false},   {"tilde", 0x2DC, false},
        };
        // U+00A0..U+00FF: all 96 Latin-1 names, in code point order; all are legacy names.
        static const char* latin1[96] = {
            "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo",
            "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
            "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",
            "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute",
            "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash",
            "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde",
            "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc",
            "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave",
            "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml"};
        for (int i = 0; i < 96; ++i) t.push_back({latin1[i], char32_t(0xA0 + i), true});
        return t;
    }();
    return table;
}

// find_entity(name, with_semicolon): the entity `&name;` (or legacy `&name`), or nullptr.
inline const NamedEntity* find_entity(std::u32string_view name, bool with_semicolon) {
    static const std::unordered_map<std::u32string, const NamedEntity*> by_name = [] {
        std::unordered_map<std::u32string, const NamedEntity*> m;
        for (const auto& e : named_entities()) m.emplace(std::u32string(e.name, e.name + std::strlen(e.name)), &e);
        return m;
    }();
    if (name.size() > 8) return nullptr;  // longer than any name in the table
    auto it = by_name.find(std::u32string(name));
    if (it == by_name.end() || (!with_semicolon && !it->second->legacy)) return nullptr;
    return it->second;
}

// Windows-1252 for bytes 0x80..0x9F; the five undefined bytes keep their Latin-1 code point.
inline char32_t cp1252_c1(char32_t c) {
    static constexpr char32_t table[32] = {
        0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D,   0x017D, 0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};
    return (c >= 0x80 && c <= 0x9F) ? table[c - 0x80] : c;
}

// numeric_reference(value, out): Python's rules for `&#N;` (value saturates above 0x10FFFF).
inline void numeric_reference(std::uint64_t v, std::u32string& out) {
    if (v == 0) return out.push_back(0xFFFD);
    if (v == 0x0D) return out.push_back(0x0D);
    if (v >= 0x80 && v <= 0x9F) return out.push_back(cp1252_c1(char32_t(v)));
    if ((v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) return out.push_back(0xFFFD);
    const bool invalid = (v >= 0x01 && v <= 0x08) || v == 0x0B || (v >= 0x0E && v <= 0x1F) || (v >= 0x7F && v <= 0x9F) ||
                         (v >= 0xFDD0 && v <= 0xFDEF) || (v & 0xFFFE) == 0xFFFE;
    if (!invalid) out.push_back(char32_t(v));  // invalid code points are dropped
}

// html_unescape(s): one pass of Python's html.unescape. Numeric references follow it exactly;
// named references are resolved from named_entities() (the 106 HTML5 names that may omit ';',
// plus common typographic ones). A name outside the table is left as text, except that, as in
// Python, a legacy name that prefixes it is still replaced ("&ampfoo" → "&foo").
// requires: nothing; ensures: linear time.
inline std::u32string html_unescape(std::u32string_view s) {
    std::u32string out;
    out.reserve(s.size());
    const std::size_t n = s.size();
    auto is_digit = [](char32_t c) { return c >= '0' && c <= '9'; };
    auto hex_value = [](char32_t c) -> int {
        if (c >= '0' && c <= '9') return int(c - '0');
        if (c >= 'a' && c <= 'f') return int(c - 'a' + 10);
        if (c >= 'A' && c <= 'F') return int(c - 'A' + 10);
        return -1;
    };
    auto name_char = [](char32_t c) {
        return !(c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';');
    };
    std::size_t i = 0;
    while (i < n) {
        if (s[i] != '&') {
            out.push_back(s[i++]);
            continue;
        }
        std::size_t j = i + 1;
        if (j < n && s[j] == '#') {  // &#123; or &#x1F;  (';' optional)
            ++j;
            const bool hex = j < n && (s[j] == 'x' || s[j] == 'X');
            if (hex) ++j;
            const std::size_t digits = j;
            std::uint64_t v = 0;
            while (j < n && (hex ? hex_value(s[j]) >= 0 : is_digit(s[j]))) {
                v = std::min<std::uint64_t>(v * (hex ? 16 : 10) + std::uint64_t(hex ? hex_value(s[j]) : int(s[j] - '0')),
                                            0x7FFFFFFFull);
                ++j;
            }
            if (j == digits) {  // "&#" or "&#x" without digits: not a reference
                out.push_back(s[i++]);
                continue;
            }
            if (j < n && s[j] == ';') ++j;
            numeric_reference(v, out);
            i = j;
            continue;
        }
        while (j < n && j - (i + 1) < 32 && name_char(s[j])) ++j;  // the name: 1..32 characters
        if (j == i + 1) {
            out.push_back(s[i++]);
            continue;
        }
        const std::u32string_view name = s.substr(i + 1, j - (i + 1));
        const bool semicolon = j < n && s[j] == ';';
        if (const NamedEntity* e = find_entity(name, semicolon)) {
            out.push_back(e->cp);
            i = j + (semicolon ? 1 : 0);
            continue;
        }
        // The longest legacy name that is a proper prefix (at least 2 characters) of name+';'.
        const std::size_t matched = name.size() + (semicolon ? 1 : 0);
        bool replaced = false;
        for (std::size_t len = std::min(matched - 1, name.size()); len >= 2; --len) {
            if (const NamedEntity* e = find_entity(name.substr(0, len), false)) {
                out.push_back(e->cp);
                out.append(s.substr(i + 1 + len, matched - len));
                replaced = true;
                break;
            }
        }
        if (!replaced) out.append(s.substr(i, 1 + matched));
        i += 1 + matched;
    }
    return out;
}

// ── the ftfy subset ──────────────────────────────────────────────────────────────────────────

// nfkc_single(c): NFKC of one code point (used for the half/full-width table).
inline std::u32string nfkc_single(char32_t c) {
    std::string in;
    utf8_append(in, c);
    utf8proc_uint8_t* mapped = nullptr;
    const auto len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(in.data()), utf8proc_ssize_t(in.size()), &mapped,
                                  utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
    std::u32string out = len < 0 ? std::u32string(1, c) : utf8_decode({reinterpret_cast<const char*>(mapped), std::size_t(len)});
    std::free(mapped);
    return out;
}

// width_form(c): ftfy's width map: U+3000 → space, U+FF01..U+FFEF → their NFKC forms.
inline const std::u32string* width_form(char32_t c) {
    static const std::vector<std::u32string> table = [] {
        std::vector<std::u32string> t;
        for (char32_t x = 0xFF01; x < 0xFFF0; ++x) t.push_back(nfkc_single(x));
        return t;
    }();
    static const std::u32string space = U" ";
    if (c == 0x3000) return &space;
    if (c >= 0xFF01 && c < 0xFFF0) {
        const std::u32string& m = table[c - 0xFF01];
        return (m.size() == 1 && m[0] == c) ? nullptr : &m;
    }
    return nullptr;
}

// ligature(c): ftfy's Latin ligatures (ﬁ → fi …), or nullptr.
inline const char32_t* ligature(char32_t c) {
    switch (c) {
        case 0x132: return U"IJ";
        case 0x133: return U"ij";
        case 0xFB00: return U"ff";
        case 0xFB01: return U"fi";
        case 0xFB02: return U"fl";
        case 0xFB03: return U"ffi";
        case 0xFB04: return U"ffl";
        case 0xFB05: return U"\u017Ft";
        case 0xFB06: return U"st";
        default: return nullptr;
    }
}

// ftfy's remove_control_chars set: C0 controls but \t \n \f \r, DEL, deprecated format
// characters U+206A..206F, the BOM U+FEFF, interlinear annotation and U+FFFC.
inline bool is_stray_control(char32_t c) {
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// fix_characters(s): the per-character part of ftfy.fix_text, in ftfy's order: C1 controls read
// as Windows-1252, Latin ligatures split, width forms standardised, curly quotes uncurled
// (U+2018..201B → ', U+201C..201F → "), stray control characters removed.
inline std::u32string fix_characters(std::u32string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (char32_t c : s) {
        c = cp1252_c1(c);
        if (const char32_t* lig = ligature(c)) {
            out += lig;
        } else if (const std::u32string* w = width_form(c)) {
            out += *w;
        } else {
            if (c >= 0x2018 && c <= 0x201B) c = '\'';
            else if (c >= 0x201C && c <= 0x201F) c = '"';
            if (!is_stray_control(c)) out.push_back(c);
        }
    }
    return out;
}

// nfc(s): canonical composition (utf8proc). utf8proc sorts each run of combining marks with an
// insertion sort, quadratic in the run length, so a run is cut into blocks of 32 marks (Unicode's
// stream-safe format allows 30); only text with more than 32 marks in a row can differ from NFC.
// ensures: linear time.
inline std::u32string nfc(const std::u32string& s) {
    if (std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x300; })) return s;  // nothing composes
    std::u32string out;
    out.reserve(s.size());
    auto flush = [&](std::size_t begin, std::size_t end) {
        if (begin == end) return;
        const std::string in = utf8_encode(std::u32string_view(s).substr(begin, end - begin));
        utf8proc_uint8_t* mapped = nullptr;
        const auto len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(in.data()), utf8proc_ssize_t(in.size()),
                                      &mapped, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
        if (len < 0) out.append(s, begin, end - begin);  // cannot happen for valid input; keep the text
        else out += utf8_decode({reinterpret_cast<const char*>(mapped), std::size_t(len)});
        std::free(mapped);
    };
    std::size_t begin = 0;
    int marks = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (utf8proc_get_property(utf8proc_int32_t(s[i]))->combining_class == 0) {
            marks = 0;
        } else if (++marks > 32) {
            flush(begin, i);
            begin = i;
            marks = 1;
        }
    }
    flush(begin, s.size());
    return out;
}

// ── lowercase (Python's str.lower) ───────────────────────────────────────────────────────────

inline bool is_cased(char32_t c) {
    const auto cat = category(c);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

inline bool is_case_ignorable(char32_t c) {
    switch (category(c)) {
        case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF:
        case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_SK: return true;
        default: break;
    }
    return c == '\'' || c == '.' || c == ':' || c == 0xB7 || c == 0x387 || c == 0x5F4 || c == 0x2018 || c == 0x2019 ||
           c == 0x2024 || c == 0x2027 || c == 0xFE13 || c == 0xFE52 || c == 0xFE55 || c == 0xFF07 || c == 0xFF0E ||
           c == 0xFF1A;
}

// final_sigma(s, i): Σ at i ends a word (Unicode's Final_Sigma context), so it lowercases to ς.
inline bool final_sigma(const std::u32string& s, std::size_t i) {
    std::size_t j = i;
    while (j > 0 && is_case_ignorable(s[j - 1])) --j;
    if (j == 0 || !is_cased(s[j - 1])) return false;
    std::size_t k = i + 1;
    while (k < s.size() && is_case_ignorable(s[k])) ++k;
    return k == s.size() || !is_cased(s[k]);
}

// lowercase(s): the full lowercase mapping: simple mappings, İ → i̇, and the final sigma rule
// (its Cased and Case_Ignorable properties approximated from general categories).
inline std::u32string lowercase(const std::u32string& s) {
    std::u32string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char32_t c = s[i];
        if (c < 0x80) out.push_back((c >= 'A' && c <= 'Z') ? c + 32 : c);
        else if (c == 0x130) out += U"i\u0307";
        else if (c == 0x3A3) out.push_back(final_sigma(s, i) ? 0x3C2 : 0x3C3);
        else out.push_back(char32_t(utf8proc_tolower(utf8proc_int32_t(c))));
    }
    return out;
}

// collapse_whitespace(s): runs of whitespace become one space; leading/trailing ones go.
inline std::u32string collapse_whitespace(const std::u32string& s) {
    std::u32string out;
    out.reserve(s.size());
    bool pending = false;
    for (char32_t c : s) {
        if (is_space(c)) {
            pending = !out.empty();
            continue;
        }
        if (pending) out.push_back(' ');
        pending = false;
        out.push_back(c);
    }
    return out;
}

// clean(text): the cleaning step on code points (see contra::data::clean_text).
inline std::u32string clean(std::string_view text) {
    std::u32string s = utf8_decode(text);
    if (s.find(U'&') != std::u32string::npos) s = html_unescape(html_unescape(s));
    s = fix_characters(s);
    s = nfc(s);
    s = collapse_whitespace(s);
    return lowercase(s);
}

// ── pre-tokenizer ────────────────────────────────────────────────────────────────────────────

inline constexpr std::u32string_view kStartText = U"<|startoftext|>";
inline constexpr std::u32string_view kEndText = U"<|endoftext|>";

// same_ignoring_case(s, at, word): the reference's IGNORECASE match of an ASCII literal on
// lowercased text; only 'ſ' (U+017F) still differs from its case-fold ('s').
inline bool same_ignoring_case(const std::u32string& s, std::size_t at, std::u32string_view word) {
    if (s.size() - at < word.size()) return false;
    for (std::size_t k = 0; k < word.size(); ++k) {
        const char32_t c = s[at + k] == 0x17F ? U's' : s[at + k];
        const char32_t w = (word[k] >= 'A' && word[k] <= 'Z') ? word[k] + 32 : word[k];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != w) return false;
    }
    return true;
}

// for_each_piece(s, f): the pieces of the reference pattern, left to right, as views into s:
//   <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+
// (first alternative that matches at a position wins; whitespace between pieces is skipped).
// f(piece) returns false to stop early.  ensures: linear time.
template <class F>
void for_each_piece(const std::u32string& s, F&& f) {
    static constexpr std::u32string_view contractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
    const std::u32string_view view(s);
    std::size_t i = 0;
    while (i < s.size()) {
        const char32_t c = s[i];
        std::size_t end = i;
        if (is_space(c)) {
            ++i;
            continue;
        }
        if (c == '<' && (same_ignoring_case(s, i, kStartText) || same_ignoring_case(s, i, kEndText))) {
            end = i + (same_ignoring_case(s, i, kStartText) ? kStartText.size() : kEndText.size());
        } else if (c == '\'') {
            for (auto word : contractions)
                if (same_ignoring_case(s, i, word)) {
                    end = i + word.size();
                    break;
                }
        }
        if (end == i) {
            if (is_letter(c)) {
                while (end < s.size() && is_letter(s[end])) ++end;
            } else if (is_number(c)) {
                end = i + 1;
            } else {
                while (end < s.size() && !is_space(s[end]) && !is_letter(s[end]) && !is_number(s[end])) ++end;
            }
        }
        if (!f(view.substr(i, end - i))) return;
        i = end;
    }
}

inline bool is_special(std::u32string_view piece) { return piece == kStartText || piece == kEndText; }

}  // namespace detail::text

// clean_text(text): the reference's cleaning, as UTF-8. Steps:
//   1. Decode UTF-8; invalid bytes become U+FFFD (never throws).
//   2. html.unescape twice: numeric references exactly as Python; named ones from a table of
//      common names (every name HTML5 accepts without ';', plus typographic ones like &hellip;).
//   3. The subset of ftfy.fix_text done here: C1 controls read as Windows-1252, Latin ligatures
//      split (ﬁ → fi), half/full-width forms to standard width, curly quotes uncurled, stray
//      control characters removed (NUL, BOM, …; \t \n \r \f stay), NFC.
//      Not done: mojibake repair, terminal escapes, surrogate pairs; ftfy's own entity pass is
//      covered by step 2 (which runs first, so "&#8217;" is uncurled too).
//   4. Whitespace runs (Python's isspace) collapse to one space; the ends are stripped.
//   5. Lowercase as Python's str.lower (final sigma, İ → i̇).
// ensures: linear time in text.size().
inline std::string clean_text(std::string_view text) { return detail::text::utf8_encode(detail::text::clean(text)); }

// pre_tokenize(text): the pieces that BPE sees, for text that went through clean_text (applied
// to raw text it splits it the same way but keeps the case). "you're 12!" → you 're 1 2 !
inline std::vector<std::string> pre_tokenize(std::string_view cleaned) {
    std::vector<std::string> pieces;
    detail::text::for_each_piece(detail::text::utf8_decode(cleaned), [&](std::u32string_view p) {
        pieces.push_back(detail::text::utf8_encode(p));
        return true;
    });
    return pieces;
}

}  // namespace contra::data
