// Must NOT compile: a text tower without a causal mask whose blocks cannot take a key-padding
// mask. Its padding tokens would change every caption's embedding.
#include <contra/contra.hpp>

using namespace contra;

// A block whose forward takes no key lengths (as a hand-written block might).
struct PlainBlock : nn::ResidualBlock<float, cpu, nn::NoMask> {
    using nn::ResidualBlock<float, cpu, nn::NoMask>::ResidualBlock;
    Var<float, cpu> forward(const Var<float, cpu>& x) const { return nn::ResidualBlock<float, cpu, nn::NoMask>::forward(x); }
};
using Wrong = nn::TextTransformer<PlainBlock>;

int main() {
    Wrong tower(model::preset("tiny").text, 8);
    return int(tower.output_dim());
}
