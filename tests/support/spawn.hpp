// tests/support/spawn.hpp — start a process, kill it, wait for it (tests of crash safety).
#pragma once
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace contra::test {

// worker_path(): the test worker program (tests/support/worker.cpp), which ctest names in the
// environment variable CONTRA_TEST_WORKER.
inline std::string worker_path() {
    const char* path = std::getenv("CONTRA_TEST_WORKER");
    if (!path || !*path) throw std::runtime_error("CONTRA_TEST_WORKER is not set: run this test through ctest");
    return path;
}

// spawn(argv): the new process's id (argv[0] is the program's path).
inline pid_t spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
    return pid;
}

// wait_for(pid): its wait status (WIFEXITED/WIFSIGNALED tell how it ended).
inline int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    return status;
}

}  // namespace contra::test
