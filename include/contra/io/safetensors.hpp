// contra/io/safetensors.hpp — read and write the safetensors format (huggingface/safetensors).
// defines: contra::io::SafetensorsFile, SafetensorsWriter, TensorInfo, Convert, kMaxHeaderBytes
//
// A file is   [N: u64 little-endian][N bytes of UTF-8 JSON][data buffer]   with the header
//   {"__metadata__": {"key": "value", ...},                                  (optional, string -> string)
//    "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, ...}
// [BEGIN, END) counts bytes from the start of the data buffer. Tensors are row-major and
// little-endian, and together they tile the data buffer exactly: no gaps, overlaps or trailing bytes.
// Reading is strict about all of that and lenient about whitespace; writing is strict.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>
#include <zlib.h>

#include "../core/tensor.hpp"
#include "../core/atomic_file.hpp"

static_assert(std::endian::native == std::endian::little, "contra's safetensors I/O assumes a little-endian host");

namespace contra::io {

inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // as upstream: larger is HeaderTooLarge

// Convert::allow lets get<T>() change the element type: among F64/F32/BF16/F16, or among
// I64/I32/U8 (values must fit). Without it the stored dtype must be T's.
// How get<T> treats a tensor stored in another type: refuse it (exact), convert it when T holds
// every value exactly (widen: BF16/F16 → F32/F64, F32 → F64, U8 → I32/I64, I32 → I64), or
// convert within its kind, rounding if need be (allow).
enum class Convert { exact, widen, allow };

// widens(from, to): every value of `from` is exactly a value of `to`.
constexpr bool widens(DType from, DType to) {
    switch (from) {
        case DType::bf16: case DType::f16: return to == DType::f32 || to == DType::f64;
        case DType::f32: return to == DType::f64;
        case DType::u8: return to == DType::i32 || to == DType::i64;
        case DType::i32: return to == DType::i64;
        default: return false;
    }
}

struct TensorInfo {
    DType dtype = DType::f32;
    Shape shape;
    std::uint64_t begin = 0, end = 0;  // [begin, end): bytes in the data buffer
    std::uint64_t bytes() const { return end - begin; }
};

namespace detail {

// CRC-32 (zlib's) of n bytes, continuing from crc; as 8 lower-case hex digits.
inline std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) {
    const auto* p = static_cast<const Bytef*>(data);
    while (n > 0) {  // zlib takes uInt lengths
        const uInt step = uInt(std::min<std::size_t>(n, std::size_t(1) << 30));
        crc = std::uint32_t(::crc32(crc, p, step));
        p += step;
        n -= step;
    }
    return crc;
}
inline std::string hex32(std::uint32_t v) {
    char text[9];
    std::snprintf(text, sizeof text, "%08x", v);
    return text;
}

inline std::optional<DType> dtype_from_name(std::string_view name) {
    for (DType t : {DType::f64, DType::f32, DType::bf16, DType::f16, DType::i64, DType::i32, DType::u8})
        if (dtype_name(t) == name) return t;
    return std::nullopt;
}
inline bool is_safetensors_dtype(std::string_view name) {  // the format's full list (upstream tensor.rs)
    for (std::string_view known : {"BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
                                   "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
                                   "C64", "F64", "I64", "U64"})
        if (known == name) return true;
    return false;
}

// The offset of the first byte that is not part of well-formed UTF-8, or npos.
inline std::size_t invalid_utf8_at(std::string_view s) {
    static constexpr std::uint32_t min_code[] = {0, 0x80, 0x800, 0x10000};  // shortest form per length
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) { ++i; continue; }
        const std::size_t more = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
        if (more == 0 || i + more >= s.size()) return i;
        std::uint32_t code = c & (0x3Fu >> more);
        for (std::size_t k = 1; k <= more; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return i;
            code = (code << 6) | (cc & 0x3Fu);
        }
        if (code < min_code[more] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
        i += more + 1;
    }
    return std::string_view::npos;
}

template <class... Parts>
[[noreturn]] void bad_file(const std::string& source, Parts&&... parts) {
    throw Error(contra::detail::concat("safetensors file '", source, "': ", std::forward<Parts>(parts)...));
}

// HeaderParser: a SAX handler that builds TensorInfo records straight from the JSON events, so
// memory stays proportional to the header text and every error can name its tensor.
class HeaderParser {
public:
    using json = nlohmann::json;
    std::map<std::string, TensorInfo, std::less<>> tensors;
    std::map<std::string, std::string> metadata;

