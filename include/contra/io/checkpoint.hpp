// contra/io/checkpoint.hpp — model weights and training state in safetensors files.
//   model/<name>            every parameter, named as the OpenAI state dict
//   optimizer/<state>      the optimizer's state tensors (training checkpoints only), e.g. AdamW's
//                          optimizer/m/<name> and optimizer/v/<name>
//   metadata: format, step, optimizer_steps and whatever the caller adds (config, seed, tokenizer)
// Writes are atomic (temporary file, fsync, rename): a crash never leaves half a checkpoint.
// defines: io::save_weights, io::load_weights, io::save_checkpoint, io::load_checkpoint, io::save_rotating,
//          io::newest_checkpoint
#pragma once
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "../autograd/parameter.hpp"
#include "../optim/concepts.hpp"
#include "safetensors.hpp"

namespace contra::io {

inline constexpr const char* kCheckpointFormat = "contra-checkpoint-1";

namespace detail {
// dir's checkpoint-<step>.safetensors files, oldest first.
inline std::vector<std::filesystem::path> step_checkpoints(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> out;
    if (!std::filesystem::is_directory(dir)) return out;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("checkpoint-", 0) == 0 && name.size() > 23 && name.ends_with(".safetensors")) out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}
}  // namespace detail

// Adds every parameter of model as <prefix><name>.
// Buffers (BatchNorm running statistics of a ResNet tower) are saved and loaded beside them.
template <class Model>
void save_weights(SafetensorsWriter& out, Model& model, const std::string& prefix = "model/") {
    for_each_parameter(model, [&](const std::string& name, auto& p) { out.add(prefix + name, to_device<cpu>(p.value())); });
    if constexpr (requires { model.visit_buffers([](const std::string&, auto&) {}); })
        model.visit_buffers([&](const std::string& name, auto& t) { out.add(prefix + name, to_device<cpu>(t)); });
}

// Loads every parameter of model from <prefix><name>.
//   requires: each exists with the parameter's shape; no other tensor under prefix (unless
//   allow_extra); convert = Convert::allow reads other float widths (bf16/f16/f64 → T).
template <class Model>
void load_weights(const SafetensorsFile& in, Model& model, const std::string& prefix = "model/",
                  Convert convert = Convert::exact, bool allow_extra = false) {
    std::set<std::string> expected;
    std::vector<std::string> missing;
    const auto fill = [&](const std::string& name, auto& target) {  // a parameter's or buffer's tensor
        using T = typename std::remove_cvref_t<decltype(target)>::value_type;
        const std::string key = prefix + name;
        expected.insert(key);
        if (!in.contains(key)) {
            missing.push_back(key);
            return;
        }
        const auto& info = in.info(key);
        CONTRA_CHECK(info.shape == target.shape(), in.source(), ": ", key, " has shape ", info.shape,
                     " but the model's tensor is ", target.shape());
        copy(in.get<T>(key, convert), target);
    };
    for_each_parameter(model, [&](const std::string& name, auto& p) { fill(name, p.value()); });
    if constexpr (requires { model.visit_buffers(fill); }) model.visit_buffers(fill);
    if (!missing.empty()) {
        std::string list;
        for (std::size_t i = 0; i < missing.size() && i < 8; ++i) list += (i ? ", " : "") + missing[i];
        throw Error(in.source() + ": " + std::to_string(missing.size()) + " parameter(s) missing: " + list +
                    (missing.size() > 8 ? ", ..." : ""));
    }
    if (!allow_extra)
        for (const auto& name : in.names())
            CONTRA_CHECK(name.rfind(prefix, 0) != 0 || expected.count(name), in.source(), ": ", name,
                         " is not a parameter of this model (a different architecture or size?)");
}

// save_checkpoint(path, model, optimizer, metadata): weights, optimizer state and metadata, atomically.
template <class Model, optim::Optimizer Opt>
void save_checkpoint(const std::filesystem::path& path, Model& model, Opt& optimizer,
                     const std::map<std::string, std::string>& metadata) {
    SafetensorsWriter out;
    save_weights(out, model);
    optimizer.visit_state([&](const std::string& name, const auto& t) { out.add("optimizer/" + name, to_device<cpu>(t)); });
    for (const auto& [k, v] : metadata) out.set_metadata(k, v);
    out.set_metadata("format", kCheckpointFormat);
    out.set_metadata("optimizer_steps", std::to_string(optimizer.steps_taken()));
    out.with_checksum();
    out.write(path);
}

