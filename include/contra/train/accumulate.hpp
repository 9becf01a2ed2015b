// contra/train/accumulate.hpp — gradient accumulation with cached features (open_clip's
// accum_freq): the gradient of one batch of k·b pairs, negatives included, from k micro-batches
// of b, holding the activations of one micro-batch at a time.
// defines: train::accumulate_gradients
#pragma once
#include <functional>
#include <utility>
#include <vector>

#include "../autograd/ops.hpp"
#include "../autograd/parameter.hpp"

namespace contra::train {

// accumulate_gradients(model, images [k·b, …], tokens [k·b, L], k, tape): adds to every
// parameter's gradient the gradient of model.loss over the whole batch, and returns that loss.
//   1. the features of every micro-batch, without recording (the cache);
//   2. for each micro-batch j: its features again, recorded, put in place of its cached rows; the
//      loss over all k·b rows; backward. Micro-batch j's towers get exactly their part of the
//      gradient; the loss's own parameters (logit_scale) take theirs once, from the first pass.
//   requires: k divides the batch; the model is deterministic (the same features when recomputed).
template <class Model, class T = typename Model::value_type>
double accumulate_gradients(Model& model, const TensorOn<T, typename Model::backend>& images,
                            const Tensor<ops::Index, cpu>& tokens, std::int64_t k, Tape& tape) {
    using B = typename Model::backend;
    using V = Var<T, B>;
    const std::int64_t total = images.size(0), b = total / std::max<std::int64_t>(k, 1);
    CONTRA_CHECK(k >= 1 && b * k == total && tokens.size(0) == total, "accumulate_gradients: ", total, " pairs (",
                 tokens.size(0), " texts) do not split into ", k, " micro-batches");
    if (k == 1) {
        tape.reset();
        Tape::Active on(tape);
        const auto loss = model.loss(images, tokens);
        backward(loss);
        return double(to_device<cpu>(loss.value())[0]);
    }
    TensorOn<T, B> image_cache, text_cache;  // [k·b, E], on the heap: they outlive tape resets
    for (std::int64_t j = 0; j < k; ++j) {
        tape.reset();
        Tape::Active on(tape);
        NoGrad cached;
        const auto img = model.encode_image(images.rows(j * b, (j + 1) * b)).value();
        const auto txt = model.encode_text(tokens.rows(j * b, (j + 1) * b)).value();
        if (j == 0) {
            image_cache = TensorOn<T, B>::empty(Shape{total, img.size(1)});
            text_cache = TensorOn<T, B>::empty(Shape{total, txt.size(1)});
        }
        auto image_rows = image_cache.rows(j * b, (j + 1) * b), text_rows = text_cache.rows(j * b, (j + 1) * b);
        copy(img, image_rows);
        copy(txt, text_rows);
    }
    double loss_value = 0;
    struct Detached {  // the loss's own parameters during passes 1…k−1, put back on exit
        std::vector<std::function<void()>> restore;
        ~Detached() {
            for (auto& put_back : restore) put_back();
        }
    } detached;
    for (std::int64_t j = 0; j < k; ++j) {
        tape.reset();
        Tape::Active on(tape);
        const V all_img = ad::with_rows(image_cache, model.encode_image(images.rows(j * b, (j + 1) * b)), j * b);  // [k·b, E]
        const V all_txt = ad::with_rows(text_cache, model.encode_text(tokens.rows(j * b, (j + 1) * b)), j * b);   // [k·b, E]
        const auto loss = model.loss_fn(all_img, all_txt);
        backward(loss);
        if (j == 0) {
            loss_value = double(to_device<cpu>(loss.value())[0]);
            model.loss_fn.visit_parameters([&]<class P>(const std::string&, Parameter<P, B>& p) {
                detached.restore.push_back([where = &p, original = p] { *where = original; });
                p = Parameter<P, B>(p.value());  // the same value, no gradient slot
            }, "");
        }
    }
    return loss_value;
}

}  // namespace contra::train
