// contra embed / contra grad: a pretrained model on preprocessed inputs, for comparing contra
// with other implementations tensor by tensor.
//   embed: IN {pixel_values [N,C,S,S], input_ids [M,T]} → OUT {image_embeds [N,E], text_embeds
//          [M,E] (L2-normalised), logits_per_image [N,M] when both are given}
//   grad:  the symmetric CLIP loss of the paired batch (N = M) → OUT {loss, <parameter name>: its
//          gradient}, names and shapes as the checkpoint stores them (HF names for an HF model)
#pragma once
#include <cstdio>

#include "pretrained.hpp"

namespace contra::cli {

struct EmbedOptions {
    ModelOptions model;
    std::string inputs, out, dtype = "f32";
};

template <class T>
void embed_command(const EmbedOptions& o, bool gradients) {
    const auto p = o.model.describe();
    const auto in = io::SafetensorsFile::read(o.inputs);
    const bool has_images = in.contains("pixel_values"), has_texts = in.contains("input_ids");
    CONTRA_CHECK(has_images || has_texts, o.inputs, ": holds neither pixel_values nor input_ids");
    CONTRA_CHECK(!gradients || (has_images && has_texts), o.inputs, ": the loss needs both pixel_values and input_ids");
    with_pretrained<T>(p, [&](auto& model) {
        using V = Var<T, cpu>;
        Tape tape;
        Tape::Active recording(tape);
        io::SafetensorsWriter out;
        std::optional<V> images, texts;
        if (has_images) images = model.encode_image(read_pixels<T>(in, "pixel_values", p.config.vision));  // [N, E]
        if (has_texts) texts = model.encode_text(read_ids(in, "input_ids"));                                // [M, E]
        if (gradients) {
            CONTRA_CHECK(images->value().size(0) == texts->value().size(0), o.inputs, ": ", images->value().size(0),
                         " images and ", texts->value().size(0), " texts; the loss pairs them row by row");
            const V loss = model.loss_fn(*images, *texts);
            backward(loss);
            out.add("loss", loss.value().reshape(Shape{}));
            const std::string prefix = p.layout == io::WeightLayout::hf ? "" : p.prefix;
            const auto layout = p.layout == io::WeightLayout::hf ? io::WeightLayout::hf : io::WeightLayout::openai;
            for (auto& named : io::layout_tensors(model, layout, [](auto& q) { return q.grad(); }))
                out.add(prefix + named.first, named.second);
            std::printf("loss %.6f\n", double(loss.value()[0]));
        } else {
            if (images) out.add("image_embeds", ad::l2_normalize(*images).value());
            if (texts) out.add("text_embeds", ad::l2_normalize(*texts).value());
            if (images && texts) out.add("logits_per_image", model.loss_fn.logits(*images, *texts).value());
        }
        out.write(o.out);
    });
    std::printf("wrote %s\n", o.out.c_str());
}

inline void add_embed(CLI::App& app, EmbedOptions& o, std::function<void()>& run, bool gradients) {
    auto* cmd = gradients
                    ? app.add_subcommand("grad", "The CLIP loss of a paired batch and the gradient of every parameter")
                    : app.add_subcommand("embed", "Image and text embeddings (and logits) of preprocessed inputs");
    add_model_options(cmd, o.model);
    cmd->add_option("--inputs", o.inputs, "safetensors with pixel_values [N,C,H,W] and/or input_ids [M,T]")->required();
    cmd->add_option("--out", o.out, "safetensors file to write")->required();
    cmd->add_option("--dtype", o.dtype, "Compute type: f32 or f64")->check(CLI::IsMember({"f32", "f64"}))->capture_default_str();
    cmd->callback([&o, &run, gradients] {
        run = [&o, gradients] { o.dtype == "f64" ? embed_command<double>(o, gradients) : embed_command<float>(o, gradients); };
    });
}

}  // namespace contra::cli
