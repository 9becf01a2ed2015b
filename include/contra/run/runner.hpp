// contra/run/runner.hpp — everything a training run keeps besides the weights in memory, for any
// model and optimizer: the run folder, checkpoints every few steps (the newest few kept) and
// resuming from them, metrics.jsonl (one line a step, plus the probes measured during training),
// the curves as SVG, results.json (the run's figures and the final evaluation), report.html (all
// of it on one page, report/html_run.hpp; rewritten at each probe), a live progress display,
// and Ctrl-C that saves and stops.
//
//   run::RunSpec spec;  spec.out = "runs/mine";  spec.evaluate = [&] { return json{...}; };
//   const auto result = run::train(model, optimizer, pairs, options, spec);
//   ... later: auto point = run::resume_point("runs/mine");  run::train(..., run::restore(point, model, optimizer));
//
// Under data parallelism (options.comm) every rank trains and rank 0 writes everything.
// defines: run::RunSpec, run::Probe, run::RunResult, run::ResumePoint, run::resume_point, run::restore,
//          run::metadata_at, run::StopOnSignal, run::train
#pragma once
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/atomic_file.hpp"
#include "../io/checkpoint.hpp"
#include "../report/html_run.hpp"
#include "../report/svg.hpp"
#include "../train/progress.hpp"
#include "../train/trainer.hpp"

namespace contra::run {

using json = nlohmann::json;

// A figure measured a few times during training (a zero-shot check, say): written to
// metrics.jsonl as {"step": s, name: value} and drawn as <chart>.svg against the step.
struct Probe {
    std::string name;               // the key in metrics.jsonl, e.g. "eval_zero_shot_top1_1k"
    std::string chart;              // the SVG's file name without ".svg" (empty: the name)
    std::string title;              // the chart's title
    std::function<double()> measure;
    std::int64_t points = 10;       // how many times over the schedule (the last step included)
    std::int64_t every = 0;         // > 0: every this many steps instead (and at the last step)
    double y_min = 0, y_max = 1;    // the chart's range
};

// What a run writes and where.
struct RunSpec {
    std::filesystem::path out;                    // the run folder (created when missing)
    json options = json::object();                // the run's options: in every checkpoint and in results.json
    std::map<std::string, std::string> metadata;  // more checkpoint metadata (model config, tokenizer, seed, ...)
    std::int64_t checkpoint_every = 1000;         // steps between checkpoints (and one at the end)
    int keep_checkpoints = 3;                     // the newest step checkpoints kept
    std::vector<Probe> probes;
    std::function<json()> evaluate;               // after training (not when stopped): merged into results.json
    bool show_progress = true;                    // a live bar on a terminal, log lines otherwise (stderr)
};

struct RunResult {
    train::State state;
    json results;          // what results.json holds (empty when the run was stopped early)
    bool stopped = false;  // options.stop was set: the run saved a checkpoint and can be resumed
};

// Where a run can go on from: a checkpoint file and its metadata.
struct ResumePoint {
    std::filesystem::path checkpoint;
    std::map<std::string, std::string> metadata;
    std::string note;  // why an older checkpoint than the newest was chosen, if it was
};

// metadata_at(meta, key, path): the value of a metadata key, or a contra::Error naming the file.
inline std::string metadata_at(const std::map<std::string, std::string>& meta, const std::string& key,
                               const std::filesystem::path& path) {
    const auto it = meta.find(key);
    CONTRA_CHECK(it != meta.end(), path.string(), ": checkpoint metadata has no '", key, "' (not written by contra::run?)");
    return it->second;
}

// resume_point(path): a checkpoint file, or a run folder's newest whole checkpoint.
inline ResumePoint resume_point(const std::filesystem::path& path) {
    ResumePoint p;
    p.checkpoint = std::filesystem::is_directory(path) ? io::newest_checkpoint(path, &p.note) : path;
    p.metadata = io::SafetensorsFile::read(p.checkpoint).metadata();
    return p;
}

// restore(point, model, optimizer): the weights and optimizer state of the checkpoint; returns
// where training stands (step, schedule length, training time so far).
template <class Model, optim::Optimizer Opt>
train::State restore(const ResumePoint& point, Model& model, Opt& optimizer) {
    io::load_checkpoint(point.checkpoint, model, &optimizer);
    train::State state;
    state.step = std::stoll(metadata_at(point.metadata, "step", point.checkpoint));
    state.total_steps = std::stoll(metadata_at(point.metadata, "total_steps", point.checkpoint));
    state.elapsed_s = std::stod(metadata_at(point.metadata, "train_seconds", point.checkpoint));
    return state;
}

// StopOnSignal: while it lives, SIGINT and SIGTERM set stop_requested() instead of killing the
// process; pass &run::StopOnSignal::stop_requested() as train::Options::stop. The previous
// handlers come back when it is destroyed.
class StopOnSignal {
public:
    StopOnSignal() {
        stop_requested().store(false);
        previous_int_ = std::signal(SIGINT, on_signal);
        previous_term_ = std::signal(SIGTERM, on_signal);
    }
    ~StopOnSignal() {
        std::signal(SIGINT, previous_int_);
        std::signal(SIGTERM, previous_term_);
    }
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;

