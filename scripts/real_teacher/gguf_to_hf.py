#!/usr/bin/env python3
"""A GGUF Gemma 3 checkpoint -> a Hugging Face folder hld-train imports, plus a SentencePiece model.

    gguf_to_hf.py GGUF OUT_DIR

Loads GGUF with transformers' own GGUF loader (the `gguf` package dequantises every tensor to
float32), saves it with `save_pretrained` as a float32 Gemma3ForCausalLM (config.json +
model.safetensors) with transformers' tokenizer (tokenizer.json, tokenizer_config.json), and
writes `tokenizer.model`: a SentencePiece ModelProto built from the GGUF's `tokenizer.ggml.*`
arrays (pieces, scores, piece types) with the `sentencepiece` package's proto module, so that
`hld-train prepare` / `tokenizer encode` can read it. The proto is Gemma's layout: a BPE model,
identity normaliser, no dummy prefix, no whitespace folding, byte fallback, digits split.
What it cannot recover from the GGUF, and what is therefore set here, is printed.
"""
import json
import sys
from pathlib import Path

import gguf
import numpy as np
import torch
from sentencepiece import sentencepiece_model_pb2 as spm_pb2
from transformers import AutoModelForCausalLM, AutoTokenizer, Gemma3ForCausalLM

# GGUF's token types (llama.cpp's llama_token_type) use SentencePiece's numbering.
GGUF_NORMAL, GGUF_UNKNOWN, GGUF_CONTROL, GGUF_USER_DEFINED, GGUF_UNUSED, GGUF_BYTE = 1, 2, 3, 4, 5, 6


def field(reader, name):
    f = reader.fields.get(name)
    if f is None:
        sys.exit(f"gguf_to_hf: {reader.path}: no '{name}' (not a SentencePiece-style GGUF tokenizer)")
    return f.contents()


def sentencepiece_proto(reader) -> tuple[spm_pb2.ModelProto, list[str]]:
    """The ModelProto of the GGUF's tokenizer, and the list of what had to be assumed."""
    model = field(reader, "tokenizer.ggml.model")
    if model != "llama":
        sys.exit(f"gguf_to_hf: tokenizer.ggml.model = '{model}': only SentencePiece ('llama') tokenizers convert")
    pieces = field(reader, "tokenizer.ggml.tokens")
    scores = np.asarray(field(reader, "tokenizer.ggml.scores"), dtype=np.float32)
    types = np.asarray(field(reader, "tokenizer.ggml.token_type"), dtype=np.int64)
    ids = {k: int(field(reader, f"tokenizer.ggml.{k}_token_id")) for k in ("bos", "eos", "unknown", "padding")}
    notes = []
    respaced = 0
    m = spm_pb2.ModelProto()
    for i, (p, s, t) in enumerate(zip(pieces, scores, types)):
        sp = m.pieces.add()
        sp.piece, sp.score = p, float(s)
        if i == ids["unknown"]:
            sp.type = spm_pb2.ModelProto.SentencePiece.UNKNOWN
            if t != GGUF_UNKNOWN:
                notes.append(f"piece {i} '{p}' (unknown_token_id) has GGUF type {int(t)}: written as UNKNOWN")
        elif t == GGUF_USER_DEFINED:
            # llama.cpp's converter writes user-defined pieces with the SentencePiece space '▁'
            # turned back into ' ' (Gemma's whitespace runs '▁▁'...: ids 138-167); SentencePiece
            # matches user-defined pieces on the normalised text, where spaces are '▁' again.
            if " " in p:
                sp.piece = p.replace(" ", "\u2581")
                respaced += 1
            sp.type = int(t)
        elif t in (GGUF_NORMAL, GGUF_CONTROL, GGUF_UNUSED, GGUF_BYTE):
            sp.type = int(t)
        else:
            sys.exit(f"gguf_to_hf: piece {i} '{p}': unknown GGUF token type {int(t)}")
    if respaced:
        notes.append(f"{respaced} user-defined pieces had ' ' where SentencePiece has '\u2581' (llama.cpp "
                     "un-escapes them): written with '\u2581'")
    ts = m.trainer_spec
    ts.model_type = spm_pb2.TrainerSpec.BPE
    ts.vocab_size = len(pieces)
    ts.byte_fallback = bool((types == GGUF_BYTE).any())
    ts.split_digits = True
    ts.allow_whitespace_only_pieces = True
    ts.unk_id, ts.bos_id, ts.eos_id, ts.pad_id = ids["unknown"], ids["bos"], ids["eos"], ids["padding"]
    ts.unk_piece, ts.bos_piece, ts.eos_piece, ts.pad_piece = (pieces[ids[k]] for k in ("unknown", "bos", "eos", "padding"))
    ns = m.normalizer_spec
    ns.name = "identity"
    ns.add_dummy_prefix = bool(reader.fields.get("tokenizer.ggml.add_space_prefix") and
                               field(reader, "tokenizer.ggml.add_space_prefix"))
    ns.remove_extra_whitespaces = False
    ns.escape_whitespaces = True
    notes.append("model type BPE, identity normaliser, split_digits, whitespace-only pieces: Gemma's "
                 "tokenizer settings, which the GGUF does not carry (assumed)")
    notes.append("control / user-defined pieces keep the GGUF's score (-1000; SentencePiece's own file has 0): "
                 "BPE never scores them")
    return m, notes


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    gguf_path, out = Path(sys.argv[1]), Path(sys.argv[2])
    if not gguf_path.is_file():
        sys.exit(f"gguf_to_hf: GGUF file '{gguf_path}' does not exist")
    out.mkdir(parents=True, exist_ok=True)
    reader = gguf.GGUFReader(str(gguf_path))
    proto, notes = sentencepiece_proto(reader)
    quant = sorted({t.tensor_type.name for t in reader.tensors})

    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                 dtype=torch.float32)
    # The dequantised weights are plain float32 tensors: rebuild the model without the GGUF
    # quantisation record (transformers refuses to save a model it still marks as GGUF-quantised).
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = ["Gemma3ForCausalLM"]
    plain = Gemma3ForCausalLM(config).to(torch.float32)
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]  # tied to the embedding
    if missing or unexpected:
        sys.exit(f"gguf_to_hf: state dict mismatch: missing {missing}, unexpected {unexpected}")
    plain.tie_weights()
    model = plain.eval()
    model.save_pretrained(str(out), safe_serialization=True)
    tok.save_pretrained(str(out))
    (out / "tokenizer.model").write_bytes(proto.SerializeToString())  # after: save_pretrained writes none
    info = {"gguf": str(gguf_path), "tensor_types": quant, "tokenizer_notes": notes,
            "params": sum(p.numel() for p in model.parameters()), "vocab_size": model.config.vocab_size}
    (out / "gguf_source.json").write_text(json.dumps(info, indent=1) + "\n")
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
