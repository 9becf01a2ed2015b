// Must NOT compile: an image tower built from causally masked blocks (a text tower's blocks).
// VisionTransformer states that every patch sees every other one.
#include <contra/contra.hpp>

using namespace contra;
using Wrong = nn::VisionTransformer<nn::ResidualBlock<float, cpu, nn::CausalMask>>;

int main() {
    Wrong tower(model::preset("tiny").vision, 8);
    return int(tower.output_dim());
}
