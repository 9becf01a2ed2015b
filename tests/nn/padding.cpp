// Padding never leaks into a caption's embedding: a batch is as long as its longest caption, and a
// text tower without a causal mask masks the padding keys, so each caption's embedding is the same
// alone, in any batch, padded to any length, with or without activation checkpointing.
#include <doctest/doctest.h>

#include <contra/nn/nn.hpp>

#include "../support/compare.hpp"

using namespace contra;

namespace padding_test {

// Token rows [N, L]: each caption followed by padding (id 0) up to L.
Tensor<std::int32_t, cpu> batch_of(const std::vector<std::vector<std::int32_t>>& captions, std::int64_t length) {
    auto tokens = Tensor<std::int32_t, cpu>::zeros(Shape{std::int64_t(captions.size()), length});
    for (std::size_t i = 0; i < captions.size(); ++i)
        for (std::size_t t = 0; t < captions[i].size(); ++t) tokens[std::int64_t(i) * length + std::int64_t(t)] = captions[i][t];
    return tokens;
}

template <class Text>
void check_alone_equals_batched(Text& text) {
    // The end token is the largest id (29), as CLIP's tokenizer makes it.
    const std::vector<std::vector<std::int32_t>> captions{{28, 5, 7, 29}, {28, 29}, {28, 4, 8, 9, 10, 11, 29}, {28, 3, 3, 29}};
    std::vector<Tensor<double, cpu>> alone;
    for (const auto& c : captions) alone.push_back(text.encode(batch_of({c}, std::int64_t(c.size()))).value());
    const std::vector<std::vector<std::size_t>> batches{{0, 1, 2, 3}, {1, 0}, {3, 2}, {2, 2, 1}};
    for (const auto& members : batches)
        for (std::int64_t extra : {0, 1}) {  // cut to the longest caption, or padded to the context length
            std::vector<std::vector<std::int32_t>> rows;
            std::int64_t longest = 0;
            for (auto m : members) rows.push_back(captions[m]), longest = std::max<std::int64_t>(longest, std::int64_t(captions[m].size()));
            const auto out = text.encode(batch_of(rows, extra ? text.context_length() : longest)).value();  // [N, E]
            const std::int64_t e = out.size(1);
            for (std::size_t i = 0; i < members.size(); ++i) {
                double diff = 0;
                for (std::int64_t k = 0; k < e; ++k) diff = std::max(diff, std::abs(out[std::int64_t(i) * e + k] - alone[members[i]][k]));
                CAPTURE(i);
                CHECK(diff <= 1e-12);
            }
        }
}

TEST_CASE("a caption's embedding is the same alone and in any batch, with a causal mask or without one") {
    const nn::TextConfig config{.context_length = 9, .vocab_size = 30, .width = 12, .layers = 2, .heads = 3, .mlp_width = 20};
    nn::TextTransformer<nn::ResidualBlock<double, cpu, nn::NoMask, nn::Gelu>> bidirectional(config, 6);
    bidirectional.initialize(3, "");
    nn::TextTransformer<nn::ResidualBlock<double, cpu, nn::CausalMask>> causal(config, 6);
    causal.initialize(3, "");
    {
        NoGrad no_grad;
        check_alone_equals_batched(bidirectional);
        check_alone_equals_batched(causal);
    }
    // Recording a tape, with checkpointing (the recomputation keeps its own key lengths): the same.
    bidirectional.transformer.checkpointing = true;
    Tape tape;
    Tape::Active recording(tape);
    check_alone_equals_batched(bidirectional);
    const auto loss = ad::sum(bidirectional.encode(batch_of({{28, 5, 29}, {28, 29}}, 9)));
    backward(loss);
    double norm = 0;
    for_each_parameter(bidirectional, [&](const std::string&, Parameter<double, cpu>& p) {
        for (std::int64_t i = 0; i < p.numel(); ++i) norm += p.grad()[i] * p.grad()[i];
    });
    CHECK(std::isfinite(norm));
    CHECK(norm > 0);
}

}  // namespace padding_test