    explicit HeaderParser(const std::string& source) : source_(source) {}

    bool start_object(std::size_t) { return open(Ctx::entry, "an object"); }
    bool start_array(std::size_t) { return open(Ctx::array, "an array"); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(std::string& k) {
        if (stack_.back() == Ctx::root) {
            if (tensors.count(k) || (k == "__metadata__" && seen_metadata_)) bad("duplicate entry \"", k, "\" in the header");
            name_ = k;
        } else if (stack_.back() == Ctx::metadata) {
            if (metadata.count(k)) bad("duplicate key \"", k, "\" in __metadata__");
            name_ = k;
        } else if (stack_.back() == Ctx::entry) {
            field_ = k == "dtype" ? 0 : k == "shape" ? 1 : k == "data_offsets" ? 2 : 3;  // 3: ignored
            if (field_ < 3 && (seen_ & (1u << field_))) bad(tensor(), "field \"", k, "\" appears twice");
            if (field_ < 3) seen_ |= 1u << field_;
        }
        return true;
    }
    bool string(std::string& s) {
        if (stack_.empty() || stack_.back() != Ctx::entry || field_ != 0) return scalar("a string", s);
        if (!is_safetensors_dtype(s)) bad(tensor(), "unknown dtype \"", s, "\" (expected F64, F32, BF16, F16, I64, I32 or U8)");
        const auto t = dtype_from_name(s);
        if (!t) bad(tensor(), "dtype ", s, " is not supported by contra (expected F64, F32, BF16, F16, I64, I32 or U8)");
        info_.dtype = *t;
        return true;
    }
    bool number_unsigned(std::uint64_t v) {
        if (stack_.empty() || stack_.back() != Ctx::array) return scalar("a number", std::to_string(v));
        if (v > std::uint64_t(std::numeric_limits<std::int64_t>::max())) bad_integer(got("a number", std::to_string(v)));
        if (field_ == 1) {
            if (info_.shape.rank() == Shape::kMaxRank) bad(tensor(), "shape has more than ", Shape::kMaxRank, " dimensions");
            info_.shape.push(std::int64_t(v));
        } else {
            if (offsets_ == 2) bad(tensor(), "data_offsets must hold exactly 2 integers [BEGIN, END]");
            (offsets_++ == 0 ? info_.begin : info_.end) = v;
        }
        return true;
    }
    bool number_integer(std::int64_t v) { return v >= 0 ? number_unsigned(std::uint64_t(v)) : scalar("a number", std::to_string(v)); }
    bool number_float(double, const std::string& text) { return scalar("a number", text); }
    bool boolean(bool v) { return scalar("a boolean", v ? "true" : "false"); }
    bool null() { return scalar("null", ""); }
    bool binary(json::binary_t&) { return scalar("binary data", ""); }
    bool parse_error(std::size_t, const std::string&, const json::exception& e) {
        bad("the header is not valid JSON: ", e.what());
    }

private:
    // What the innermost open container is. `skip`: the value of a field contra does not read.
    enum class Ctx { root, metadata, entry, array, skip };

    template <class... Parts>
    [[noreturn]] void bad(Parts&&... parts) const { bad_file(source_, std::forward<Parts>(parts)...); }
    std::string tensor() const { return "tensor \"" + name_ + "\": "; }
    std::string field_name() const { return field_ == 0 ? "dtype" : field_ == 1 ? "shape" : "data_offsets"; }
    static std::string got(const char* what, const std::string& text) {
        return std::string("got ") + what + (text.empty() ? "" : " " + text);
    }
    [[noreturn]] void bad_integer(const std::string& got) const {
        bad(tensor(), field_name(), " entries must be integers in [0, 2^63), ", got);
    }

    bool open(Ctx kind, const char* what) {
        if (stack_.empty()) {
            if (kind != Ctx::entry) bad("the header must be a JSON object, got ", what);
            stack_.push_back(Ctx::root);
        } else if (stack_.back() == Ctx::root) {
            if (name_ == "__metadata__") {
                if (kind != Ctx::entry) bad("__metadata__ must be an object of strings, got ", what);
                seen_metadata_ = true;
                stack_.push_back(Ctx::metadata);
            } else {
                if (kind != Ctx::entry) bad(tensor(), "expected an object {dtype, shape, data_offsets}, got ", what);
                info_ = TensorInfo{};
                seen_ = offsets_ = 0;
                stack_.push_back(Ctx::entry);
            }
        } else if (stack_.back() == Ctx::entry && field_ == 3) {
            stack_.push_back(Ctx::skip);
        } else if (stack_.back() == Ctx::entry && field_ > 0 && kind == Ctx::array) {
            stack_.push_back(Ctx::array);
        } else if (stack_.back() == Ctx::skip) {
            stack_.push_back(Ctx::skip);
        } else {
            scalar(what, "");
        }
        return true;
    }
    bool close() {
        const Ctx done = stack_.back();
        stack_.pop_back();
        if (done == Ctx::entry) {
            for (unsigned f = 0; f < 3; ++f)
                if (!(seen_ & (1u << f))) {
                    field_ = f;
                    bad(tensor(), "the entry has no \"", field_name(), "\" field");
                }
            if (offsets_ != 2) bad(tensor(), "data_offsets must hold exactly 2 integers [BEGIN, END]");
            tensors.emplace(name_, info_);
        }
        return true;
    }
    // A value that is not a container and not a dtype/shape/offset entry.
    bool scalar(const char* what, const std::string& text) {
        if (stack_.empty()) bad("the header must be a JSON object, ", got(what, text));
        switch (stack_.back()) {
            case Ctx::root:
                if (name_ != "__metadata__") bad(tensor(), "expected an object {dtype, shape, data_offsets}, ", got(what, text));
                if (std::string_view(what) != "null") bad("__metadata__ must be an object of strings, ", got(what, text));
                seen_metadata_ = true;  // "__metadata__": null is an empty map
                return true;
            case Ctx::metadata:
                if (std::string_view(what) != "a string")
                    bad("__metadata__ value for key \"", name_, "\" must be a string, ", got(what, text));
                metadata.emplace(name_, text);
                return true;
            case Ctx::entry:
                if (field_ == 3) return true;
                bad(tensor(), "\"", field_name(), "\" must be ", field_ == 0 ? "a string" : "an array of integers",
                    ", ", got(what, text));
            case Ctx::array: bad_integer(got(what, text));
            case Ctx::skip: return true;
        }
        return true;
    }

    const std::string& source_;
    std::vector<Ctx> stack_;
    std::string name_;          // current tensor name (root) or metadata key
    unsigned field_ = 3;        // current entry field: 0 dtype, 1 shape, 2 data_offsets, 3 other
    unsigned seen_ = 0;         // bit f: field f was present in the current entry
    unsigned offsets_ = 0;      // data_offsets integers read so far
    bool seen_metadata_ = false;
    TensorInfo info_;
};

}  // namespace detail

