// contra train --device cuda: the same short shapes run on the GPU and on the CPU follows the same
// losses, gradient norms and temperature step by step and ends at the same zero-shot accuracy;
// in bf16 (--precision bf16) it does so to bf16's precision.
// Without a GPU (or without CUDA in the program) the command is one clear error instead, and the
// test says it was skipped.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../examples/contra/commands.hpp"
#include "../support/skip.hpp"
#include "../support/temp_dir.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {

cli::TrainOptions device_run(const fs::path& out, const std::string& device) {
    cli::TrainOptions o;
    o.dataset = "shapes";
    o.device = device;
    o.precision = "fp32";  // on a GPU the default is bf16
    o.steps = 6;
    o.batch = 16;
    o.train_subset = 96;
    o.eval_subset = 48;
    o.no_probe = true;
    o.eval_points = 1;
    o.seed = 3;
    o.out = out.string();
    return o;
}

std::vector<nlohmann::json> step_lines(const fs::path& metrics) {
    std::ifstream in(metrics);
    REQUIRE(in.good());
    std::vector<nlohmann::json> steps;
    for (std::string line; std::getline(in, line);) {
        const auto j = nlohmann::json::parse(line);
        if (j.contains("loss")) steps.push_back(j);
    }
    return steps;
}

bool close(double a, double b, double rel) { return std::abs(a - b) <= rel * std::max(1.0, std::abs(a)); }

}  // namespace

TEST_CASE("contra train --device cuda follows the CPU run step by step (or says clearly why it cannot run)") {
    test::TempDir dir("cli_train_cuda");
    auto gpu = device_run(dir / "cuda", "cuda");
    try {
        cli::train_command(gpu);
    } catch (const Error& e) {
        const std::string why = e.what();
        CAPTURE(why);
        REQUIRE(test::says_no_gpu(why));  // any other error is a failure
        CHECK(why.find("use --device cpu") != std::string::npos);
        CHECK(!fs::exists(dir / "cuda"));  // refused before anything was written
        cli::EvalOptions eval;
        eval.checkpoint = (dir / "cuda").string();
        eval.device = "cuda";
        CHECK_THROWS_WITH_AS(cli::eval_command(eval), doctest::Contains("use --device cpu"), Error);
        test::skip(("contra train --device cuda: " + why).c_str());
        return;
    }
    auto host = device_run(dir / "cpu", "cpu");
    cli::train_command(host);

    const auto on_gpu = step_lines(dir / "cuda" / "metrics.jsonl"), on_cpu = step_lines(dir / "cpu" / "metrics.jsonl");
    REQUIRE(on_gpu.size() == 6);
    REQUIRE(on_cpu.size() == 6);
    for (std::size_t s = 0; s < on_cpu.size(); ++s) {
        CAPTURE(s);
        CAPTURE(on_gpu[s].dump());
        CAPTURE(on_cpu[s].dump());
        CHECK(close(on_gpu[s]["loss"].get<double>(), on_cpu[s]["loss"].get<double>(), 1e-3));
        CHECK(close(on_gpu[s]["grad_norm"].get<double>(), on_cpu[s]["grad_norm"].get<double>(), 1e-2));
        CHECK(close(on_gpu[s]["logit_scale"].get<double>(), on_cpu[s]["logit_scale"].get<double>(), 1e-5));
    }
    std::ifstream gpu_file(dir / "cuda" / "results.json"), cpu_file(dir / "cpu" / "results.json");
    const auto gpu_results = nlohmann::json::parse(gpu_file), cpu_results = nlohmann::json::parse(cpu_file);
    CHECK(gpu_results["options"]["device"] == "cuda");
    CHECK(cpu_results["options"]["device"] == "cpu");
    CHECK(std::abs(gpu_results["zero_shot_top1"].get<double>() - cpu_results["zero_shot_top1"].get<double>()) <= 3.0 / 48);

    // bf16 with fp32 master weights: the same run to bf16's precision (8 bits of mantissa).
    auto bf16_run = device_run(dir / "cuda_bf16", "cuda");
    bf16_run.precision = "bf16";
    cli::train_command(bf16_run);
    const auto on_gpu_bf16 = step_lines(dir / "cuda_bf16" / "metrics.jsonl");
    REQUIRE(on_gpu_bf16.size() == 6);
    for (std::size_t s = 0; s < on_cpu.size(); ++s) {
        CAPTURE(s);
        CAPTURE(on_gpu_bf16[s].dump());
        CAPTURE(on_cpu[s].dump());
        CHECK(close(on_gpu_bf16[s]["loss"].get<double>(), on_cpu[s]["loss"].get<double>(), 3e-2));
        CHECK(close(on_gpu_bf16[s]["grad_norm"].get<double>(), on_cpu[s]["grad_norm"].get<double>(), 0.15));
    }
    std::ifstream bf16_file(dir / "cuda_bf16" / "results.json");
    const auto bf16_results = nlohmann::json::parse(bf16_file);
    CHECK(bf16_results["options"]["precision"] == "bf16");
    CHECK(std::abs(bf16_results["zero_shot_top1"].get<double>() - cpu_results["zero_shot_top1"].get<double>()) <= 6.0 / 48);

    // contra eval of the GPU run's checkpoint, on the GPU and on the CPU; and of the bf16 run's on
    // the CPU (its bf16 weights widened to float): the same figures.
    const auto evaluated = [&](const std::string& run, const std::string& device) {
        cli::EvalOptions eval;
        eval.checkpoint = (dir / run).string();
        eval.device = device;
        eval.eval_subset = 48;
        eval.no_probe = true;
        cli::eval_command(eval);
        std::ifstream in(dir / run / "eval.json");
        return nlohmann::json::parse(in)["zero_shot_top1"].get<double>();
    };
    const double on_device = evaluated("cuda", "cuda"), on_host = evaluated("cuda", "cpu");
    CHECK(std::abs(on_device - on_host) <= 1.0 / 48);
    CHECK(std::abs(evaluated("cuda_bf16", "cpu") - bf16_results["zero_shot_top1"].get<double>()) <= 3.0 / 48);
}

TEST_CASE("contra train --device and --precision: what cannot be done is refused before anything is written") {
    test::TempDir dir("cli_train_device");
    const auto refusal = [&](const std::string& device, const std::string& precision) {
        auto o = device_run(dir / "run", device);
        o.precision = precision;
        try {
            cli::train_command(o);
        } catch (const Error& e) {
            CHECK(!fs::exists(dir / "run"));
            return std::string(e.what());
        }
        return std::string("(accepted)");
    };
    CHECK(refusal("tpu", "fp32").find("--device must be cpu or cuda") != std::string::npos);
    CHECK(refusal("cpu", "tf32").find("--precision tf32 is TF32 tensor-core math on a GPU") != std::string::npos);
    CHECK(refusal("cpu", "bf16").find("--precision bf16 is bf16 mixed precision") != std::string::npos);
    CHECK(refusal("cuda", "fp16").find("--precision must be fp32, tf32 or bf16") != std::string::npos);
}
