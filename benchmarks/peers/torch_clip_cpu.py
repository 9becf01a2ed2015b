# CPU anchor: a plain PyTorch CLIP (OpenAI architecture: pre-LN residual blocks,
# QuickGELU, causal text mask, EOT pooling, bias-free projections, learnable logit scale)
# trained with AdamW, timed per step on this machine's threads.
# usage: python3 torch_clip_cpu.py CONFIG [steps] [threads]   CONFIG in tiny | vitb32 | fmnist
# (../shared/peers/torch_clip_cpu.py, plus the process's peak resident memory in the output)
import json, math, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    # image C,H,patch, vision width/layers/heads, text vocab/ctx/width/layers/heads, embed, batch
    "tiny":   dict(C=3, H=32, P=4, vw=192, vl=4, vh=3, V=49408, T=32, tw=128, tl=4, th=2, E=128, B=64),
    "fmnist": dict(C=1, H=28, P=4, vw=128, vl=4, vh=4, V=1024, T=16, tw=128, tl=4, th=4, E=64, B=256),
    "vitb32": dict(C=3, H=224, P=32, vw=768, vl=12, vh=12, V=49408, T=77, tw=512, tl=12, th=8, E=512, B=8),
}


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, h, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), QuickGELU(), nn.Linear(4 * d, d))

    def forward(self, x, mask=None):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class CLIP(nn.Module):
    def __init__(self, c):
        super().__init__()
        n = (c["H"] // c["P"]) ** 2
        self.conv1 = nn.Conv2d(c["C"], c["vw"], c["P"], c["P"], bias=False)
        self.cls = nn.Parameter(torch.randn(c["vw"]) * c["vw"] ** -0.5)
        self.vpos = nn.Parameter(torch.randn(n + 1, c["vw"]) * c["vw"] ** -0.5)
        self.ln_pre, self.ln_post = nn.LayerNorm(c["vw"]), nn.LayerNorm(c["vw"])
        self.vblocks = nn.ModuleList([Block(c["vw"], c["vh"]) for _ in range(c["vl"])])
        self.vproj = nn.Parameter(torch.randn(c["vw"], c["E"]) * c["vw"] ** -0.5)
        self.tok = nn.Embedding(c["V"], c["tw"])
        self.tpos = nn.Parameter(torch.randn(c["T"], c["tw"]) * 0.01)
        self.tblocks = nn.ModuleList([Block(c["tw"], c["th"]) for _ in range(c["tl"])])
        self.ln_final = nn.LayerNorm(c["tw"])
        self.tproj = nn.Parameter(torch.randn(c["tw"], c["E"]) * c["tw"] ** -0.5)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.register_buffer("mask", torch.full((c["T"], c["T"]), float("-inf")).triu(1))

    def encode_image(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], 1) + self.vpos
        x = self.ln_pre(x)
        for b in self.vblocks:
            x = b(x)
        return self.ln_post(x[:, 0]) @ self.vproj

    def encode_text(self, ids):
        x = self.tok(ids) + self.tpos
        for b in self.tblocks:
            x = b(x, self.mask)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), ids.argmax(-1)] @ self.tproj

    def forward(self, img, ids):
        i = F.normalize(self.encode_image(img), dim=-1)
        t = F.normalize(self.encode_text(ids), dim=-1)
        logits = self.logit_scale.exp().clamp(max=100) * i @ t.t()
        lab = torch.arange(img.shape[0])
        return (F.cross_entropy(logits, lab) + F.cross_entropy(logits.t(), lab)) / 2


def main():
    name = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c = CONFIGS[name]
    m = CLIP(c)
    opt = torch.optim.AdamW(m.parameters(), lr=5e-4, weight_decay=0.2)
    B = c["B"]
    img = torch.randn(B, c["C"], c["H"], c["H"])
    ids = torch.randint(1, c["V"] - 1, (B, c["T"]))
    ids[:, -1] = c["V"] - 1
    times = []
    for s in range(steps + 2):
        t0 = time.perf_counter()
        loss = m(img, ids)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if s >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    print(json.dumps(dict(config=name, torch=torch.__version__, threads=threads, batch=B,
                          ms_per_step=med * 1e3, samples_per_s=B / med,
                          params=sum(p.numel() for p in m.parameters()), loss=loss.item(),
                          peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)))


if __name__ == "__main__":
    main()