// SafetensorsFile: a validated safetensors file. read() checks the whole header and layout up
// front; get() then reads one tensor's bytes (from the file, kept open, or the buffer in memory).
//   ensures: every problem is a contra::Error that names the file, the tensor, and what was
//            expected. Memory is bounded by the file: the header (<= 100 MB) is read only after its
//            length is checked against the file size, its bookkeeping is a few bytes per header
//            byte at most, and tensor bytes are allocated only once their offsets are validated.
//            get() may be called from several threads.
class SafetensorsFile {
public:
    static SafetensorsFile read(const std::filesystem::path& path) {
        SafetensorsFile f;
        f.source_ = path.string();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) detail::bad_file(f.source_, "cannot open: ", std::strerror(errno));
        f.fd_ = std::shared_ptr<int>(new int(fd), [](int* p) { ::close(*p); delete p; });
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) detail::bad_file(f.source_, "not a regular file");
        f.size_ = std::uint64_t(st.st_size);
        f.parse();
        return f;
    }
    // from_bytes(bytes, label): the same checks on a file held in memory; `label` names it in errors.
    static SafetensorsFile from_bytes(std::string bytes, std::string label = "<memory>") {
        SafetensorsFile f;
        f.source_ = std::move(label);
        f.size_ = bytes.size();
        f.bytes_ = std::make_shared<const std::string>(std::move(bytes));
        f.parse();
        return f;
    }

    const std::vector<std::string>& names() const { return names_; }  // in data-buffer order

    // verify_checksum(): when the metadata holds "data_crc32" (contra writes it into checkpoints),
    // the CRC-32 of the data buffer must match it; ensures: a truncated-in-place or altered file
    // is a contra::Error, not wrong weights. Returns whether there was a checksum to check.
    bool verify_checksum() const {
        const auto it = metadata_.find(kChecksumKey);
        if (it == metadata_.end()) return false;
        std::uint32_t crc = 0;
        std::vector<unsigned char> chunk(std::size_t(1) << 20);
        const std::uint64_t total = size_ - 8 - header_bytes_;
        for (std::uint64_t at = 0; at < total; at += chunk.size()) {
            const std::size_t n = std::size_t(std::min<std::uint64_t>(chunk.size(), total - at));
            read_data(at, chunk.data(), n);
            crc = detail::crc32(crc, chunk.data(), n);
        }
        if (it->second != detail::hex32(crc))
            detail::bad_file(source_, "data checksum ", detail::hex32(crc), " does not match the recorded ", it->second,
                             " (the file is damaged or was changed after it was written)");
        return true;
    }
    static constexpr const char* kChecksumKey = "data_crc32";
    bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const std::string& source() const { return source_; }
    const TensorInfo& info(std::string_view name) const {
        const auto it = tensors_.find(name);
        if (it == tensors_.end()) {
            std::string some;
            for (std::size_t i = 0; i < names_.size() && i < 8; ++i) some += (i ? ", " : "") + names_[i];
            detail::bad_file(source_, "no tensor named \"", name, "\" (the file has ", names_.size(), " tensors",
                             names_.empty() ? "" : ": ", some, names_.size() > 8 ? ", ..." : "", ")");
        }
        return it->second;
    }

    // get<T>(name): the tensor as a new host tensor of T.
    //   requires: the stored dtype is T's; or convert == Convert::widen and T holds every value of
    //             it; or convert == Convert::allow and both are floating (F64/F32/BF16/F16) or both
    //             integer (I64/I32/U8) and every value fits T.
    template <class T>
    Tensor<T, cpu> get(std::string_view name, Convert convert = Convert::exact) const {
        const TensorInfo& ti = info(name);
        auto out = Tensor<T, cpu>::empty(ti.shape);
        if (ti.dtype == dtype_of<T>) {
            read_data(ti.begin, out.data(), ti.bytes());
            return out;
        }
        const bool same_kind = is_float(ti.dtype) == is_floating<T>;
        if (convert == Convert::exact || !same_kind || (convert == Convert::widen && !widens(ti.dtype, dtype_of<T>)))
            detail::bad_file(source_, "tensor \"", name, "\" is stored as ", dtype_name(ti.dtype), " but ",
                             dtype_name(dtype_of<T>), " was requested",
                             !same_kind                   ? "; floating and integer types do not convert into each other"
                             : convert == Convert::widen ? " (only conversions that keep every value are made here)"
                                                          : " (pass Convert::allow to convert)");
        std::vector<unsigned char> raw(ti.bytes());
        read_data(ti.begin, raw.data(), raw.size());
        T* o = out.data();
        visit(ti.dtype, [&]<class S>(S*) {
            constexpr bool same_kind_here = is_floating<S> == is_floating<T>;
            if constexpr (same_kind_here) {
                for (std::int64_t i = 0; i < out.numel(); ++i) {
                    S value;
                    std::memcpy(&value, raw.data() + i * sizeof(S), sizeof(S));
                    if constexpr (is_floating<T>) {
                        o[i] = T(static_cast<acc_t<S>>(value));
                    } else {
                        const bool fits = std::in_range<T>(value);
                        if (!fits)
                            detail::bad_file(source_, "tensor \"", name, "\": element ", i, " = ", +value,
                                             " does not fit ", dtype_name(dtype_of<T>));
                        o[i] = T(value);
                    }
                }
            }
        });
        return out;
    }

