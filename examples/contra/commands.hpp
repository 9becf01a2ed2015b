// The subcommand groups of the contra program, each in its own translation unit.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace contra::cli {

// inspect, tokenize, embed, grad, zeroshot, export (pretrained_commands.cpp)
void add_pretrained_commands(CLI::App& app, std::function<void()>& run);

}  // namespace contra::cli
