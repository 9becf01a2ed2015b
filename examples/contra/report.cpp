// contra report RUN: a run folder's report.html made again from its files (contra train writes
// one at each evaluation point and at the end; older folders get one this way).
// contra compare RUN_A RUN_B ... [--out compare.html]: one page with the runs' curves overlaid,
// their results side by side and the options that differ shaded (report/html_run.hpp).
#include <CLI/CLI.hpp>
#include <contra/report/html_run.hpp>

#include <cstdio>

#include "commands.hpp"

namespace contra::cli {

void report_command(const ReportOptions& o) {
    const auto path = report::write_run_report(o.run);
    std::printf("wrote %s\n", path.string().c_str());
}

void compare_command(const CompareOptions& o) {
    CONTRA_CHECK(o.runs.size() >= 2, "contra compare needs at least two run folders, got ", o.runs.size());
    std::vector<report::RunRecord> runs;
    for (const auto& folder : o.runs) runs.push_back(report::read_run(folder));
    report::write_compare_page(std::move(runs), o.out);
    std::printf("wrote %s (%zu runs)\n", o.out.c_str(), o.runs.size());
}

void add_report_commands(CLI::App& app, std::function<void()>& run) {
    static ReportOptions r;
    auto* report = app.add_subcommand("report", "Write a run folder's report.html again from its files (curves, results, "
                                                "confusion matrix, zero-shot examples)");
    report->add_option("run", r.run, "The run folder (contra train --out)")->required();
    report->callback([&] { run = [&] { report_command(r); }; });

    static CompareOptions c;
    auto* compare = app.add_subcommand("compare", "One page comparing runs: curves overlaid, results side by side, "
                                                  "the options that differ shaded");
    compare->add_option("runs", c.runs, "Two or more run folders")->required();
    compare->add_option("--out", c.out, "The page to write")->capture_default_str();
    compare->callback([&] { run = [&] { compare_command(c); }; });
}

}  // namespace contra::cli