private:
    static bool is_float(DType t) { return t == DType::f64 || t == DType::f32 || t == DType::bf16 || t == DType::f16; }
    template <class F>
    static void visit(DType t, F&& f) {
        switch (t) {
            case DType::f64: return f(static_cast<double*>(nullptr));
            case DType::f32: return f(static_cast<float*>(nullptr));
            case DType::bf16: return f(static_cast<bf16*>(nullptr));
            case DType::f16: return f(static_cast<f16*>(nullptr));
            case DType::i64: return f(static_cast<std::int64_t*>(nullptr));
            case DType::i32: return f(static_cast<std::int32_t*>(nullptr));
            case DType::u8: return f(static_cast<std::uint8_t*>(nullptr));
        }
    }

    // read_at(offset, dst, n): n bytes of the file from `offset`.
    void read_at(std::uint64_t offset, void* dst, std::size_t n) const {
        if (bytes_) {
            std::memcpy(dst, bytes_->data() + offset, n);
            return;
        }
        auto* p = static_cast<char*>(dst);
        while (n > 0) {
            const ::ssize_t got = ::pread(*fd_, p, n, ::off_t(offset));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) detail::bad_file(source_, "read failed: ", std::strerror(errno));
            if (got == 0) detail::bad_file(source_, "the file is shorter than when it was opened");
            p += got, offset += std::uint64_t(got), n -= std::size_t(got);
        }
    }
    void read_data(std::uint64_t begin, void* dst, std::size_t n) const {
        if (n) read_at(8 + header_bytes_ + begin, dst, n);
    }

    // parse(): read and check the header, then the layout of the data buffer.
    void parse() {
        if (size_ < 8)
            detail::bad_file(source_, "the file has ", size_, " bytes; a safetensors file starts with an 8-byte header length");
        unsigned char prefix[8];
        read_at(0, prefix, 8);
        std::uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
        if (n > kMaxHeaderBytes)
            detail::bad_file(source_, "header length ", n, " exceeds the limit of ", kMaxHeaderBytes, " bytes");
        if (n > size_ - 8)
            detail::bad_file(source_, "header length ", n, " runs past the end of the file (", size_ - 8,
                             " bytes follow the length field)");
        header_bytes_ = n;
        std::string text(n, '\0');
        read_at(8, text.data(), n);
        if (const auto at = detail::invalid_utf8_at(text); at != std::string_view::npos)
            detail::bad_file(source_, "the header is not valid UTF-8 (byte ", at, " of the header)");
        detail::HeaderParser parser(source_);
        nlohmann::json::sax_parse(text.begin(), text.end(), &parser);
        tensors_ = std::move(parser.tensors);
        metadata_ = std::move(parser.metadata);
        check_layout(size_ - 8 - n);
    }

    void check_layout(std::uint64_t data_bytes) {
        std::vector<std::pair<const std::string*, const TensorInfo*>> order;
        for (const auto& entry : tensors_) {
            const std::string& name = entry.first;
            const TensorInfo& t = entry.second;
            auto bad = [&](auto&&... parts) { detail::bad_file(source_, "tensor \"", name, "\": ", parts...); };
            const auto range = contra::detail::concat("data_offsets [", t.begin, ", ", t.end, "]");
            if (t.end < t.begin) bad(range, " are reversed: END must be at least BEGIN");
            // bytes = dtype size × extents; computed without overflow (and Shape::numel() then fits int64).
            std::uint64_t bytes = dtype_size(t.dtype);
            bool zero = false;
            for (std::int64_t e : t.shape) {
                zero |= e == 0;
                if (e != 0 && __builtin_mul_overflow(bytes, std::uint64_t(e), &bytes))
                    bad("shape ", t.shape, " of ", dtype_name(t.dtype), " overflows a 64-bit byte count");
            }
            if (bytes > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
                bad("shape ", t.shape, " of ", dtype_name(t.dtype), " overflows a 64-bit byte count");
            if (zero) bytes = 0;
            if (t.bytes() != bytes)
                bad("shape ", t.shape, " of ", dtype_name(t.dtype), " needs ", bytes, " bytes but ", range, " hold ",
                    t.bytes());
            if (t.end > data_bytes)
                bad(range, " reach past the end of the data buffer (", data_bytes, " bytes)");
            order.emplace_back(&name, &t);
        }
        std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
            return std::tie(a.second->begin, a.second->end, *a.first) < std::tie(b.second->begin, b.second->end, *b.first);
        });
        std::uint64_t covered = 0;  // bytes [0, covered) belong to the tensors seen so far
        const std::string* previous = nullptr;
        for (const auto& [name, t] : order) {
            const auto after = [&] {
                return (previous ? "tensor \"" + *previous + "\" which ends" : std::string("the start of the data buffer")) +
                       " at byte " + std::to_string(covered);
            };
            if (t->begin > covered)
                detail::bad_file(source_, "tensor \"", *name, "\": starts at byte ", t->begin, ", leaving a gap of ",
                                 t->begin - covered, " bytes after ", after(), " (tensors must be contiguous)");
            if (t->begin < covered)
                detail::bad_file(source_, "tensor \"", *name, "\": starts at byte ", t->begin, " and overlaps ", after(),
                                 " (tensors must not share bytes)");
            covered = t->end;
            previous = name;
            names_.push_back(*name);
        }
        if (covered != data_bytes)
            detail::bad_file(source_, data_bytes - covered, " trailing bytes after the last tensor (the data buffer has ",
                             data_bytes, " bytes, the tensors cover ", covered, ")");
    }

    std::string source_;
    std::shared_ptr<int> fd_;                   // the open file, or
    std::shared_ptr<const std::string> bytes_;  // the whole file in memory
    std::uint64_t size_ = 0, header_bytes_ = 0;
    std::map<std::string, TensorInfo, std::less<>> tensors_;
    std::vector<std::string> names_;
    std::map<std::string, std::string> metadata_;
};

