// The model-typed halves of `contra embed`, `contra grad` and `contra zeroshot`: what they do with a
// model once it is built and its weights loaded, on whichever device it lives. pretrained.cpp runs
// them on the CPU models; commands_cuda.cu on the GPU ones (`--device cuda`).
#pragma once
#include <contra/data/image.hpp>
#include <contra/tasks/evaluate.hpp>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "models.hpp"

namespace contra::cli {

// embed (gradients = false): image_embeds, text_embeds and logits_per_image of `in`'s pixel_values
// and input_ids into `out_path`; grad (true): the loss of the paired batch and every parameter's
// gradient, named as p's layout names them.
//   requires: `in` holds pixel_values or input_ids (both for grad, as many of each).
template <class M>
void embed_with(M& model, const io::Pretrained& p, const io::SafetensorsFile& in, bool gradients, const std::string& out_path) {
    using T = typename M::value_type;
    using B = typename M::backend;
    using V = Var<T, B>;
    const bool has_images = in.contains("pixel_values"), has_texts = in.contains("input_ids");
    Tape tape;
    Tape::Active recording(tape);
    io::SafetensorsWriter out;
    std::optional<V> images, texts;
    if (has_images)
        images = model.encode_image(to_device<device_of<B>>(read_pixels<T>(in, "pixel_values", p.config.vision)));  // [N, E]
    if (has_texts) texts = model.encode_text(read_ids(in, "input_ids"));                                          // [M, E]
    const auto host = [](const auto& t) { return to_device<cpu>(t); };
    if (gradients) {
        CONTRA_CHECK(images->value().size(0) == texts->value().size(0), in.source(), ": ", images->value().size(0),
                     " images and ", texts->value().size(0), " texts; the loss pairs them row by row");
        const auto loss = model.loss_fn(*images, *texts);
        backward(loss);
        const auto loss_value = host(loss.value());
        out.add("loss", loss_value.reshape(Shape{}));
        const std::string prefix = p.layout == io::WeightLayout::hf ? "" : p.prefix;
        const auto layout = p.layout == io::WeightLayout::hf ? io::WeightLayout::hf : io::WeightLayout::openai;
        for (auto& named : io::layout_tensors(model, layout, [](auto& q) { return q.grad(); }))
            out.add(prefix + named.first, named.second);
        std::printf("loss %.6f\n", double(loss_value[0]));
    } else {
        if (images) out.add("image_embeds", host(ad::l2_normalize(*images).value()));
        if (texts) out.add("text_embeds", host(ad::l2_normalize(*texts).value()));
        if (images && texts) out.add("logits_per_image", host(model.loss_fn.logits(*images, *texts).value()));
    }
    out.write(out_path);
}

// What zeroshot classifies: image files, each decoded and preprocessed to `image_size`, against
// labels put through every template.
struct ZeroShotJob {
    const tasks::CaptionEncoder& encoder;
    const std::vector<std::string>& labels;
    const std::vector<std::string>& templates;
    const std::vector<std::string>& images;
    std::int64_t image_size;
};

// For each image, the probability of each label (in the job's order).
template <class M>
std::vector<std::vector<double>> zeroshot_with(M& model, const ZeroShotJob& job) {
    const std::int64_t size = job.image_size, pixels = 3 * size * size;
    const auto classifier = tasks::zero_shot_classifier(model, job.encoder, job.labels, job.templates);  // [C, E]
    const auto load = [&](std::int64_t begin, std::int64_t end) {
        auto batch = Tensor<float, cpu>::empty(Shape{end - begin, 3, size, size});  // [b, 3, S, S]
        for (std::int64_t i = begin; i < end; ++i)
            data::preprocess_into<float>(data::read_image(job.images[std::size_t(i)]), int(size), batch.data() + (i - begin) * pixels);
        return batch;
    };
    const auto images = tasks::embed_images(model, load, std::int64_t(job.images.size()), 16);  // [N, E]
    return eval::class_probabilities(eval::zero_shot_logits(images, classifier));             // N × C
}

// A model as a function of image batches: images [N, 3, S, S] on the host → embeddings [N, E] (not
// normalised) on the host, embedded `batch` at a time. contra index takes its model this way.
using ImageEmbedder = std::function<Tensor<float, cpu>(const Tensor<float, cpu>& images, std::int64_t batch)>;

// The GPU halves (commands_cuda.cu; without CUDA they raise the no-CUDA error): the model of p in
// float on the GPU, a ViT CLIP with InfoNCE and a causal text tower.
void embed_on_cuda(const io::Pretrained& p, const io::SafetensorsFile& in, bool gradients, const std::string& out_path);
std::vector<std::vector<double>> zeroshot_on_cuda(const io::Pretrained& p, const ZeroShotJob& job);
void with_image_embedder_on_cuda(const io::Pretrained& p, const std::function<void(const ImageEmbedder&)>& f);

}  // namespace contra::cli
