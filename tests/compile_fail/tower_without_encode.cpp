// Must NOT compile: an image tower of one's own that names encode() differently. Clip says which
// member of nn::ImageTower is missing instead of failing inside its own code.
#include <contra/contra.hpp>

using namespace contra;

struct MyTower {
    using value_type = float;
    using backend = cpu;
    using config_type = nn::VisionConfig;
    Parameter<float, cpu> proj{Shape{4, 8}};
    MyTower(const nn::VisionConfig&, std::int64_t) {}
    Var<float, cpu> forward(const Tensor<float, cpu>& images) const { return ad::matmul(Var<float, cpu>(images), Var<float, cpu>(proj)); }
    std::int64_t output_dim() const { return 8; }
    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) { f(join(prefix, "proj"), proj); }
    void initialize(std::uint64_t seed, const std::string& prefix) { init_normal(proj, 0.5, seed, join(prefix, "proj")); }
};
using Wrong = model::Clip<MyTower, nn::OpenAiText<float, cpu>, loss::InfoNce<float, cpu>>;

int main() {
    Wrong model(model::preset("tiny"));
    return int(model.parameter_count());
}
