#!/usr/bin/env python3
"""Golden tensors for contra's tiny CLIP, from an independent PyTorch implementation of the
OpenAI layout (openai/CLIP model.py: pre-norm blocks, nn.MultiheadAttention, QuickGELU, CLS
pooling, argmax-token pooling, logit_scale).

Writes tiny_clip.safetensors (float64) with:
  params/<name>        every parameter, named as the OpenAI state dict
  batch/images         [3, 3, 8, 8]   batch/tokens [3, 6] (int32)
  out/image_features   [3, 8] (before normalisation)   out/text_features [3, 8]
  out/logits_per_image [3, 3]   out/loss []
  grad/<name>          d loss / d parameter, for every parameter
  adamw/losses         [5] the loss before each of 5 AdamW steps (clip grad norm 1.0, clamp logit_scale)
  adamw/final/<name>   the parameters after the 5 steps

Run: python3 tests/golden/make_golden.py   (Debian's python3-torch); the output is committed.
"""
import math
import os
from collections import OrderedDict

import torch
from torch import nn
import torch.nn.functional as F

import safetensors_np

torch.set_default_dtype(torch.float64)
torch.manual_seed(1234)

# The "tiny" preset of contra/nn/config.hpp.
EMBED = 8
V_IMAGE, V_PATCH, V_CHANNELS, V_WIDTH, V_LAYERS, V_HEADS, V_MLP = 8, 4, 3, 16, 2, 2, 2
T_CTX, T_VOCAB, T_WIDTH, T_LAYERS, T_HEADS, T_MLP = 6, 24, 12, 2, 3, 2


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """OpenAI's pre-norm block; `hidden` MLP units and the activation `act` (QuickGELU for OpenAI)."""
    def __init__(self, d_model, n_head, hidden, attn_mask=None, act=QuickGELU):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, hidden)),
            ("gelu", act()),
            ("c_proj", nn.Linear(hidden, d_model)),
        ]))
        self.ln_2 = nn.LayerNorm(d_model)
        self.attn_mask = attn_mask

    def forward(self, x):  # x [L, N, D]
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, hidden, attn_mask=None, act=QuickGELU):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, hidden, attn_mask, act) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(V_CHANNELS, V_WIDTH, kernel_size=V_PATCH, stride=V_PATCH, bias=False)
        grid = V_IMAGE // V_PATCH
        self.class_embedding = nn.Parameter(torch.randn(V_WIDTH))
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, V_WIDTH))
        self.ln_pre = nn.LayerNorm(V_WIDTH)
        self.transformer = Transformer(V_WIDTH, V_LAYERS, V_HEADS, V_WIDTH * V_MLP)
        self.ln_post = nn.LayerNorm(V_WIDTH)
        self.proj = nn.Parameter(torch.randn(V_WIDTH, EMBED))

    def forward(self, x):
        x = self.conv1(x)                                  # [N, W, g, g]
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # [N, g², W]
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = VisionTransformer()
        mask = torch.empty(T_CTX, T_CTX).fill_(float("-inf")).triu_(1)
        self.transformer = Transformer(T_WIDTH, T_LAYERS, T_HEADS, T_WIDTH * T_MLP, attn_mask=mask)
        self.token_embedding = nn.Embedding(T_VOCAB, T_WIDTH)
        self.positional_embedding = nn.Parameter(torch.randn(T_CTX, T_WIDTH))
        self.ln_final = nn.LayerNorm(T_WIDTH)
        self.text_projection = nn.Parameter(torch.randn(T_WIDTH, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def forward(self, image, text):
        image_features = self.visual(image)
        text_features = self.encode_text(text)
        i = image_features / image_features.norm(dim=1, keepdim=True)
        t = text_features / text_features.norm(dim=1, keepdim=True)
        logits_per_image = self.logit_scale.exp() * i @ t.t()
        labels = torch.arange(image.shape[0])
        loss = (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_image.t(), labels)) / 2
        return image_features, text_features, logits_per_image, loss


def decays(name, p):  # contra/optim/adamw.hpp: no decay for ≤1-D tensors and embeddings
    if p.ndim <= 1:
        return False
    return not (name.endswith("positional_embedding") or name.endswith("class_embedding")
                or name.endswith("token_embedding.weight"))


def write_safetensors(path, tensors):  # float64 as F64, integers as I32
    safetensors_np.write(path, {name: t.detach().to(torch.int32).numpy() if not t.is_floating_point() else t.detach().numpy()
                                for name, t in tensors.items()})


def main():
    model = CLIP()
    with torch.no_grad():  # scales that keep every nonlinearity away from its flat parts
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or "ln_" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))

    images = torch.randn(3, V_CHANNELS, V_IMAGE, V_IMAGE)
    tokens = torch.tensor([[23, 5, 1, 0, 0, 0],      # end token first
                           [3, 9, 17, 23, 0, 0],
                           [7, 7, 11, 2, 6, 23]], dtype=torch.int64)

    out = OrderedDict()
    params = OrderedDict((n, p.detach().clone()) for n, p in model.named_parameters())
    for n, p in params.items():
        out["params/" + n] = p
    out["batch/images"] = images
    out["batch/tokens"] = tokens

    image_features, text_features, logits, loss = model(images, tokens)
    loss.backward()
    out["out/image_features"] = image_features
    out["out/text_features"] = text_features
    out["out/logits_per_image"] = logits
    out["out/loss"] = loss
    for n, p in model.named_parameters():
        out["grad/" + n] = p.grad.detach().clone()

    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if decays(n, p)], "weight_decay": 0.2},
              {"params": [p for n, p in named if not decays(n, p)], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.98), eps=1e-6)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        _, _, _, loss = model(images, tokens)
        losses.append(loss.item())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
    out["adamw/losses"] = torch.tensor(losses)
    for n, p in model.named_parameters():
        out["adamw/final/" + n] = p.detach().clone()

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny_clip.safetensors")
    write_safetensors(path, out)
    print(f"wrote {path}: {len(out)} tensors, loss {out['out/loss'].item():.6f}, adamw losses {losses}")


if __name__ == "__main__":
    main()
