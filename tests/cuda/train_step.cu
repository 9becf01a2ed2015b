// A whole CLIP on the GPU against the same model on the CPU: three training steps (loss, backward,
// AdamW) of the tiny OpenAI model in float from the same weights and batch, its forward pass in
// double, and two training steps of a small ResNet CLIP (convolutions, batch norm, pooling) in
// double. Activation checkpointing on the GPU: the same gradients from less step memory.
#include "gpu.cuh"

#include <contra/bench/train_step.hpp>

#include "../support/models.hpp"  // the CPU models, compiled once by the host compiler (contra_test_models)
#include <string>
#include <vector>

using namespace contra;
using test::have_gpu;

namespace {

constexpr std::int64_t kBatch = 6;

template <class T, class B>
std::vector<std::pair<std::string, Tensor<T, cpu>>> parameters_of(model::OpenAiClip<T, B>& model) {
    std::vector<std::pair<std::string, Tensor<T, cpu>>> out;
    model.visit_parameters([&](const std::string& name, Parameter<T, B>& p) {
        out.emplace_back(name, to_device<cpu>(p.value()));
    });
    return out;
}

// `steps` steps as the training loop takes them; the loss of each.
template <class T, class B>
std::vector<double> train(model::OpenAiClip<T, B>& model, const Tensor<T, cpu>& images, const Tensor<ops::Index, cpu>& tokens,
                          int steps) {
    optim::AdamW<T, B> optimizer(model);
    const auto batch = to_device<device_of<B>>(images);
    Tape tape;
    std::vector<double> losses;
    for (int step = 0; step < steps; ++step) {
        tape.reset();
        Tape::Active recording(tape);
        optimizer.zero_grad();
        const auto loss = model.loss(batch, tokens);
        backward(loss);
        optimizer.step(5e-4);
        model.clamp_parameters();
        losses.push_back(double(loss.value().item()));
    }
    return losses;
}

}  // namespace

TEST_CASE("three training steps of the tiny CLIP on the GPU match the CPU") {
    if (!have_gpu()) return;
    const auto config = model::preset("tiny");
    const auto images = bench::random_images(config.vision, kBatch);
    const auto tokens = bench::random_tokens(config.text, kBatch);
    model::OpenAiClip<float, cpu> on_cpu(config, 7);
    model::OpenAiClip<float, cuda> on_gpu(config, 7);
    const auto initial = parameters_of(on_cpu);

    const auto cpu_losses = train(on_cpu, images, tokens, 3);
    const auto gpu_losses = train(on_gpu, images, tokens, 3);
    REQUIRE(gpu_losses.size() == cpu_losses.size());
    for (std::size_t i = 0; i < cpu_losses.size(); ++i) {
        INFO("step " << i << ": cpu " << cpu_losses[i] << ", gpu " << gpu_losses[i]);
        CHECK(std::isfinite(gpu_losses[i]));
        CHECK(std::abs(gpu_losses[i] - cpu_losses[i]) <= 1e-4 * std::abs(cpu_losses[i]));
    }

    const auto cpu_params = parameters_of(on_cpu), gpu_params = parameters_of(on_gpu);
    REQUIRE(cpu_params.size() == gpu_params.size());
    double largest_move = 0;
    for (std::size_t i = 0; i < cpu_params.size(); ++i) {
        const auto& name = cpu_params[i].first;
        INFO("parameter " << name);
        REQUIRE(gpu_params[i].first == name);
        largest_move = std::max(largest_move, test::max_abs_diff(cpu_params[i].second, initial[i].second));
        if (!name.ends_with("attn.in_proj_bias")) {
            CHECK_CLOSE(gpu_params[i].second, cpu_params[i].second, 1e-4, 1e-5);
            continue;
        }
        // The key bias adds q·b_k to every score of a row, which the softmax cancels: its gradient is
        // zero but for rounding (about 1e-8 here), and the backends round differently. AdamW divides
        // that noise by √v + ε and steps lr·|g|/(|g| + ε) in the noise's direction, so the two key
        // biases move by unrelated amounts (seen on an H200: 6e-6 against -4e-6). Each is checked to
        // have moved by a small part of a real step; the query and value biases are compared.
        const auto third = cpu_params[i].second.numel() / 3;
        const auto gpu = gpu_params[i].second.to_vector(), cpu_values = cpu_params[i].second.to_vector();
        const auto start = initial[i].second.to_vector();
        for (std::int64_t e = 0; e < 3 * third; ++e) {
            const auto k = std::size_t(e);
            INFO("element " << e << ": gpu " << gpu[k] << ", cpu " << cpu_values[k]);
            if (e >= third && e < 2 * third) {
                const double small_part = 0.1 * 3 * 5e-4;  // a tenth of three full steps of lr 5e-4
                CHECK(std::abs(double(gpu[k]) - double(start[k])) <= small_part);
                CHECK(std::abs(double(cpu_values[k]) - double(start[k])) <= small_part);
            } else {
                CHECK(std::abs(double(gpu[k]) - double(cpu_values[k])) <= 1e-4 * std::abs(double(cpu_values[k])) + 1e-5);
            }
        }
    }
    CHECK(largest_move > 1e-3);  // the steps did move the weights (three steps of lr 5e-4)
}

