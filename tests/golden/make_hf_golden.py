#!/usr/bin/env python3
"""The tiny CLIP of tiny_clip.safetensors in the Hugging Face CLIPModel layout, for the loader tests.

Reads tiny_clip.safetensors (make_golden.py) and writes, next to it:
  tiny_clip_hf/config.json        a CLIPConfig for the tiny preset (legacy eos_token_id 2)
  tiny_clip_hf/model.safetensors  params/<OpenAI name> renamed to HF names, float64, with the
                                  q/k/v split of in_proj, the projections transposed, and the
                                  position_ids buffers older exports carry
  tiny_clip_hf_grads.safetensors  grad/<OpenAI name> mapped the same way (what `contra grad`
                                  must write for this model)
  tiny_clip_hf_inputs.safetensors pixel_values [3,3,8,8] and input_ids [3,6] (int64) of the golden
                                  batch, as `contra embed` and `contra grad` take them

The mapping follows transformers' convert_clip_original_pytorch_to_hf.py, written out here
independently of contra's C++ (io/hf_names.hpp). Run: python3 tests/golden/make_hf_golden.py
(needs only numpy); the output is committed.
"""
import json
import os
import re

import numpy as np

import safetensors_np

HERE = os.path.dirname(os.path.abspath(__file__))


BLOCK = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "attn.out_proj": "self_attn.out_proj",
         "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}


def to_hf(name, t):
    """[(hf_name, tensor)] for one OpenAI-named tensor."""
    simple = {
        "visual.conv1.weight": "vision_model.embeddings.patch_embedding.weight",
        "visual.class_embedding": "vision_model.embeddings.class_embedding",
        "visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
        "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
        "positional_embedding": "text_model.embeddings.position_embedding.weight",
    }
    if name == "logit_scale":
        return [("logit_scale", t.reshape(()))]  # a 0-d tensor in HF and OpenAI files
    if name in simple:
        return [(simple[name], t)]
    if name == "visual.proj":
        return [("visual_projection.weight", t.T)]
    if name == "text_projection":
        return [("text_projection.weight", t.T)]
    for oa, hf in (("visual.ln_pre.", "vision_model.pre_layrnorm."), ("visual.ln_post.", "vision_model.post_layernorm."),
                   ("ln_final.", "text_model.final_layer_norm.")):
        if name.startswith(oa):
            return [(hf + name[len(oa):], t)]
    m = re.fullmatch(r"(visual\.)?transformer\.resblocks\.(\d+)\.(.+)\.(weight|bias)", name)
    if m:
        tower = "vision_model" if m.group(1) else "text_model"
        layer = f"{tower}.encoder.layers.{m.group(2)}."
        module, kind = m.group(3), m.group(4)
        if module == "attn" or module == "attn.in_proj":
            raise ValueError(name)
        return [(layer + BLOCK[module] + "." + kind, t)]
    m = re.fullmatch(r"(visual\.)?transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)", name)
    if m:
        tower = "vision_model" if m.group(1) else "text_model"
        layer = f"{tower}.encoder.layers.{m.group(2)}.self_attn."
        q, k, v = np.split(t, 3, axis=0)
        kind = m.group(3)
        return [(layer + "q_proj." + kind, q), (layer + "k_proj." + kind, k), (layer + "v_proj." + kind, v)]
    raise ValueError("no HF name for " + name)


def mapped(golden, prefix):
    out = {}
    for name, t in golden.items():
        if name.startswith(prefix):
            for hf_name, hf_t in to_hf(name[len(prefix):], np.array(t)):
                out[hf_name] = np.array(hf_t, order="C")  # (ascontiguousarray would make 0-d 1-d)
    return out


def main():
    golden = safetensors_np.read(os.path.join(HERE, "tiny_clip.safetensors"))
    folder = os.path.join(HERE, "tiny_clip_hf")
    os.makedirs(folder, exist_ok=True)
    weights = mapped(golden, "params/")
    weights["text_model.embeddings.position_ids"] = np.arange(6, dtype=np.int64).reshape(1, 6)
    safetensors_np.write(os.path.join(folder, "model.safetensors"), weights, {"format": "pt"})
    safetensors_np.write(os.path.join(HERE, "tiny_clip_hf_grads.safetensors"), mapped(golden, "grad/"))
    safetensors_np.write(os.path.join(HERE, "tiny_clip_hf_inputs.safetensors"),
                      {"pixel_values": np.array(golden["batch/images"]),
                       "input_ids": np.array(golden["batch/tokens"]).astype(np.int64)})
    config = {  # the "tiny" preset of contra/nn/config.hpp
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 8, "logit_scale_init_value": 2.6592,
        "text_config": {"hidden_size": 12, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 3,
                        "max_position_embeddings": 6, "vocab_size": 24, "hidden_act": "quick_gelu",
                        "layer_norm_eps": 1e-05, "eos_token_id": 2},
        "vision_config": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                          "image_size": 8, "patch_size": 4, "num_channels": 3, "hidden_act": "quick_gelu"},
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
