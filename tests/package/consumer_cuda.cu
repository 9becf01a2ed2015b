// contra::cuda: a CUDA translation unit with the cuda backend; without a GPU it says so and exits 0
// (it was compiled and linked, which is what the package check asks of a machine without one).
#include <contra/cuda.hpp>

#include <cstdio>

int main() {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("contra::cuda: built; no GPU here to run on\n");
        return 0;
    }
    using namespace contra;
    const auto host = Tensor<float, cpu>::full(Shape{4}, 2.0f);
    auto device = to_device<cuda>(host);
    ops::affine(cuda{}, device, 3.0f, 1.0f, device);  // 3·2 + 1
    const auto back = to_device<cpu>(device);
    std::printf("contra::cuda: %.1f\n", double(back[0]));
    return back[0] == 7.0f ? 0 : 1;
}
