#!/usr/bin/env python3
"""The Python peer of `hld-train bench` on the GPU machine: Hugging Face Gemma3ForCausalLM at the
123M student's shape (32k vocabulary, d 640, 18 layers), bf16 autocast with float32 master weights,
fused AdamW, NLL or KD against a synthetic cached top-k teacher; optionally torch.compile.
Prints one JSON line: tokens/s, ms/step, peak memory. Run by scripts/gpu/bench_vs_hf.sh."""
import argparse, json, time

import torch
import torch.nn.functional as F
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

p = argparse.ArgumentParser()
p.add_argument("--objective", choices=["nll", "kd"], default="nll")
p.add_argument("--batch", type=int, default=16)
p.add_argument("--context", type=int, default=2048)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--top-k", type=int, default=128)
p.add_argument("--alpha", type=float, default=0.9)
p.add_argument("--compile", action="store_true")
a = p.parse_args()

cfg = Gemma3TextConfig(vocab_size=32000, hidden_size=640, intermediate_size=2048, num_hidden_layers=18,
                       num_attention_heads=4, num_key_value_heads=1, head_dim=256, query_pre_attn_scalar=256,
                       sliding_window=512, max_position_embeddings=32768, rope_theta=1e6,
                       rope_local_base_freq=1e4, attn_implementation="sdpa")
dev = torch.device("cuda")
model = Gemma3ForCausalLM(cfg).to(dev)
opt = torch.optim.AdamW(model.parameters(), lr=4e-4, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.1, fused=True)
fwd = torch.compile(model) if a.compile else model
B, T, V, K = a.batch, a.context, cfg.vocab_size, a.top_k
ids = torch.randint(4, V, (B, T + 1), device=dev)
t_vals = torch.randn(B * T, K, device=dev) * 3
t_idx = torch.stack([torch.randperm(V, device=dev)[:K] for _ in range(64)]).repeat(B * T // 64 + 1, 1)[: B * T]


def step():
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits = fwd(input_ids=ids[:, :-1]).logits.float().view(-1, V)
    nll = F.cross_entropy(logits, ids[:, 1:].reshape(-1))
    loss = nll
    if a.objective == "kd":
        log_ps = F.log_softmax(logits, -1).gather(1, t_idx)
        log_pt = F.log_softmax(t_vals, -1)
        kd = (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean()
        loss = (1 - a.alpha) * nll + a.alpha * kd
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


for _ in range(a.warmup):
    step()
torch.cuda.synchronize()
torch.cuda.reset_peak_memory_stats()
t0 = time.perf_counter()
for _ in range(a.steps):
    step()
torch.cuda.synchronize()
s = (time.perf_counter() - t0) / a.steps
print(json.dumps({"peer": "hf-gemma3" + ("-compiled" if a.compile else ""), "objective": a.objective,
                  "tokens_per_s": B * T / s, "ms_per_step": 1e3 * s,
                  "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30}))