    static std::atomic<bool>& stop_requested() {
        static std::atomic<bool> flag{false};
        return flag;
    }

private:
    static void on_signal(int) { stop_requested().store(true); }
    using Handler = void (*)(int);
    Handler previous_int_ = SIG_DFL, previous_term_ = SIG_DFL;
};

namespace detail {
inline void write_json(const std::filesystem::path& path, const json& j) { write_file_atomically(path, j.dump(2) + "\n"); }

// The curves a run draws: the loss of every step and each probe's measurements.
struct Curves {
    std::vector<double> steps, loss;
    std::vector<std::vector<double>> probe_steps, probe_values;

    void draw(const std::filesystem::path& out, const std::vector<Probe>& probes) const {
        report::write_svg(out / "loss.svg",
                          report::LineChart{"Training loss", "step", "loss", {{"loss", steps, loss}}, std::nullopt, std::nullopt});
        for (std::size_t i = 0; i < probes.size(); ++i)
            report::write_svg(out / ((probes[i].chart.empty() ? probes[i].name : probes[i].chart) + ".svg"),
                              report::LineChart{probes[i].title, "step", probes[i].name,
                                                {{probes[i].name, probe_steps[i], probe_values[i]}}, probes[i].y_min,
                                                probes[i].y_max});
    }
};

// A page that cannot be written does not stop or fail a run: it is reported on stderr and the run
// goes on (the page can be written again with `contra report`).
inline void write_report_or_warn(const std::filesystem::path& out) {
    try {
        report::write_run_report(out);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "warning: %s/report.html was not written: %s\n", out.string().c_str(), e.what());
    }
}
}  // namespace detail

