#!/usr/bin/env python3
"""Golden tensors for contra's ModifiedResNet image tower (OpenAI's RN50 family), from an
independent PyTorch implementation of openai/CLIP model.py (Bottleneck with anti-aliasing
AvgPool, three-convolution stem, AttentionPool2d), under CLIP's InfoNCE loss against fixed text
embeddings (the text tower is make_golden.py's business).

Tiny sizes: ResNet layers (1, 1, 1, 1), width 2 (stem 3→1→1→2, stages of 2/4/8/16 planes, 64
channels out), 2 heads, image 64 (a 2×2 grid, 5 tokens), embedding 8; batch 2.

Writes tiny_rn.safetensors (float64 unless noted) with:
  params/<name>          visual.* and logit_scale, named as the OpenAI state dict (values exact
                         in float16 and stored as F16, to keep the file small)
  buffers/<name>         running_mean / running_var before the step (random, var > 0)
  batch/images [2,3,64,64] (F16 values)   batch/text_features [2, 8]
  eval/image_features    [2, 8] the tower in evaluation mode (running statistics)
  eval/loss, eval/grad/visual.conv1.weight   the loss in evaluation mode and the gradient that
                         passes through every BatchNorm's backward with fixed statistics
  train/image_features   [2, 8] in training mode (batch statistics), train/loss
  train/grad/<name>      d loss / d parameter, for every parameter, in training mode
  train/buffers/<name>   the running statistics after that one training-mode forward
  count/rn50_visual, count/rn50_total   parameter counts of OpenAI's RN50 (int32 [1])

Run: python3 tests/golden/make_rn_golden.py   (Debian's python3-torch); the output is committed.
"""
import math
import os
from collections import OrderedDict

import torch
from torch import nn
import torch.nn.functional as F

import safetensors_np

torch.set_default_dtype(torch.float64)
torch.manual_seed(4321)

EMBED = 8
RN_LAYERS, RN_WIDTH, RN_HEADS, RN_IMAGE = (1, 1, 1, 1), 2, 2, 64


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.downsample = None
        if stride > 1 or inplanes != planes * Bottleneck.expansion:
            self.downsample = nn.Sequential(OrderedDict([
                ("-1", nn.AvgPool2d(stride)),
                ("0", nn.Conv2d(inplanes, planes * self.expansion, 1, stride=1, bias=False)),
                ("1", nn.BatchNorm2d(planes * self.expansion)),
            ]))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.avgpool(out)
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class AttentionPool2d(nn.Module):
    def __init__(self, spacial_dim, embed_dim, num_heads, output_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim ** 2 + 1, embed_dim) / embed_dim ** 0.5)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim)
        self.num_heads = num_heads

    def forward(self, x):
        x = x.flatten(start_dim=2).permute(2, 0, 1)  # NCHW -> (HW)NC
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        x = x + self.positional_embedding[:, None, :]
        x, _ = F.multi_head_attention_forward(
            query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight, k_proj_weight=self.k_proj.weight, v_proj_weight=self.v_proj.weight,
            in_proj_weight=None, in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0, out_proj_weight=self.c_proj.weight,
            out_proj_bias=self.c_proj.bias, use_separate_proj_weight=True, training=self.training, need_weights=False)
        return x.squeeze(0)