// SafetensorsWriter: collects named host tensors and metadata, then writes one file. Tensors are
// laid out by descending element size, then by name, so every tensor is aligned to its element
// size (the header is padded with spaces to a multiple of 8).
class SafetensorsWriter {
public:
    // add(name, t): store t under `name`. The writer keeps a handle: t's elements are read by write().
    //   requires: name is valid UTF-8, not "__metadata__", and not added before.
    template <class T>
    void add(std::string name, const Tensor<T, cpu>& t) {
        CONTRA_CHECK(detail::invalid_utf8_at(name) == std::string_view::npos, "tensor name is not valid UTF-8");
        CONTRA_CHECK(name != "__metadata__", "\"__metadata__\" is reserved and cannot name a tensor");
        CONTRA_CHECK(t.numel() == 0 || t.storage(), "tensor \"", name, "\" of shape ", t.shape(), " has no storage");
        CONTRA_CHECK(names_.insert(name).second, "a tensor named \"", name, "\" was already added");
        entries_.push_back({std::move(name), dtype_of<T>, t.shape(), t.bytes(), [t] { return static_cast<const void*>(t.data()); }});
    }
    // set_metadata(key, value): a __metadata__ entry; a later value for the same key replaces it.
    void set_metadata(std::string key, std::string value) {
        CONTRA_CHECK(detail::invalid_utf8_at(key) == std::string_view::npos &&
                         detail::invalid_utf8_at(value) == std::string_view::npos,
                     "metadata key and value must be valid UTF-8");
        metadata_[std::move(key)] = std::move(value);
    }

