// contra/core/atomic_file.hpp — replace a file all at once or not at all (POSIX).
// defines: contra::AtomicFile, contra::write_file_atomically
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "config.hpp"

namespace contra {

// AtomicFile: write() goes to a temporary file in the directory of `path`; commit() flushes it
// to disk (fsync), renames it over `path` and flushes the directory, so the new name is durable.
// Destroying an AtomicFile that was not committed (an exception, an early return) removes the
// temporary file: readers of `path` see the old file or the whole new one, never a part.
//   requires: the directory of `path` exists and is writable; one thread uses the object.
//   ensures:  after commit(), `path` holds exactly the bytes written (permissions 0666 & ~umask).
class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
        const std::filesystem::path dir = directory();
        static std::atomic<unsigned> counter{0};
        for (int attempt = 0; fd_ < 0; ++attempt) {
            temp_ = dir / ("." + path_.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                           std::to_string(counter++));
            fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd_ < 0 && (errno != EEXIST || attempt == 100)) {
                const int error = errno;
                temp_.clear();
                fail("cannot create a temporary file in ", dir, error);
            }
        }
    }
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
    }

    // write(data, bytes): append to the temporary file.
    void write(const void* data, std::size_t bytes) {
        CONTRA_CHECK(fd_ >= 0 && !committed_, "AtomicFile::write after commit");
        const char* p = static_cast<const char*>(data);
        while (bytes > 0) {
            const ::ssize_t n = ::write(fd_, p, bytes);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) fail("cannot write ", temp_, n < 0 ? errno : ENOSPC);
            p += n;
            bytes -= std::size_t(n);
        }
    }

    // commit(): make the written bytes the content of `path`.
    void commit() {
        CONTRA_CHECK(fd_ >= 0 && !committed_, "AtomicFile::commit called twice");
        if (::fsync(fd_) != 0) fail("cannot flush ", temp_, errno);
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) fail("cannot close ", temp_, errno);
        if (::rename(temp_.c_str(), path_.c_str()) != 0) fail("cannot rename the temporary file to ", path_, errno);
        committed_ = true;
        sync_directory(directory());  // the rename is durable only once the directory is flushed
    }

    // sync_directory(dir): flush a directory's entries (new names, renames) to disk.
    static void sync_directory(const std::filesystem::path& dir) {
        const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw Error("cannot open directory " + dir.string() + ": " + std::strerror(errno));
        const int synced = ::fsync(fd) == 0 || errno == EINVAL ? 0 : errno;  // EINVAL: fs without dir fsync
        ::close(fd);
        if (synced != 0) throw Error("cannot flush directory " + dir.string() + ": " + std::strerror(synced));
    }

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path directory() const {
        return path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
    }
    [[noreturn]] void fail(const char* what, const std::filesystem::path& where, int error) const {
        throw Error("writing " + path_.string() + ": " + what + where.string() + ": " + std::strerror(error) +
                    (committed_ ? "" : " (the file at that path, if any, is unchanged)"));
    }

    std::filesystem::path path_;
    std::filesystem::path temp_;
    int fd_ = -1;
    bool committed_ = false;
};

// write_file_atomically(path, bytes): path holds exactly these bytes afterwards, or is unchanged
// (AtomicFile). The folder of path is created when missing.
//   throws: Error when the folder, the write or the rename fails.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    CONTRA_CHECK(!ec, "cannot create the folder of '", path.string(), "': ", ec.message());
    AtomicFile file(path);
    file.write(bytes.data(), bytes.size());
    file.commit();
}

}  // namespace contra
