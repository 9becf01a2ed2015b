// tests/datasets/tar_writer.hpp — WebDataset shards written by the tests themselves (libarchive, pax).
#pragma once
#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace contra::test {

struct TarMember {
    std::string name;
    std::string data;
    bool directory = false;
};

// write_tar(path, members, gzip): a pax tar holding members in order (gzip-compressed if asked).
inline void write_tar(const std::filesystem::path& path, const std::vector<TarMember>& members, bool gzip = false) {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip) archive_write_add_filter_gzip(a);
    if (archive_write_open_filename(a, path.string().c_str()) != ARCHIVE_OK)
        throw std::runtime_error("write_tar: cannot create " + path.string());
    for (const auto& m : members) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, m.name.c_str());
        archive_entry_set_filetype(e, m.directory ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(e, m.directory ? 0755 : 0644);
        archive_entry_set_size(e, m.directory ? 0 : la_int64_t(m.data.size()));
        archive_entry_set_mtime(e, 1700000000, 0);
        if (archive_write_header(a, e) != ARCHIVE_OK) throw std::runtime_error("write_tar: header of " + m.name);
        if (!m.directory && !m.data.empty() &&
            archive_write_data(a, m.data.data(), m.data.size()) != la_ssize_t(m.data.size()))
            throw std::runtime_error("write_tar: data of " + m.name);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

// image_bytes(key, n): n recognisable bytes standing in for an encoded image.
inline std::string image_bytes(const std::string& key, std::size_t n) {
    std::string out;
    while (out.size() < n) out += "<" + key + ">";
    out.resize(n);
    return out;
}

}  // namespace contra::test
