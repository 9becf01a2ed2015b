// contra embed, grad, zeroshot, index and eval --model with --device cuda: the same model on the GPU
// gives the CPU's embeddings, loss, gradients, label probabilities, index vectors and zero-shot
// accuracy to float's precision.
// Without a GPU (or without CUDA in the program) each is one clear error before anything is
// written, and the test says it was skipped.
#include <doctest/doctest.h>

#include <contra/search/index.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../../examples/contra/commands.hpp"
#include "../support/compare.hpp"
#include "../support/skip.hpp"
#include "../support/temp_dir.hpp"
#include "../support/tiny_checkpoint.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace pretrained_cuda_test {

// Every tensor of two safetensors files agrees: |a − b| ≤ rtol · max|b| (float sums in other orders).
void check_same_tensors(const fs::path& gpu, const fs::path& cpu_file, double rtol) {
    const auto a = io::SafetensorsFile::read(gpu), b = io::SafetensorsFile::read(cpu_file);
    REQUIRE(a.names() == b.names());
    for (const auto& name : b.names()) {
        CAPTURE(name);
        const auto x = a.get<float>(name, io::Convert::allow), y = b.get<float>(name, io::Convert::allow);
        double largest = 0;
        for (std::int64_t i = 0; i < y.numel(); ++i) largest = std::max(largest, std::abs(double(y[i])));
        CHECK(test::max_abs_diff(x, y) <= rtol * std::max(largest, 1e-30));
    }
}

}  // namespace pretrained_cuda_test

