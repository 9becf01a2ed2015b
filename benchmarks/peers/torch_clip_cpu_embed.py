# CPU anchor: ViT-B/32 image and text embedding throughput (no grad) with the plain PyTorch CLIP.
# (../shared/peers/torch_clip_cpu_embed.py, plus the peak resident memory; usage: [threads] [batch])
import json, resource, sys, time, torch
from torch_clip_cpu import CLIP, CONFIGS
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)
c = CONFIGS["vitb32"]; m = CLIP(c).eval(); B = int(sys.argv[2]) if len(sys.argv) > 2 else 16
img = torch.randn(B, 3, 224, 224); ids = torch.randint(1, c["V"] - 1, (B, 77)); ids[:, -1] = c["V"] - 1
def t(f, n=5):
    f(); ts = []
    for _ in range(n):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return sorted(ts)[n // 2]
with torch.no_grad():
    ti = t(lambda: m.encode_image(img)); tt = t(lambda: m.encode_text(ids))
print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(), batch=B,
                      image_per_s=B / ti, text_per_s=B / tt,
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)))
