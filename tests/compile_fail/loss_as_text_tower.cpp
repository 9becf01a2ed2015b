// Must NOT compile: a loss where the text tower belongs. The compiler names the unmet concept
// (nn::TextTower). tests/CMakeLists.txt builds this file and expects the build to fail.
#include <contra/contra.hpp>

using namespace contra;
using Wrong = model::Clip<nn::OpenAiVision<float, cpu>, loss::InfoNce<float, cpu>, loss::InfoNce<float, cpu>>;

int main() {
    Wrong model(model::preset("tiny"));
    return int(model.parameter_count());
}
