// contra/search/index.hpp — an image index: the unit-length embeddings of image files, with each
// file's path, size and modification time, the files that could not be read (and why), and the
// identity of the model that embedded them; its file format, and what an update has to do.
// defines: search::FileStamp, search::BrokenFile, search::ModelIdentity, search::Index,
//          search::kIndexMagic, search::kIndexVersion, search::write_index, search::read_index,
//          search::stamp_file, search::list_image_files, search::UpdatePlan, search::plan_update
//
// The file (version 1), all integers little-endian:
//   bytes 0–7    magic "CONTRAIX"
//   bytes 8–11   u32 format version (1)
//   bytes 12–15  u32 0 (reserved)
//   bytes 16–23  u64 H: the length of the header
//   H bytes      UTF-8 JSON header: {"format": "contra image index", "encoding": "f32" | "int8",
//                "dim": E, "count": N, "model": {...}, "source": "...",
//                "files": {"path": [N strings], "size": [N], "mtime_ns": [N]},
//                "broken": [{"path", "size", "mtime_ns", "reason"}, ...]}
//   vectors      f32: N·E floats (row i: files.path[i]); int8: N·E int8 codes, then N float scales
//   4 bytes      u32 CRC-32 (zlib's) of every byte before it
// Readers reject anything else (another magic, a newer version, a size that does not match the
// header, a checksum that does not match) with an Error naming the file and the problem.
#pragma once
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../core/atomic_file.hpp"
#include "../core/config.hpp"
#include "top_k.hpp"

namespace contra::search {

static_assert(std::endian::native == std::endian::little, "the index format is little-endian");

// FileStamp: a file as last seen: its path (absolute), size and modification time.
struct FileStamp {
    std::string path;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;  // since the Unix epoch
    bool operator==(const FileStamp&) const = default;
};

// BrokenFile: a file that could not be read or decoded, and why.
struct BrokenFile {
    FileStamp file;
    std::string reason;
};

// ModelIdentity: which model embedded an index: where its weights were (informative), their size
// and CRC-32, and a description of the model as built (architecture, image side: compared too).
struct ModelIdentity {
    std::string path;
    std::uint64_t bytes = 0;
    std::string crc32;
    nlohmann::json description = nlohmann::json::object();
    // same_model(other): the same weights, built the same way (the path may differ: files move).
    bool same_model(const ModelIdentity& other) const {
        return bytes == other.bytes && crc32 == other.crc32 && description == other.description;
    }
    std::string summary() const { return path + " (" + std::to_string(bytes) + " bytes, CRC-32 " + crc32 + ")"; }
};

// Index: row i of `vectors` is the embedding of files[i].
struct Index {
    ModelIdentity model;
    std::string source;  // the folder or caption table indexed
    std::vector<FileStamp> files;
    Vectors vectors;
    std::vector<BrokenFile> broken;
};

inline constexpr char kIndexMagic[8] = {'C', 'O', 'N', 'T', 'R', 'A', 'I', 'X'};
inline constexpr std::uint32_t kIndexVersion = 1;

namespace detail {
inline constexpr std::size_t kPrefixBytes = 24;  // magic, version, reserved, header length

// CrcWriter: writes to an AtomicFile while computing the CRC-32 of everything written.
struct CrcWriter {
    AtomicFile& file;
    std::uint32_t crc = std::uint32_t(::crc32(0, nullptr, 0));
    void write(const void* data, std::size_t bytes) {
        for (std::size_t at = 0; at < bytes;) {
            const std::size_t n = std::min<std::size_t>(bytes - at, std::size_t(1) << 30);
            crc = std::uint32_t(::crc32(crc, static_cast<const Bytef*>(data) + at, uInt(n)));
            at += n;
        }
        file.write(data, bytes);
    }
};

inline nlohmann::json header_json(const Index& index) {
    nlohmann::json paths = nlohmann::json::array(), sizes = nlohmann::json::array(), mtimes = nlohmann::json::array();
    for (const auto& f : index.files) {
        paths.push_back(f.path);
        sizes.push_back(f.size);
        mtimes.push_back(f.mtime_ns);
    }
    nlohmann::json broken = nlohmann::json::array();
    for (const auto& b : index.broken)
        broken.push_back({{"path", b.file.path}, {"size", b.file.size}, {"mtime_ns", b.file.mtime_ns}, {"reason", b.reason}});
    const auto& m = index.model;
    return {{"format", "contra image index"},
            {"encoding", encoding_name(index.vectors.encoding())},
            {"dim", index.vectors.dim()},
            {"count", index.files.size()},
            {"model", {{"path", m.path}, {"bytes", m.bytes}, {"crc32", m.crc32}, {"description", m.description}}},
            {"source", index.source},
            {"files", {{"path", paths}, {"size", sizes}, {"mtime_ns", mtimes}}},
            {"broken", broken}};
}

[[noreturn]] inline void bad_index(const std::filesystem::path& path, const std::string& problem) {
    throw Error("'" + path.string() + "' is not a readable contra image index: " + problem);
}
}  // namespace detail

// write_index(index, path): the file above; path holds the whole new index afterwards, or is
// unchanged (written atomically). The folder of path is created when missing.
//   requires: index.files.size() == index.vectors.size().
//   throws: Error when the folder or the file cannot be written.
inline void write_index(const Index& index, const std::filesystem::path& path) {
    CONTRA_CHECK(std::int64_t(index.files.size()) == index.vectors.size(), "write_index: ", index.files.size(), " files but ",
                 index.vectors.size(), " vectors");
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    CONTRA_CHECK(!ec, "cannot create the folder of '", path.string(), "': ", ec.message());
    const std::string header = detail::header_json(index).dump();
    AtomicFile file(path);
    detail::CrcWriter out{file};
    const std::uint32_t version = kIndexVersion, reserved = 0;
    const std::uint64_t header_bytes = header.size();
    out.write(kIndexMagic, sizeof kIndexMagic);
    out.write(&version, 4);
    out.write(&reserved, 4);
    out.write(&header_bytes, 8);
    out.write(header.data(), header.size());
    const auto& v = index.vectors;
    if (v.encoding() == Encoding::f32) {
        out.write(v.values().data(), v.values().size() * sizeof(float));
    } else {
        out.write(v.codes().data(), v.codes().size());
        out.write(v.scales().data(), v.scales().size() * sizeof(float));
    }
    const std::uint32_t crc = out.crc;
    file.write(&crc, 4);
    file.commit();
}

// read_index(path): the index in the file.
//   throws: Error naming the file for a missing file, another format, a newer version, a header
//           that does not parse or lacks a field, a size that does not match the header (a
//           truncated file), or a checksum that does not match (a damaged one).
inline Index read_index(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) detail::bad_index(path, "no such file");
    const std::uint64_t size = fs::file_size(path, ec);
    std::ifstream in(path, std::ios::binary);
    if (ec || !in) detail::bad_index(path, "cannot open it");
    char prefix[detail::kPrefixBytes] = {};
    if (size < detail::kPrefixBytes + 4 || !in.read(prefix, sizeof prefix))
        detail::bad_index(path, std::to_string(size) + " bytes is too short for an index (truncated?)");
    if (std::memcmp(prefix, kIndexMagic, sizeof kIndexMagic) != 0) detail::bad_index(path, "it does not start with CONTRAIX");
    std::uint32_t version = 0;
    std::uint64_t header_bytes = 0;
    std::memcpy(&version, prefix + 8, 4);
    std::memcpy(&header_bytes, prefix + 16, 8);
    if (version != kIndexVersion)
        detail::bad_index(path, "format version " + std::to_string(version) + "; this contra reads version " +
                                    std::to_string(kIndexVersion) + " (rebuild the index with this contra)");
    if (header_bytes > size - detail::kPrefixBytes - 4 || header_bytes > (std::uint64_t(1) << 31))
        detail::bad_index(path, "the header says " + std::to_string(header_bytes) + " bytes but the file has " +
                                    std::to_string(size) + " (truncated?)");
    std::string header(std::size_t(header_bytes), '\0');
    in.read(header.data(), std::streamsize(header_bytes));
    std::uint32_t crc = std::uint32_t(::crc32(0, nullptr, 0));
    crc = std::uint32_t(::crc32(crc, reinterpret_cast<const Bytef*>(prefix), uInt(sizeof prefix)));
    crc = std::uint32_t(::crc32(crc, reinterpret_cast<const Bytef*>(header.data()), uInt(header.size())));

