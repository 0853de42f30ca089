#!/usr/bin/env python3
"""The PyTorch peers of `hld-train bench` on CPU, training the same Gemma 3-style student (RMSNorm
with 1 + w, QK-norm, rotate-half RoPE, GQA, sliding-window masks, gated tanh-GELU, tied embedding
scaled by sqrt(d)) with torch.optim.AdamW, NLL or KD against a synthetic cached top-k teacher:
  --impl plain       the model written out in plain PyTorch (eager)
  --impl hf          Hugging Face transformers' Gemma3ForCausalLM (its default SDPA attention)
  --impl hf-compile  the same, torch.compile'd (the warm-up steps compile; not timed)
--dtype bfloat16 runs the forward passes under CPU autocast (float32 master weights, loss and
optimizer, as hld-train's run.dtype = bfloat16). Defaults are configs/bench/cpu_d256.yaml's shape.
Prints one JSON line. Runs in the project's .venv (the torch whose LibTorch hld-train links);
run by scripts/bench/cpu_vs_torch.sh."""
import argparse, json, math, time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--objective", choices=["nll", "kd"], default="nll")
p.add_argument("--impl", choices=["plain", "hf", "hf-compile"], default="plain")
p.add_argument("--vocab", type=int, default=4096)
p.add_argument("--d", type=int, default=256)
p.add_argument("--ff", type=int, default=1024)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--kv-heads", type=int, default=1)
p.add_argument("--head-dim", type=int, default=64)
p.add_argument("--window", type=int, default=128)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--context", type=int, default=256)
p.add_argument("--top-k", type=int, default=128)
p.add_argument("--alpha", type=float, default=0.9)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--threads", type=int, default=0)
p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
a = p.parse_args()
if a.threads > 0:
    torch.set_num_threads(a.threads)


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 + self.weight)


def rope(x, cos, sin):  # x (B, H, T, D)
    h = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin


class Block(nn.Module):
    def __init__(self, glob):
        super().__init__()
        d, H, KV, Dh = a.d, a.heads, a.kv_heads, a.head_dim
        self.glob = glob
        self.q, self.k, self.v = nn.Linear(d, H * Dh, bias=False), nn.Linear(d, KV * Dh, bias=False), nn.Linear(d, KV * Dh, bias=False)
        self.o = nn.Linear(H * Dh, d, bias=False)
        self.qn, self.kn = RMSNorm(Dh), RMSNorm(Dh)
        self.gate, self.up, self.down = nn.Linear(d, a.ff, bias=False), nn.Linear(d, a.ff, bias=False), nn.Linear(a.ff, d, bias=False)
        self.n1, self.n2, self.n3, self.n4 = RMSNorm(d), RMSNorm(d), RMSNorm(d), RMSNorm(d)

    def attn(self, x, mask, cos, sin):
        B, T, _ = x.shape
        H, KV, Dh = a.heads, a.kv_heads, a.head_dim
        q = rope(self.qn(self.q(x).view(B, T, H, Dh)).transpose(1, 2), cos, sin)
        k = rope(self.kn(self.k(x).view(B, T, KV, Dh)).transpose(1, 2), cos, sin)
        v = self.v(x).view(B, T, KV, Dh).transpose(1, 2)
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        s = (q @ k.transpose(-2, -1)) * Dh ** -0.5 + mask
        return self.o((torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, H * Dh))

    def forward(self, x, mask, cos, sin):
        h = x + self.n2(self.attn(self.n1(x), mask, cos, sin))
        y = self.n3(h)
        return h + self.n4(self.down(F.gelu(self.gate(y), approximate="tanh") * self.up(y)))


class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(a.vocab, a.d)
        self.blocks = nn.ModuleList([Block((i + 1) % 6 == 0) for i in range(a.layers)])
        self.norm = RMSNorm(a.d)
        T = a.context
        i = torch.arange(T)
        causal = i[None, :] <= i[:, None]
        local = causal & (i[None, :] > i[:, None] - a.window)
        neg = torch.tensor(float("-inf"))
        self.masks = {g: torch.where(c, torch.tensor(0.0), neg) for g, c in ((True, causal), (False, local))}
        ang = {}
        for g, base in ((True, 1e6), (False, 1e4)):
            inv = 1.0 / base ** (torch.arange(0, a.head_dim, 2).float() / a.head_dim)
            f = torch.outer(torch.arange(T).float(), inv)
            e = torch.cat([f, f], -1)
            ang[g] = (e.cos(), e.sin())
        self.rope = ang

    def forward(self, ids):
        x = self.embed(ids) * math.sqrt(a.d)
        for b in self.blocks:
            x = b(x, self.masks[b.glob], *self.rope[b.glob])
        return F.linear(self.norm(x), self.embed.weight)


def hf_student():
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    cfg = Gemma3TextConfig(vocab_size=a.vocab, hidden_size=a.d, intermediate_size=a.ff, num_hidden_layers=a.layers,
                           num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.head_dim,
                           query_pre_attn_scalar=a.head_dim, sliding_window=a.window, max_position_embeddings=a.context,
                           tie_word_embeddings=True, use_cache=False, attn_implementation="sdpa")
    hf = Gemma3ForCausalLM(cfg)
    hf.train()
    return hf


torch.manual_seed(0)
model = Student() if a.impl == "plain" else hf_student()
forward = model if a.impl == "plain" else (lambda ids: model(input_ids=ids).logits)
if a.impl == "hf-compile":
    forward = torch.compile(forward)
opt = torch.optim.AdamW(model.parameters(), lr=4e-4, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.1)
B, T, V, K = a.batch, a.context, a.vocab, a.top_k
ids = torch.randint(0, V, (B, T + 1))
t_vals, t_idx = torch.randn(B * T, V).topk(K, -1)


def step():
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.dtype == "bfloat16"):
        logits = forward(ids[:, :-1]).view(-1, V).float()
    loss = nll = F.cross_entropy(logits, ids[:, 1:].reshape(-1))
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
t0 = time.perf_counter()
for _ in range(a.steps):
    step()
s = (time.perf_counter() - t0) / a.steps
name = {"plain": "plain PyTorch", "hf": "HF Gemma3ForCausalLM", "hf-compile": "HF Gemma3ForCausalLM compiled"}[a.impl]
print(json.dumps({"peer": name, "torch": torch.__version__, "objective": a.objective, "dtype": a.dtype,
                  "threads": torch.get_num_threads(), "ms_per_step": 1e3 * s, "tokens_per_s": B * T / s}))
