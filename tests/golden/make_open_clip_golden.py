#!/usr/bin/env python3
"""A tiny CLIP in the open_clip layout with what OpenAI's models never have: GELU (open_clip's
default, quick_gelu absent), an MLP width that is no integer multiple of the width (mlp_ratio 2.75
and 3.5, as ViT-g and ViT-bigG have 4.3637 and 4.9231), and heads whose width is not 64 (as
ViT-H's 80): from an independent PyTorch implementation of open_clip's CLIP (pre-norm blocks,
nn.MultiheadAttention, class-token and argmax-token pooling).

Writes, next to this file:
  tiny_open_clip/open_clip_model.safetensors   every parameter, OpenAI/open_clip names (float64)
  tiny_open_clip/open_clip_config.json          open_clip's description of the model
  tiny_open_clip_io.safetensors                 batch/images [3, 3, 8, 8], batch/tokens [3, 6] (int32),
                                                out/image_features [3, 8], out/text_features [3, 8]

Run: /usr/bin/python3 tests/golden/make_open_clip_golden.py   (Debian's python3-torch); the output is committed.
"""
import json
import math
import os

import torch
from torch import nn

import safetensors_np
import make_golden
from make_golden import Transformer  # OpenAI's pre-norm blocks, here with GELU and any MLP width

torch.set_default_dtype(torch.float64)
torch.manual_seed(4321)

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = {
    "model_cfg": {
        "embed_dim": 8,
        "vision_cfg": {"image_size": 8, "layers": 2, "width": 24, "head_width": 8, "mlp_ratio": 2.75, "patch_size": 4},
        "text_cfg": {"context_length": 6, "vocab_size": 24, "width": 20, "heads": 2, "layers": 2, "mlp_ratio": 3.5},
    },
    "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]},
}


class Visual(nn.Module):
    def __init__(self, v, embed):
        super().__init__()
        width, grid = v["width"], v["image_size"] // v["patch_size"]
        self.conv1 = nn.Conv2d(3, width, kernel_size=v["patch_size"], stride=v["patch_size"], bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width))
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, v["layers"], width // v["head_width"], int(width * v["mlp_ratio"]), act=nn.GELU)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, m):
        super().__init__()
        t = m["text_cfg"]
        self.visual = Visual(m["vision_cfg"], m["embed_dim"])
        mask = torch.empty(t["context_length"], t["context_length"]).fill_(float("-inf")).triu_(1)
        self.transformer = Transformer(t["width"], t["layers"], t["heads"], int(t["width"] * t["mlp_ratio"]), attn_mask=mask,
                                       act=nn.GELU)  # int(width · mlp_ratio): open_clip's rule
        self.token_embedding = nn.Embedding(t["vocab_size"], t["width"])
        self.positional_embedding = nn.Parameter(torch.randn(t["context_length"], t["width"]))
        self.ln_final = nn.LayerNorm(t["width"])
        self.text_projection = nn.Parameter(torch.randn(t["width"], m["embed_dim"]))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    encode_text = make_golden.CLIP.encode_text  # the same pooling at the largest token id


def main():
    model = CLIP(CONFIG["model_cfg"])
    with torch.no_grad():  # scales that keep every nonlinearity away from its flat parts
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            p.copy_(1 + 0.2 * torch.randn_like(p) if "ln_" in name and name.endswith("weight") else 0.3 * torch.randn_like(p))
    images = torch.randn(3, 3, 8, 8)
    tokens = torch.tensor([[23, 5, 1, 0, 0, 0], [3, 9, 17, 23, 0, 0], [7, 7, 11, 2, 6, 23]], dtype=torch.int64)
    with torch.no_grad():
        image_features, text_features = model.visual(images), model.encode_text(tokens)

    folder = os.path.join(HERE, "tiny_open_clip")
    os.makedirs(folder, exist_ok=True)
    safetensors_np.write(os.path.join(folder, "open_clip_model.safetensors"),
                         {n: p.detach().numpy() for n, p in model.named_parameters()})
    with open(os.path.join(folder, "open_clip_config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    safetensors_np.write(os.path.join(HERE, "tiny_open_clip_io.safetensors"),
                         {"batch/images": images.numpy(), "batch/tokens": tokens.to(torch.int32).numpy(),
                          "out/image_features": image_features.numpy(), "out/text_features": text_features.numpy()})
    print(f"wrote {folder} and tiny_open_clip_io.safetensors")


if __name__ == "__main__":
    main()
