// tests/support/skip.hpp — saying loudly that a test could not run here.
#pragma once
#include <atomic>
#include <cstdio>

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

}  // namespace contra::test