TEST_CASE("the tiny CLIP's forward pass in double on the GPU matches the CPU to 1e-10") {
    if (!have_gpu()) return;
    const auto config = model::preset("tiny");
    const auto images = cast<double>(bench::random_images(config.vision, kBatch));
    const auto tokens = bench::random_tokens(config.text, kBatch);
    model::OpenAiClip<double, cpu> on_cpu(config, 11);
    model::OpenAiClip<double, cuda> on_gpu(config, 11);
    const auto d_images = to_device<cuda>(images);
    CHECK_CLOSE(to_device<cpu>(on_gpu.encode_image(d_images).value()), on_cpu.encode_image(images).value(), 1e-10, 1e-10);
    CHECK_CLOSE(to_device<cpu>(on_gpu.encode_text(tokens).value()), on_cpu.encode_text(tokens).value(), 1e-10, 1e-10);
    CHECK_CLOSE(to_device<cpu>(on_gpu.logits(d_images, tokens).value()), on_cpu.logits(images, tokens).value(), 1e-10,
                1e-10);
    const double cpu_loss = on_cpu.loss(images, tokens).value().item();
    const double gpu_loss = on_gpu.loss(d_images, tokens).value().item();
    CHECK(std::abs(gpu_loss - cpu_loss) <= 1e-10 * std::abs(cpu_loss));
}

TEST_CASE("a steady training loop on the GPU calls cudaMalloc only in its first steps") {
    if (!have_gpu()) return;
    const auto config = model::preset("tiny");
    model::OpenAiClip<float, cuda> model(config, 3);
    optim::AdamW<float, cuda> optimizer(model);
    const auto images = to_device<cuda>(bench::random_images(config.vision, kBatch));
    const auto tokens = bench::random_tokens(config.text, kBatch);
    Tape tape;
    auto step = [&] {
        tape.reset();
        Tape::Active recording(tape);
        optimizer.zero_grad();
        const auto loss = model.loss(images, tokens);
        backward(loss);
        optimizer.step(5e-4);
        return double(loss.value().item());
    };
    for (int i = 0; i < 3; ++i) step();
    const auto before = cu::memory_stats().device_allocations;
    for (int i = 0; i < 3; ++i) CHECK(std::isfinite(step()));
    CHECK(cu::memory_stats().device_allocations == before);
}

TEST_CASE("two training steps of a small ResNet CLIP in double on the GPU match the CPU") {
    if (!have_gpu()) return;
    const auto config = model::preset("tiny");
    const nn::ResNetConfig resnet{64, 3, 4, 2, {1, 1, 1, 1}};
    model::OpenAiResNetClip<double, cpu> on_cpu(config, resnet, 11);
    model::OpenAiResNetClip<double, cuda> on_gpu(config, resnet, 11);
    const auto images = test::random_tensor(Shape{3, 3, 64, 64}, 9);
    const auto tokens = Tensor<ops::Index, cpu>::from(Shape{3, 4}, {23, 5, 1, 0, 3, 23, 0, 0, 7, 7, 9, 23});
    auto run = [&](auto& model) {
        using Model = std::remove_cvref_t<decltype(model)>;
        using B = typename Model::backend;
        optim::AdamW<double, B> optimizer(model);
        const auto batch = to_device<device_of<B>>(images);
        std::vector<double> losses;
        for (int step = 0; step < 2; ++step) {
            Tape tape;
            Tape::Active recording(tape);
            optimizer.zero_grad();
            const auto loss = model.loss(batch, tokens);
            losses.push_back(loss.value().item());
            backward(loss);
            optim::clip_grad_norm(model, 1.0);
            optimizer.step(1e-3);
            model.clamp_parameters();
        }
        std::vector<Tensor<double, cpu>> state;
        model.visit_parameters([&](const std::string&, auto& p) { state.push_back(to_device<cpu>(p.value())); });
        model.visit_buffers([&](const std::string&, auto& b) { state.push_back(to_device<cpu>(b)); });
        return std::pair{losses, state};
    };
    const auto [cpu_losses, cpu_state] = run(on_cpu);
    const auto [gpu_losses, gpu_state] = run(on_gpu);
    for (std::size_t i = 0; i < cpu_losses.size(); ++i)
        CHECK(std::abs(gpu_losses[i] - cpu_losses[i]) <= 1e-10 * std::abs(cpu_losses[i]));
    REQUIRE(gpu_state.size() == cpu_state.size());
    for (std::size_t i = 0; i < cpu_state.size(); ++i) {
        INFO("parameter or buffer " << i);
        CHECK_CLOSE(gpu_state[i], cpu_state[i], 1e-8, 1e-10);
    }
}

TEST_CASE("activation checkpointing on the GPU: the same loss and gradients, less memory on the tape") {
    if (!have_gpu()) return;
    auto config = model::preset("tiny");
    config.vision.layers = 3;
    config.text.layers = 3;
    const auto images = to_device<cuda>(bench::random_images(config.vision, kBatch));
    const auto tokens = bench::random_tokens(config.text, kBatch);
    const auto run = [&](bool checkpointing, std::size_t& peak) {
        model::OpenAiClip<float, cuda> model(config, 4);
        model.visual.transformer.checkpointing = model.text.transformer.checkpointing = checkpointing;
        Tape tape;
        Tape::Active recording(tape);
        const auto loss = model.loss(images, tokens);
        backward(loss);
        peak = tape.arena<cuda>().peak_bytes();
        std::vector<std::pair<std::string, Tensor<float, cpu>>> grads;
        model.visit_parameters(
            [&](const std::string& name, Parameter<float, cuda>& p) { grads.emplace_back(name, to_device<cpu>(p.grad())); });
        grads.emplace_back("loss", to_device<cpu>(loss.value()));
        return grads;
    };
    std::size_t plain_peak = 0, checkpointed_peak = 0;
    const auto plain = run(false, plain_peak), checkpointed = run(true, checkpointed_peak);
    REQUIRE(plain.size() == checkpointed.size());
    for (std::size_t i = 0; i < plain.size(); ++i) {
        INFO(plain[i].first);
        CHECK_CLOSE(checkpointed[i].second, plain[i].second, 1e-5, 1e-7);
    }
    CHECK(checkpointed_peak < plain_peak);
}
