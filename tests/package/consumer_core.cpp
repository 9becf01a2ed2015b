// contra::core alone (Eigen): a linear image "tower" and a table of text embeddings trained for a
// few steps against each other with the symmetric InfoNCE loss and AdamW; the loss must fall.
#include <contra/contra.hpp>

#include <cstdio>

using namespace contra;

struct TinyPair {
    Parameter<float, cpu> image_proj{Shape{6, 4}}, text_table{Shape{8, 4}};
    loss::InfoNce<float, cpu> info_nce;

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        f(join(prefix, "image_proj"), image_proj);
        f(join(prefix, "text_table"), text_table);
        info_nce.visit_parameters(f, prefix);
    }
};

int main() {
    TinyPair m;
    init_normal(m.image_proj, 0.5, 1, "image_proj");
    init_normal(m.text_table, 0.5, 1, "text_table");
    m.info_nce.initialize(0);
    optim::AdamW<float, cpu> optimizer(m);
    Rng rng(3);
    auto images = Tensor<float, cpu>::empty(Shape{8, 6});  // [N, D]
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = float(rng.normal());
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
        Tape tape;
        Tape::Active recording(tape);
        optimizer.zero_grad();
        const auto image_features = ad::matmul(Var<float, cpu>(images), Var<float, cpu>(m.image_proj));  // [N, 4]
        const auto loss = m.info_nce(image_features, Var<float, cpu>(m.text_table));
        backward(loss);
        optimizer.step(0.05);
        (step == 0 ? first : last) = loss.value().item();
    }
    std::printf("contra::core: InfoNCE %.3f -> %.3f\n", first, last);
    return last < first ? 0 : 1;
}