    // with_checksum(): the metadata will record the CRC-32 of the data buffer ("data_crc32"),
    // which SafetensorsFile::verify_checksum() checks.
    void with_checksum() { checksum_ = true; }

    // The whole file in memory (small files, tests).
    std::string to_bytes() const {
        std::string out;
        emit([&](const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); });
        return out;
    }
    // write(path): the file replaces `path` atomically; on any error `path` is left as it was.
    void write(const std::filesystem::path& path) const {
        AtomicFile file(path);
        emit([&](const void* p, std::size_t n) { file.write(p, n); });
        file.commit();
    }

private:
    struct Entry {
        std::string name;
        DType dtype;
        Shape shape;
        std::size_t bytes;
        std::function<const void*()> data;  // read late, so a stale arena tensor is caught then
    };

    template <class Sink>
    void emit(Sink&& sink) const {
        std::vector<const Entry*> order;
        for (const Entry& e : entries_) order.push_back(&e);
        std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
            const auto sa = dtype_size(a->dtype), sb = dtype_size(b->dtype);
            return sa != sb ? sa > sb : a->name < b->name;
        });
        nlohmann::ordered_json header = nlohmann::ordered_json::object();
        auto metadata = metadata_;
        if (checksum_) {
            std::uint32_t crc = 0;
            for (const Entry* e : order) crc = detail::crc32(crc, e->data(), e->bytes);
            metadata[SafetensorsFile::kChecksumKey] = detail::hex32(crc);
        }
        if (!metadata.empty()) header["__metadata__"] = metadata;
        std::uint64_t offset = 0;
        for (const Entry* e : order) {
            auto& entry = header[e->name];
            entry["dtype"] = std::string(dtype_name(e->dtype));
            entry["shape"] = std::vector<std::int64_t>(e->shape.begin(), e->shape.end());
            entry["data_offsets"] = {offset, offset + e->bytes};
            offset += e->bytes;
        }
        std::string text = header.dump();
        text.append((8 - text.size() % 8) % 8, ' ');
        unsigned char prefix[8];
        for (int i = 0; i < 8; ++i) prefix[i] = static_cast<unsigned char>(std::uint64_t(text.size()) >> (8 * i));
        sink(prefix, 8);
        sink(text.data(), text.size());
        for (const Entry* e : order)
            if (e->bytes) sink(e->data(), e->bytes);
    }

    std::vector<Entry> entries_;
    std::set<std::string> names_;
    std::map<std::string, std::string> metadata_;
    bool checksum_ = false;
};

}  // namespace contra::io
