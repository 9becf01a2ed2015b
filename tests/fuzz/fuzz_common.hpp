// tests/fuzz/fuzz_common.hpp — shared helpers for contra's libFuzzer targets.
// Every reader must answer bad input with a contra::Error. A target catches contra::Error and
// nothing else: any other exception escaping (std::bad_alloc, std::out_of_range, a json
// exception, ...) reaches libFuzzer as an uncaught exception, i.e. a crash to report and fix.
#pragma once
#include <unistd.h>

#include <contra/core/error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace contra::fuzz {

// scratch_dir(): a folder private to this process (/tmp/contra-fuzz-<pid>), removed at exit.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        std::filesystem::path d = std::filesystem::temp_directory_path() / ("contra-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        static const std::filesystem::path copy = d;
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(copy, ec);
        });
        return d;
    }();
    return dir;
}

// write_file(name, bytes): scratch_dir()/name holding exactly bytes; returns its path.
inline std::filesystem::path write_file(const std::string& name, std::string_view bytes) {
    const auto path = scratch_dir() / name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
    if (std::fclose(f) != 0) std::abort();
    return path;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// accepts(f): run f; true when it returned, false when it threw contra::Error (the correct
// answer to bad input). Anything else propagates.
template <class F>
bool accepts(F&& f) {
    try {
        f();
        return true;
    } catch (const contra::Error&) {
        return false;
    }
}

}  // namespace contra::fuzz