class ModifiedResNet(nn.Module):
    def __init__(self, layers, output_dim, heads, input_resolution, width):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width // 2, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, kernel_size=3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        self._inplanes = width
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(width * 8, layers[3], stride=2)
        embed_dim = width * 32
        self.attnpool = AttentionPool2d(input_resolution // 32, embed_dim, heads, output_dim)

    def _make_layer(self, planes, blocks, stride=1):
        layers = [Bottleneck(self._inplanes, planes, stride)]
        self._inplanes = planes * Bottleneck.expansion
        for _ in range(1, blocks):
            layers.append(Bottleneck(self._inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = self.avgpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.attnpool(x)


class ImageClip(nn.Module):
    """The image half of CLIP: the tower and logit_scale, InfoNCE against given text embeddings."""

    def __init__(self):
        super().__init__()
        self.visual = ModifiedResNet(RN_LAYERS, EMBED, RN_HEADS, RN_IMAGE, RN_WIDTH)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, image, text_features):
        image_features = self.visual(image)
        i = image_features / image_features.norm(dim=1, keepdim=True)
        t = text_features / text_features.norm(dim=1, keepdim=True)
        logits_per_image = self.logit_scale.exp() * i @ t.t()
        labels = torch.arange(image.shape[0])
        loss = (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_image.t(), labels)) / 2
        return image_features, loss


def f16(t):  # the nearest value exactly representable in float16 (the file stores it as F16)
    return t.half().double()


def write_safetensors(path, tensors):
    """As make_golden.write_safetensors, but parameters and images as F16 (their values are exact in F16)."""
    out = {}
    for name, t in tensors.items():
        t = t.detach()
        if name.startswith("params/") or name == "batch/images":
            assert torch.equal(t, f16(t)), name
            out[name] = t.half().numpy()
        else:
            out[name] = t.numpy() if t.is_floating_point() else t.to(torch.int32).numpy()
    safetensors_np.write(path, out)


def buffers_of(model):
    return OrderedDict((n, b.detach().clone()) for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))


def main():
    model = ImageClip()
    with torch.no_grad():  # scales that keep every nonlinearity away from its flat parts
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.copy_(f16(p))
                continue
            if (".bn" in name or "downsample.1" in name) and name.endswith("weight"):
                p.copy_(f16(1 + 0.2 * torch.randn_like(p)))
            elif name.startswith("visual.") and ("conv" in name or "downsample.0" in name):
                fan_in = p[0].numel()
                p.copy_(f16(torch.randn_like(p) / math.sqrt(fan_in)))
            else:
                p.copy_(f16(0.3 * torch.randn_like(p)))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.2 * torch.randn_like(b))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand_like(b))

    images = f16(torch.randn(2, 3, RN_IMAGE, RN_IMAGE))
    text_features = torch.randn(2, EMBED)

    out = OrderedDict()
    for n, p in model.named_parameters():
        out["params/" + n] = p.detach().clone()
    for n, b in buffers_of(model).items():
        out["buffers/" + n] = b
    out["batch/images"] = images
    out["batch/text_features"] = text_features

    # Evaluation mode: running statistics, nothing changes.
    model.eval()
    image_features, loss = model(images, text_features)
    loss.backward()
    out["eval/image_features"] = image_features
    out["eval/loss"] = loss
    out["eval/grad/visual.conv1.weight"] = model.visual.conv1.weight.grad.detach().clone()
    model.zero_grad()

    # Training mode: batch statistics; the running ones move (momentum 0.1).
    model.train()
    image_features, loss = model(images, text_features)
    loss.backward()
    out["train/image_features"] = image_features
    out["train/loss"] = loss
    for n, p in model.named_parameters():
        out["train/grad/" + n] = p.grad.detach().clone()
    for n, b in buffers_of(model).items():
        out["train/buffers/" + n] = b

    # Parameter counts of the real RN50 (visual tower and whole model), built with OpenAI's sizes.
    rn50 = ModifiedResNet((3, 4, 6, 3), 1024, 32, 224, 64)
    visual = sum(p.numel() for p in rn50.parameters())
    text = 49408 * 512 + 77 * 512 + 12 * (4 * 512 * 512 + 4 * 512 + 2 * 4 * 512 * 512 + 4 * 512 + 512 + 4 * 512) \
        + 2 * 512 + 512 * 1024 + 1
    out["count/rn50_visual"] = torch.tensor([visual], dtype=torch.int64)
    out["count/rn50_total"] = torch.tensor([visual + text], dtype=torch.int64)

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny_rn.safetensors")
    write_safetensors(path, out)
    print(f"wrote {path}: {len(out)} tensors, {os.path.getsize(path)} bytes, train loss {loss.item():.6f}, "
          f"RN50 visual {visual}, total {visual + text}")


if __name__ == "__main__":
    main()