TEST_CASE("contra embed, grad, zeroshot and index --device cuda agree with the CPU (or say clearly why they cannot run)") {
    using namespace pretrained_cuda_test;
    test::TempDir dir("cli_pretrained_cuda");
    const auto model = test::tiny_checkpoint(dir / "model" / "checkpoint.safetensors", 5);
    const auto p = io::describe_pretrained(model, {});
    const std::int64_t side = p.config.vision.image_size;
    {
        io::SafetensorsWriter inputs;
        inputs.add("pixel_values", cast<float>(test::random_tensor(Shape{3, 3, side, side}, 4)));
        auto ids = Tensor<std::int64_t, cpu>::zeros(Shape{3, 32});
        for (std::int64_t i = 0; i < 3; ++i)
            for (std::int64_t t = 0; t < 4 + i; ++t) ids[i * 32 + t] = 40 + 7 * i + t;  // end token: the largest id
        inputs.add("input_ids", ids);
        inputs.write(dir / "inputs.safetensors");
    }
    for (int i = 0; i < 3; ++i) test::write_png(dir / "photos" / ("p" + std::to_string(i) + ".png"), 20 + 3 * i, 17, i);
    for (int i = 0; i < 6; ++i)
        test::write_png(dir / "classes" / (i % 2 ? "grass" : "sand") / ("p" + std::to_string(i) + ".png"), 16 + i, 15, 10 + i);

    const auto embed_options = [&](const std::string& device) {
        cli::EmbedOptions o;
        o.model.path = model;
        o.inputs = (dir / "inputs.safetensors").string();
        o.out = (dir / (device + "-embed.safetensors")).string();
        o.device = device;
        return o;
    };
    const auto zeroshot_options = [&](const std::string& device) {
        cli::ZeroShotOptions o;
        o.model.path = model;
        o.labels = "a red square,grass,a cat";
        for (int i = 0; i < 3; ++i) o.images.push_back((dir / "photos" / ("p" + std::to_string(i) + ".png")).string());
        o.device = device;
        return o;
    };
    const auto index_options = [&](const std::string& device) {
        cli::IndexOptions o;
        o.model.path = model;
        o.input = (dir / "photos").string();
        o.out = (dir / (device + ".index")).string();
        o.device = device;
        o.quiet = true;
        return o;
    };

    const auto eval_options = [&](const std::string& device) {
        cli::EvalOptions o;
        o.model = model;
        o.folder = (dir / "classes").string();
        o.templates = (dir / "templates.txt").string();
        o.out = (dir / ("eval-" + device) / "results.json").string();
        o.device = device;
        return o;
    };
    test::write_file(dir / "templates.txt", "a photo of {}.\n{} on the ground.\n");

    try {
        cli::embed_command(embed_options("cuda"), false);
    } catch (const Error& e) {
        const std::string why = e.what();
        CAPTURE(why);
        REQUIRE(test::says_no_gpu(why));  // any other error is a failure
        CHECK(why.find("use --device cpu") != std::string::npos);
        CHECK(!fs::exists(dir / "cuda-embed.safetensors"));
        CHECK_THROWS_WITH_AS(cli::embed_command(embed_options("cuda"), true), doctest::Contains("use --device cpu"), Error);
        CHECK_THROWS_WITH_AS(cli::zeroshot_probabilities(zeroshot_options("cuda")), doctest::Contains("use --device cpu"), Error);
        CHECK_THROWS_WITH_AS(cli::index_command(index_options("cuda")), doctest::Contains("use --device cpu"), Error);
        CHECK(!fs::exists(dir / "cuda.index"));
        CHECK_THROWS_WITH_AS(cli::eval_command(eval_options("cuda")), doctest::Contains("use --device cpu"), Error);
        CHECK(!fs::exists(dir / "eval-cuda" / "results.json"));
        auto f64 = embed_options("cuda");
        f64.dtype = "f64";
        CHECK_THROWS_WITH_AS(cli::embed_command(f64, false), doctest::Contains("--dtype f64 runs on --device cpu"), Error);
        CHECK_THROWS_WITH_AS(cli::embed_command(embed_options("tpu"), false), doctest::Contains("--device must be cpu or cuda"), Error);
        test::skip(("contra embed --device cuda: " + why).c_str());
        return;
    }
    cli::embed_command(embed_options("cpu"), false);
    check_same_tensors(dir / "cuda-embed.safetensors", dir / "cpu-embed.safetensors", 1e-4);

    auto gpu_grad = embed_options("cuda"), cpu_grad = embed_options("cpu");
    gpu_grad.out = (dir / "cuda-grad.safetensors").string();
    cpu_grad.out = (dir / "cpu-grad.safetensors").string();
    cli::embed_command(gpu_grad, true);
    cli::embed_command(cpu_grad, true);
    check_same_tensors(dir / "cuda-grad.safetensors", dir / "cpu-grad.safetensors", 1e-3);

    const auto on_gpu = cli::zeroshot_probabilities(zeroshot_options("cuda"));
    const auto on_cpu = cli::zeroshot_probabilities(zeroshot_options("cpu"));
    REQUIRE(on_gpu.size() == on_cpu.size());
    for (std::size_t i = 0; i < on_cpu.size(); ++i)
        for (std::size_t c = 0; c < on_cpu[i].size(); ++c) CHECK(on_gpu[i][c] == doctest::Approx(on_cpu[i][c]).epsilon(1e-4));

    cli::index_command(index_options("cuda"));
    cli::index_command(index_options("cpu"));
    const auto gpu_index = search::read_index(dir / "cuda.index"), cpu_index = search::read_index(dir / "cpu.index");
    REQUIRE(gpu_index.files.size() == 3);
    REQUIRE(gpu_index.vectors.size() == cpu_index.vectors.size());
    for (std::size_t i = 0; i < gpu_index.vectors.values().size(); ++i)
        CHECK(gpu_index.vectors.values()[i] == doctest::Approx(cpu_index.vectors.values()[i]).epsilon(1e-4));

    // eval --model: the same zero-shot accuracy on the folder (a near-tie may flip one of 6 images).
    cli::eval_command(eval_options("cuda"));
    cli::eval_command(eval_options("cpu"));
    const auto accuracy = [&](const std::string& device) {
        std::ifstream in(dir / ("eval-" + device) / "results.json");
        return nlohmann::json::parse(in)["tasks"][0]["metrics"]["acc1"].get<double>();
    };
    CHECK(std::abs(accuracy("cuda") - accuracy("cpu")) <= 1.0 / 6 + 1e-9);
}