// train(model, optimizer, source, options, spec, state): train::fit with everything around it.
//   state: a fresh State, or restore(resume_point(...), model, optimizer) to go on with a run
//          (metrics.jsonl is then appended to, not replaced).
//   ensures: spec.out holds checkpoint.safetensors (the newest) and up to keep_checkpoints
//            checkpoint-<step>.safetensors, metrics.jsonl, loss.svg, one SVG per probe and
//            report.html (when a step was taken); unless
//            the run was stopped, results.json with train_seconds, steps, epochs, skipped_steps, pairs_seen,
//            parameters, options and what spec.evaluate returned.
template <model::ContrastiveModel Model, optim::Optimizer Opt, class Source>
RunResult train(Model& model, Opt& optimizer, Source&& source, const train::Options& options, const RunSpec& spec,
                train::State state = {}) {
    namespace fs = std::filesystem;
    const bool lead = !options.comm || options.comm->rank() == 0;  // the rank that writes
    const int ranks = options.comm ? options.comm->size() : 1;
    if (lead) fs::create_directories(spec.out);

    std::ofstream metrics;
    if (lead) {
        metrics.open(spec.out / "metrics.jsonl", state.step > 0 ? std::ios::app : std::ios::trunc);
        CONTRA_CHECK(metrics.good(), "cannot write ", (spec.out / "metrics.jsonl").string());
    }
    train::Progress progress;
    detail::Curves curves;
    curves.probe_steps.resize(spec.probes.size());
    curves.probe_values.resize(spec.probes.size());

    // Whether `probe` evaluates the model after `step`: every `every` steps, or at `points` evenly
    // spaced steps, and after the last.
    const auto probe_due = [](const auto& probe, std::int64_t step, const train::State& s) {
        if (probe.points <= 0 && probe.every <= 0) return false;
        const std::int64_t every = probe.every > 0 ? probe.every : std::max<std::int64_t>(1, s.total_steps / probe.points);
        return step % every == 0 || step == s.total_steps;
    };
    train::Hooks hooks;
    hooks.checkpoint_every = spec.checkpoint_every;
    hooks.reads_model = [&](std::int64_t step, const train::State& s) {  // only the probes read the model
        if (!lead) return false;
        for (const auto& probe : spec.probes)
            if (probe_due(probe, step, s)) return true;
        return false;
    };
    hooks.on_step = [&](const train::StepRecord& r, const train::State& s) {
        if (!lead) return;
        if (spec.show_progress) progress.update(r, s);
        metrics << json{{"step", r.step}, {"epoch", r.epoch}, {"loss", r.loss}, {"lr", r.lr}, {"logit_scale", r.logit_scale},
                        {"grad_norm", r.grad_norm}, {"pairs_per_s", r.pairs_per_s}, {"elapsed_s", r.elapsed_s},
                        {"skipped", r.skipped}}
                       .dump()
                << "\n";
        curves.steps.push_back(double(r.step));
        curves.loss.push_back(r.loss);
        bool probed = false;
        for (std::size_t i = 0; i < spec.probes.size(); ++i) {
            const auto& probe = spec.probes[i];
            if (!probe_due(probe, r.step, s)) continue;
            const double value = probe.measure();
            metrics << json{{"step", r.step}, {probe.name, value}}.dump() << "\n";
            curves.probe_steps[i].push_back(double(r.step));
            curves.probe_values[i].push_back(value);
            probed = true;
        }
        metrics.flush();
        if (probed) detail::write_report_or_warn(spec.out);  // the page follows the run at each evaluation point
    };
    hooks.on_checkpoint = [&](const train::State& s) {
        if (!lead) return;
        auto meta = spec.metadata;
        meta["options"] = spec.options.dump();
        meta["step"] = std::to_string(s.step);
        meta["total_steps"] = std::to_string(s.total_steps);
        meta["train_seconds"] = std::to_string(s.elapsed_s);
        io::save_rotating(spec.out, s.step, model, optimizer, meta, spec.keep_checkpoints);
    };

    RunResult result;
    result.state = train::fit(model, optimizer, source, options, hooks, state);
    result.stopped = options.stop && options.stop->load() && result.state.step < result.state.total_steps;
    if (!lead) return result;
    if (spec.show_progress) progress.finish();
    curves.draw(spec.out, spec.probes);
    if (result.stopped) {
        if (state.step < result.state.step) detail::write_report_or_warn(spec.out);
        return result;
    }

    const auto& s = result.state;
    result.results = {{"train_seconds", s.elapsed_s},
                      {"steps", s.step},
                      {"epochs", double(s.step * options.batch_size * ranks) / double(std::max<std::int64_t>(1, source.size()))},
                      {"skipped_steps", s.skipped_steps},
                      {"pairs_seen", s.step * options.batch_size * ranks},
                      {"parameters", model.parameter_count()},
                      {"options", spec.options}};
    if (spec.evaluate) result.results.update(spec.evaluate());
    detail::write_json(spec.out / "results.json", result.results);
    detail::write_report_or_warn(spec.out);
    return result;
}

}  // namespace contra::run