    Index index;
    std::int64_t dim = 0, count = 0;
    try {
        const auto h = nlohmann::json::parse(header);
        if (h.at("format") != "contra image index") detail::bad_index(path, "the header's format is not \"contra image index\"");
        const std::string encoding = h.at("encoding");
        if (encoding != "f32" && encoding != "int8") detail::bad_index(path, "unknown encoding \"" + encoding + "\"");
        dim = h.at("dim");
        count = h.at("count");
        if (dim < 1 || dim > (1 << 24) || count < 0 || count > std::int64_t(size))
            detail::bad_index(path, "impossible sizes in the header (dim " + std::to_string(dim) + ", count " + std::to_string(count) + ")");
        index.vectors = Vectors(encoding == "f32" ? Encoding::f32 : Encoding::int8, dim);
        const auto& m = h.at("model");
        index.model = {m.at("path"), m.at("bytes"), m.at("crc32"), m.at("description")};
        index.source = h.at("source");
        const auto& files = h.at("files");
        const auto &paths = files.at("path"), &sizes = files.at("size"), &mtimes = files.at("mtime_ns");
        if (std::int64_t(paths.size()) != count || sizes.size() != paths.size() || mtimes.size() != paths.size())
            detail::bad_index(path, "the header lists " + std::to_string(paths.size()) + " paths for " + std::to_string(count) + " vectors");
        for (std::size_t i = 0; i < paths.size(); ++i) index.files.push_back({paths[i], sizes[i], mtimes[i]});
        for (const auto& b : h.at("broken")) index.broken.push_back({{b.at("path"), b.at("size"), b.at("mtime_ns")}, b.at("reason")});
    } catch (const nlohmann::json::exception& e) {
        detail::bad_index(path, std::string("its header is not what version 1 writes (") + e.what() + ")");
    }
    auto& v = index.vectors;
    const std::uint64_t room = size - detail::kPrefixBytes - header_bytes - 4;  // ≥ 0, checked above
    if (count > 0 && std::uint64_t(v.row_bytes()) > room / std::uint64_t(count))
        detail::bad_index(path, "its header describes " + std::to_string(count) + " vectors of " + std::to_string(dim) +
                                    " values, more than its " + std::to_string(size) + " bytes hold (truncated)");
    const std::uint64_t expected = detail::kPrefixBytes + header_bytes + std::uint64_t(count) * std::uint64_t(v.row_bytes()) + 4;
    if (size != expected)
        detail::bad_index(path, "it has " + std::to_string(size) + " bytes but its header describes " + std::to_string(expected) +
                                    (size < expected ? " (truncated)" : " (extra bytes at the end)"));
    const auto read_part = [&](void* data, std::size_t bytes) {
        in.read(static_cast<char*>(data), std::streamsize(bytes));
        if (!in) detail::bad_index(path, "read error");
        for (std::size_t at = 0; at < bytes;) {
            const std::size_t n = std::min<std::size_t>(bytes - at, std::size_t(1) << 30);
            crc = std::uint32_t(::crc32(crc, static_cast<const Bytef*>(data) + at, uInt(n)));
            at += n;
        }
    };
    const std::size_t elements = std::size_t(count * dim);
    if (v.encoding() == Encoding::f32) {
        v.values().resize(elements);
        read_part(v.values().data(), elements * sizeof(float));
    } else {
        v.codes().resize(elements);
        v.scales().resize(std::size_t(count));
        read_part(v.codes().data(), elements);
        read_part(v.scales().data(), std::size_t(count) * sizeof(float));
    }
    std::uint32_t stored = 0;
    in.read(reinterpret_cast<char*>(&stored), 4);
    if (!in || stored != crc)
        detail::bad_index(path, "its checksum does not match (the file is damaged or was changed after it was written)");
    return index;
}

