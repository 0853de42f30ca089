#!/usr/bin/env python3
"""How much of the teacher's probability a top-k cache keeps, read from the cache files themselves.

    cache_stats.py CACHE_DIR [CACHE_DIR ...] [--out JSON]

For each finished chunk of a version-3 top-k cache with bf16 values (what `hld-train
cache-teacher` writes by default), per token: the top-k mass sum_j exp(z_j - logZ), from the k
stored bf16 logits and the stored full-vocabulary log-sum-exp logZ (include/hld/io/
teacher_cache_format.h and teacher_cache_codec.h: 64-byte chunk header, 32-byte row entries, then
rows x context fixed-size logits records = Rice-coded ids, k bf16 values, float32 logZ). The ids
are not decoded: the mass does not depend on them. Prints the mean, the 5th percentile, the
median and the minimum over every token of every cache given, and bytes per token.
"""
import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np

HEADER_BYTES, ROW_BYTES = 64, 32


def bad_input(msg):
    print(f"cache_stats: {msg}", file=sys.stderr)
    sys.exit(2)


def masses(cache: Path) -> tuple[np.ndarray, dict]:
    index_path = cache / "index.json"
    if not index_path.is_file():
        bad_input(f"'{index_path}' does not exist")
    ix = json.loads(index_path.read_text())
    rec = ix["records"]
    if ix.get("version", 3) < 3 or "logz" not in ix:
        bad_input(f"{index_path}: needs a version-3 cache (with the per-token log-sum-exp)")
    if ix.get("logits_kind", "topk") != "topk" or ix.get("logits_encoding") != "bf16":
        bad_input(f"{index_path}: expected a top-k cache with bf16 values")
    if ix["logz"].get("temperature", 1.0) != 1.0:
        bad_input(f"{index_path}: logz.temperature must be 1")
    k, ctx = ix["top_k"], ix["context"]
    idx_b, rec_b = rec["index_bytes"], rec["logits_record_bytes"]
    out = []
    for ch in ix["chunks"]:
        path = cache / ch["file"]
        data = path.read_bytes()
        if data[:8] != b"HLDTCCH1":
            bad_input(f"'{path}': not a teacher-cache chunk")
        rows = struct.unpack_from("<Q", data, 8 + 4 + 4 + 8 + 8 + 8)[0]
        off = HEADER_BYTES + rows * ROW_BYTES
        block = np.frombuffer(data, dtype=np.uint8, count=rows * ctx * rec_b, offset=off).reshape(-1, rec_b)
        vals = block[:, idx_b:idx_b + 2 * k].copy().view("<u2").astype(np.uint32) << 16
        z = vals.view(np.float32).astype(np.float64)
        logz = block[:, idx_b + 2 * k:idx_b + 2 * k + 4].copy().view("<f4")[:, 0].astype(np.float64)
        out.append(np.exp(z - logz[:, None]).sum(1))
    if not out:
        bad_input(f"{index_path}: no finished chunk")
    return np.concatenate(out), ix


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("caches", nargs="+")
    ap.add_argument("--out")
    a = ap.parse_args()
    ms, k, bpt = [], None, None
    for c in a.caches:
        m, ix = masses(Path(c))
        ms.append(m)
        k, bpt = ix["top_k"], ix["records"]["bytes_per_token"]
    m = np.concatenate(ms)
    r = {"tokens": int(m.size), "top_k": k, "mean": float(m.mean()), "p5": float(np.percentile(m, 5)),
         "median": float(np.median(m)), "min": float(m.min()), "bytes_per_token": bpt}
    print(f"top-{k} teacher mass over {m.size} tokens: mean {r['mean']:.4f}, 5th percentile {r['p5']:.4f}, "
          f"median {r['median']:.4f}, min {r['min']:.4f}")
    if a.out:
        Path(a.out).write_text(json.dumps(r, indent=1) + "\n")


if __name__ == "__main__":
    main()