// load_checkpoint(path, model[, optimizer]): restores what save_checkpoint wrote (the weights
// alone without an optimizer, for evaluation; a null optimizer is the same); returns the metadata.
// With an optimizer (resuming) the weights must be stored in the model's type; without one they
// may also be widened (a bf16 run's weights read into a float model for evaluation), never narrowed.
template <class Model, optim::Optimizer Opt>
std::map<std::string, std::string> load_checkpoint(const std::filesystem::path& path, Model& model, Opt* optimizer) {
    const auto in = SafetensorsFile::read(path);
    const auto& meta = in.metadata();
    const auto format = meta.find("format");
    CONTRA_CHECK(format != meta.end() && format->second == kCheckpointFormat, path.string(),
                 ": not a contra checkpoint (metadata 'format' is not ", kCheckpointFormat, ")");
    in.verify_checksum();  // checkpoints written before checksums existed have none to check
    load_weights(in, model, "model/", optimizer ? Convert::exact : Convert::widen, /*allow_extra=*/false);
    if (optimizer) {
        optimizer->visit_state([&](const std::string& name, auto& state) {
            using T = typename std::remove_cvref_t<decltype(state)>::value_type;
            const std::string key = "optimizer/" + name;
            CONTRA_CHECK(in.contains(key), path.string(), ": optimizer state ", key, " is missing");
            CONTRA_CHECK(in.info(key).shape == state.shape(), path.string(), ": ", key, " has shape ", in.info(key).shape,
                         ", expected ", state.shape());
            copy(in.get<T>(key), state);
        });
        const auto steps = meta.find("optimizer_steps");
        CONTRA_CHECK(steps != meta.end(), path.string(), ": metadata 'optimizer_steps' is missing");
        optimizer->set_steps_taken(std::stoll(steps->second));
    }
    return meta;
}
template <class Model>
std::map<std::string, std::string> load_checkpoint(const std::filesystem::path& path, Model& model) {
    return load_checkpoint(path, model, static_cast<optim::detail::NoOptimizer*>(nullptr));
}

// ─── a run's checkpoints: the last few kept, the newest under one name ─────────────────────────

// save_rotating(dir, step, model, optimizer, metadata, keep): writes dir/checkpoint-<step>.safetensors
// (atomically, with a checksum), points dir/checkpoint.safetensors at it (a hard link renamed into
// place, so that name too changes all at once) and deletes all but the `keep` newest step files.
//   ensures: killed at any moment, dir holds the previous checkpoint or the new one, whole.
template <class Model, optim::Optimizer Opt>
std::filesystem::path save_rotating(const std::filesystem::path& dir, std::int64_t step, Model& model, Opt& optimizer, const std::map<std::string, std::string>& metadata,
                                    int keep = 3) {
    namespace fs = std::filesystem;
    char name[64];
    std::snprintf(name, sizeof name, "checkpoint-%09lld.safetensors", (long long)step);
    const fs::path file = dir / name, latest = dir / "checkpoint.safetensors";
    save_checkpoint(file, model, optimizer, metadata);
    const fs::path link = dir / (".checkpoint.link." + std::to_string(::getpid()));
    fs::remove(link);
    fs::create_hard_link(file, link);
    fs::rename(link, latest);
    AtomicFile::sync_directory(dir);
    auto steps = detail::step_checkpoints(dir);
    for (std::size_t i = 0; i + std::size_t(std::max(keep, 1)) < steps.size(); ++i) fs::remove(steps[i]);
    return file;
}

// newest_checkpoint(dir): dir/checkpoint.safetensors when it is whole (checksum verified), else
// the newest step file that is; the file must be a contra checkpoint. `why` (if given) says why
// an older file was chosen.
inline std::filesystem::path newest_checkpoint(const std::filesystem::path& dir, std::string* why = nullptr) {
    namespace fs = std::filesystem;
    std::vector<fs::path> candidates{dir / "checkpoint.safetensors"};
    const auto steps = detail::step_checkpoints(dir);
    candidates.insert(candidates.end(), steps.rbegin(), steps.rend());
    std::string problems;
    for (const auto& path : candidates) {
        if (!fs::exists(path)) continue;
        try {
            const auto f = SafetensorsFile::read(path);
            const auto format = f.metadata().find("format");
            CONTRA_CHECK(format != f.metadata().end() && format->second == kCheckpointFormat, path.string(),
                         ": not a contra checkpoint");
            f.verify_checksum();
            if (why) *why = problems;
            return path;
        } catch (const Error& e) {
            problems += std::string(problems.empty() ? "" : "; ") + e.what();
        }
    }
    throw Error("no usable checkpoint in " + dir.string() + (problems.empty() ? " (none found)" : ": " + problems));
}

}  // namespace contra::io
