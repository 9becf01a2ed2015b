// QuickGELU, GELU, tanh-GELU and ReLU and their derivatives on the GPU against the reference
// backend, in float, double and bf16.
#include "gpu.cuh"

using namespace contra;
using test::agree;
using test::have_gpu;
using test::on;
using test::rand;

TEST_CASE_TEMPLATE("activations and their derivatives agree", T, CUDA_TYPES) {
    if (!have_gpu()) return;
    using Act = ops::Activation;
    for (Shape s : {Shape{5, 41}, Shape{1}, Shape{1000, 33}}) {
        const auto x = rand<T>(s, 27, 3.0), dy = rand<T>(s, 28);
        for (auto f : {Act::quick_gelu, Act::gelu, Act::gelu_tanh, Act::relu}) {
            INFO("x " << s << " activation " << int(f));
            agree<T>([&](auto be, auto& o) { ops::activation(be, f, on(be, x), o[0]); }, {s});
            agree<T>([&](auto be, auto& o) { ops::activation_backward(be, f, on(be, x), on(be, dy), o[0]); }, {s});
        }
    }
}
