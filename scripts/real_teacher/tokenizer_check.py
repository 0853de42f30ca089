#!/usr/bin/env python3
"""Do hld-train's SentencePiece ids equal transformers' tokenizer's ids, document by document?

    tokenizer_check.py HF_DIR SHARDS_DIR [--out JSON]

HF_DIR holds transformers' tokenizer (tokenizer.json, from the GGUF) and tokenizer.model (the
SentencePiece model written from the GGUF's arrays). SHARDS_DIR is `hld-train prepare`'s output
made with that tokenizer.model from the embedded corpus (train/ and valid/, `BOS text EOS`): its
token stream is hld-train's encoding (Debian's libsentencepiece through hld-train). Each document
of each split's source files is encoded by transformers' AutoTokenizer (BOS added) and by the
`sentencepiece` Python package, and compared with the document's span of the shard stream.
Exit 1 when any document differs in either comparison.
"""
import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np
import sentencepiece as spm
from transformers import AutoTokenizer


def documents(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                text = json.loads(line)["text"]
                if text:
                    yield text


def shard_stream(split_dir: Path) -> tuple[np.ndarray, list[str]]:
    index = json.loads((split_dir / "index.json").read_text())
    shards = sorted(split_dir.glob("shard_*.json"))
    parts, sources = [], []
    for s in shards:
        head = json.loads(s.read_text())
        parts.append(np.fromfile(split_dir / head["file"], dtype=np.dtype(head["dtype"]).newbyteorder("<")))
        sources += head.get("sources", [])
    if not index.get("bos"):
        sys.exit(f"tokenizer_check: {split_dir} was prepared with --no-bos; expected BOS text EOS")
    return np.concatenate(parts).astype(np.int64), sources


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hf_dir")
    ap.add_argument("shards")
    ap.add_argument("--out")
    a = ap.parse_args()
    tok = AutoTokenizer.from_pretrained(a.hf_dir)
    sp = spm.SentencePieceProcessor(model_file=str(Path(a.hf_dir) / "tokenizer.model"))
    bos, eos = sp.bos_id(), sp.eos_id()
    report = {"tokenizer": type(tok).__name__, "splits": {}}
    bad = 0
    for split in ("train", "valid"):
        stream, sources = shard_stream(Path(a.shards) / split)
        pos, docs, toks, diff_hf, diff_sp, examples = 0, 0, 0, 0, 0, []
        for src in sources:
            for text in documents(src):
                hf_ids = tok(text)["input_ids"]
                sp_ids = [bos] + sp.encode(text) + [eos]
                if hf_ids[:1] != [bos]:
                    sys.exit(f"tokenizer_check: transformers' tokenizer does not add BOS ({hf_ids[:3]})")
                hf_ids = hf_ids + [eos]
                n = len(sp_ids)
                hld_ids = stream[pos:pos + n].tolist()
                # The shard is one stream: re-synchronise on the next BOS after a length mismatch.
                if hld_ids != sp_ids:
                    diff_sp += 1
                    nxt = np.nonzero(stream[pos + 1:] == bos)[0]
                    n = int(nxt[0]) + 1 if len(nxt) else len(stream) - pos
                    hld_ids = stream[pos:pos + n].tolist()
                if hld_ids != hf_ids:
                    diff_hf += 1
                    if len(examples) < 5:
                        k = next((i for i, (x, y) in enumerate(zip(hld_ids, hf_ids)) if x != y),
                                 min(len(hld_ids), len(hf_ids)))
                        examples.append({"doc": docs, "position": k,
                                         "hld": tok.convert_ids_to_tokens(hld_ids[max(k - 2, 0):k + 3]),
                                         "transformers": tok.convert_ids_to_tokens(hf_ids[max(k - 2, 0):k + 3])})
                pos += n
                docs += 1
                toks += len(hld_ids)
        if pos != len(stream):
            sys.exit(f"tokenizer_check: {split}: {pos} tokens compared, shard holds {len(stream)}")
        report["splits"][split] = {"documents": docs, "tokens": toks,
                                   "documents_differing_from_transformers": diff_hf,
                                   "documents_differing_from_sentencepiece_python": diff_sp,
                                   "examples": examples}
        bad += diff_hf + diff_sp
        print(f"{split}: {docs} documents, {toks} tokens: hld-train = transformers on "
              f"{docs - diff_hf}/{docs}, = sentencepiece (Python) on {docs - diff_sp}/{docs}")
        for e in examples:
            print(f"  doc {e['doc']} token {e['position']}: hld-train {e['hld']} transformers {e['transformers']}")
    if a.out:
        Path(a.out).write_text(json.dumps(report, indent=1) + "\n")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