// stamp_file(path): path (absolute, normalised) with its size and modification time.
//   throws: Error when the file cannot be examined.
inline FileStamp stamp_file(const std::filesystem::path& path) {
    struct ::stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw Error("cannot examine '" + path.string() + "': " + std::strerror(errno));
    return {std::filesystem::absolute(path).lexically_normal().string(), std::uint64_t(st.st_size),
            std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// list_image_files(root): every .jpg, .jpeg and .png file (any case) under root, recursively,
// sorted by path.  throws: Error when root is not a folder.
inline std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    std::error_code ec;
    CONTRA_CHECK(fs::is_directory(root, ec), "'", root.string(), "' does not exist or is not a folder");
    std::vector<fs::path> out;
    for (const auto& entry : fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied)) {
        if (!entry.is_regular_file()) continue;
        std::string ext = entry.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// UpdatePlan: what brings an index up to date with the files as they are now.
struct UpdatePlan {
    std::vector<std::int64_t> keep;        // rows of the old index still valid (file unchanged)
    std::vector<FileStamp> embed;          // new or changed files, in the order given
    std::vector<BrokenFile> still_broken;  // files that were broken and have not changed
    std::int64_t removed = 0;              // old rows and broken files no longer among the files
    std::int64_t changed = 0;              // files in `embed` that the old index held in another version
};

// plan_update(old, now): the rows of `old` whose file is in `now` with the same size and
// modification time are kept; a broken file that has not changed stays broken (not retried);
// every other file of `now` is to embed. With no old index (nullptr) every file is to embed.
//   requires: the paths of `now` are distinct.
inline UpdatePlan plan_update(const Index* old, const std::vector<FileStamp>& now) {
    UpdatePlan plan;
    std::map<std::string, std::int64_t> rows;  // path → old row
    std::map<std::string, const BrokenFile*> broken;
    if (old) {
        for (std::size_t i = 0; i < old->files.size(); ++i) rows.emplace(old->files[i].path, std::int64_t(i));
        for (const auto& b : old->broken) broken.emplace(b.file.path, &b);
    }
    std::int64_t seen = 0;
    for (const auto& f : now) {
        if (const auto it = rows.find(f.path); it != rows.end()) {
            ++seen;
            if (old->files[std::size_t(it->second)] == f) {
                plan.keep.push_back(it->second);
                continue;
            }
            ++plan.changed;
        } else if (const auto b = broken.find(f.path); b != broken.end()) {
            ++seen;
            if (b->second->file == f) {
                plan.still_broken.push_back(*b->second);
                continue;
            }
            ++plan.changed;
        }
        plan.embed.push_back(f);
    }
    plan.removed = std::int64_t(rows.size() + broken.size()) - seen;
    return plan;
}

}  // namespace contra::search
