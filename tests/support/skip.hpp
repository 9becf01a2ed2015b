// tests/support/skip.hpp — saying loudly that a test could not run here.
#pragma once
#include <atomic>
#include <cstdio>
#include <string>

namespace contra::test {

inline std::atomic<int>& skips() {
    static std::atomic<int> count{0};
    return count;
}
inline std::atomic<bool>& all_skipped() {
    static std::atomic<bool> flag{false};
    return flag;
}

// skip(why): print why this test did not run.
inline void skip(const char* why) {
    std::fprintf(stderr, "SKIPPED: %s\n", why);
    ++skips();
}
// skip_program(why): nothing in this program can run here (no GPU, say); it exits with 77.
inline void skip_program(const char* why) {
    skip(why);
    all_skipped() = true;
}
inline bool skipped_everything() { return all_skipped().load(); }

// says_no_gpu(why): whether an error of a `--device cuda` command says only that no GPU can be used
// here (none, no driver, or a program built without CUDA). The GPU command tests skip then, and
// fail on any other error.
inline bool says_no_gpu(const std::string& why) {
    return why.find("no usable GPU") != std::string::npos || why.find("sees no GPU") != std::string::npos ||
           why.find("built without CUDA") != std::string::npos;
}

}  // namespace contra::test
