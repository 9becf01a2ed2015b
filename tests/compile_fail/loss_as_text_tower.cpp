// Must NOT compile: a loss where the text tower belongs. The compiler names the unmet concept
// (nn::TextTower). tests/CMakeLists.txt builds this file and expects the build to fail.
#include <contra/nn/nn.hpp>

using namespace contra;
using Wrong = nn::Clip<nn::OpenAiVision<float, cpu>, loss::InfoNce<float, cpu>, loss::InfoNce<float, cpu>>;

int main() {
    Wrong model(nn::preset("tiny"));
    return int(model.parameter_count());
}
