// Checkpoints that survive: a checksum over the data, the newest few kept, and a process killed
// (SIGKILL) at random moments of many saves always leaves a whole checkpoint behind.
#include <doctest/doctest.h>

#include <chrono>
#include <contra/io/checkpoint.hpp>
#include <contra/nn/nn.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/compare.hpp"
#include "../support/spawn.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("contra-crash-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}
void flip_byte(const fs::path& path, std::uint64_t from_end) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const auto size = std::uint64_t(f.tellg());
    f.seekg(std::streamoff(size - from_end));
    char c = 0;
    f.read(&c, 1);
    c = char(c ^ 0x40);
    f.seekp(std::streamoff(size - from_end));
    f.write(&c, 1);
}
}  // namespace

TEST_CASE("a checkpoint records the CRC-32 of its data; a changed byte or a short file is refused") {
    const auto dir = fresh_dir("checksum");
    model::OpenAiClip<float, cpu> model(model::preset("tiny"), 1);
    optim::AdamW<float, cpu> opt(model);
    const auto path = dir / "c.safetensors";
    io::save_checkpoint(path, model, opt, {{"step", "1"}});
    CHECK(io::SafetensorsFile::read(path).verify_checksum());
    CHECK_NOTHROW(io::load_checkpoint(path, model, &opt));
    flip_byte(path, 100);  // inside the data buffer: the header still parses
    CHECK_THROWS_WITH_AS(io::load_checkpoint(path, model, &opt), doctest::Contains("does not match the recorded"), Error);
    io::save_checkpoint(path, model, opt, {{"step", "1"}});
    fs::resize_file(path, fs::file_size(path) - 10);
    CHECK_THROWS_AS(io::load_checkpoint(path, model, &opt), Error);
    fs::remove_all(dir);
}

TEST_CASE("rotating checkpoints: the newest three kept, checkpoint.safetensors the newest, a damaged newest falls back") {
    const auto dir = fresh_dir("rotate");
    model::OpenAiClip<float, cpu> model(model::preset("tiny"), 1);
    optim::AdamW<float, cpu> opt(model);
    for (int step : {10, 20, 30, 40, 50}) io::save_rotating(dir, step, model, opt, {{"step", std::to_string(step)}}, 3);
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir)) files += e.path().filename().string().rfind("checkpoint-", 0) == 0;
    CHECK(files == 3);
    CHECK(io::SafetensorsFile::read(dir / "checkpoint.safetensors").metadata().at("step") == "50");
    CHECK(io::newest_checkpoint(dir) == dir / "checkpoint.safetensors");
    flip_byte(dir / "checkpoint.safetensors", 50);  // also damages checkpoint-000000050 (the same file)
    std::string why;
    const auto fallback = io::newest_checkpoint(dir, &why);
    CHECK(fallback.filename() == "checkpoint-000000040.safetensors");
    CHECK(why.find("does not match") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("killed at 40 random moments while saving, a process always leaves a whole, consistent checkpoint") {
    const auto dir = fresh_dir("kill");
    model::OpenAiClip<float, cpu> model(model::preset("tiny"), 1);
    optim::AdamW<float, cpu> opt(model);
    Rng rng(17);
    std::int64_t last_version = 0;
    for (int round = 0; round < 40; ++round) {
        const pid_t pid = test::spawn({test::worker_path(), "checkpoints", dir.string()});
        REQUIRE(pid > 0);
        // The first save takes a few ms; kill after 20–120 ms so that most kills land mid-save.
        std::this_thread::sleep_for(std::chrono::microseconds(20000 + rng.below(100000)));
        ::kill(pid, SIGKILL);
        const int status = test::wait_for(pid);
        REQUIRE(WIFSIGNALED(status));
        if (!fs::exists(dir / "checkpoint.safetensors")) continue;  // killed before its first save ended
        const auto path = io::newest_checkpoint(dir);
        const auto meta = io::load_checkpoint(path, model, &opt);
        const std::int64_t version = std::stoll(meta.at("step"));
        bool consistent = true;  // every weight of checkpoint v is v
        model.visit_parameters([&](const std::string&, Parameter<float, cpu>& p) {
            for (std::int64_t i = 0; i < p.numel(); ++i) consistent &= p.value()[i] == float(version);
        });
        REQUIRE(consistent);
        last_version = std::max(last_version, version);
        fs::remove_all(dir);  // the next round starts empty: each kill must leave a checkpoint of its own
        fs::create_directories(dir);
    }
    CHECK(last_version > 1);  // the kills did land after some saves
    fs::remove_all(dir);
}
