// Must NOT compile: a float image tower beside a double text tower. Clip computes the loss
// between their embeddings, so both towers and the loss must share element type and backend.
#include <contra/contra.hpp>

using namespace contra;
using Wrong = model::Clip<nn::OpenAiVision<float, cpu>, nn::OpenAiText<double, cpu>, loss::InfoNce<float, cpu>>;

int main() {
    Wrong model(model::preset("tiny"));
    return int(model.parameter_count());
}
