// Independent check of an exported tokenizer.json with Hugging Face's own `tokenizers` library (its
// Node bindings, from npm): every document of EXPECTED — JSON lines {"text", "ids", "bos"}, the ids
// SentencePiece gives — must encode to those ids, to BOS + those ids with special tokens
// (add_bos_token; "bos": null: to the same ids, no BOS added), and decode back to its text. Exits 1
// at the first difference, with one exception that is reported and counted: an exact tie, where
// both cover the same stretch of text with the same pieces in another order ("." + "..." against
// "..." + "." for "...."). Such segmentations have the same score; SentencePiece sums scores in
// float32 and so picks either one by the rounding of the running total, tokenizers sums in float64
// (exactly) and picks the first split, and no tokenizer.json can reproduce float32 rounding.
// `--strict` fails on those too: a tokenizer trained by `hld-train tokenizer train` has its scores
// on a binary grid, where both sums are exact and the ties break alike
// (include/hld/data/piece_scores.h), so CI runs it strict.
//   node tokenizers_check.js [--strict] NODE_MODULES_DIR TOKENIZER_JSON EXPECTED_JSONL
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const strict = args[0] === '--strict';
const [modules, tokenizerJson, expectedPath] = strict ? args.slice(1) : args;
if (!expectedPath) {
  console.error('usage: node tokenizers_check.js [--strict] NODE_MODULES_DIR TOKENIZER_JSON EXPECTED_JSONL');
  process.exit(2);
}
const { Tokenizer } = require(path.resolve(modules, 'tokenizers'));
const version = require(path.resolve(modules, 'tokenizers', 'package.json')).version;

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; ++i) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

// Length in bytes of the normalised text a piece covers (<0xNN> byte pieces cover one byte).
function pieceBytes(piece) {
  return /^<0x[0-9A-F]{2}>$/.test(piece) ? 1 : Buffer.byteLength(piece, 'utf8');
}

// Splits the two id sequences into stretches that cover the same bytes; returns the first stretch
// where they differ other than by an exact tie (null when none), and the number of exact ties.
function compare(tok, want, got) {
  let i = 0, j = 0, ties = 0;
  while (i < want.length || j < got.length) {
    if (i < want.length && j < got.length && want[i] === got[j]) { ++i; ++j; continue; }
    const i0 = i, j0 = j;
    let a = 0, b = 0;
    do {
      if (a <= b && i < want.length) a += pieceBytes(tok.idToToken(want[i++]));
      else if (j < got.length) b += pieceBytes(tok.idToToken(got[j++]));
      else break;
    } while (a !== b);
    const sa = want.slice(i0, i), sb = got.slice(j0, j);
    const same = a === b && sa.length === sb.length &&
        JSON.stringify([...sa].sort((x, y) => x - y)) === JSON.stringify([...sb].sort((x, y) => x - y));
    if (!same || strict) return { at: i0, ties };
    ++ties;
  }
  return { at: -1, ties };
}

async function main() {
  const tok = Tokenizer.fromFile(tokenizerJson);
  const lines = fs.readFileSync(expectedPath, 'utf8').split('\n').filter((l) => l.length > 0);
  let tokens = 0, ties = 0, tiedDocs = 0;
  for (const [doc, line] of lines.entries()) {
    const { text, ids, bos } = JSON.parse(line);
    const got = Array.from((await tok.encode(text, null, { addSpecialTokens: false })).getIds());
    const cmp = compare(tok, ids, got);
    const at = cmp.at;
    if (cmp.ties > 0) {
      ties += cmp.ties;
      ++tiedDocs;
      const k = firstDifference(got, ids);
      console.log(`document ${doc}: exact tie at token ${k}: sentencepiece ` +
                  `${JSON.stringify(ids.slice(k, k + 2).map((x) => tok.idToToken(x)))}, tokenizers ` +
                  `${JSON.stringify(got.slice(k, k + 2).map((x) => tok.idToToken(x)))}`);
    }
    if (at >= 0) {
      console.error(`document ${doc}: tokenizers and SentencePiece differ at token ${at} of ${ids.length}`);
      console.error(`  sentencepiece: ${JSON.stringify(ids.slice(Math.max(0, at - 3), at + 5))}`);
      console.error(`  tokenizers:    ${JSON.stringify(got.slice(Math.max(0, at - 3), at + 5))}`);
      console.error(`  text near it:  ${JSON.stringify(text.slice(0, 200))}`);
      process.exit(1);
    }
    const withBos = Array.from((await tok.encode(text)).getIds());
    const want = bos === null ? got : [bos].concat(got);  // "bos": null: the tokenizer adds none
    if (firstDifference(withBos, want) >= 0 || withBos.length !== want.length) {
      console.error(`document ${doc}: with special tokens expected ${bos === null ? 'no BOS' : 'BOS ' + bos} + ` +
                    `the same ids, got ` + JSON.stringify(withBos.slice(0, 8)));
      process.exit(1);
    }
    const decoded = await tok.decode(ids, false);
    if (decoded !== text) {
      console.error(`document ${doc}: decode(ids) differs from the text: ${JSON.stringify(decoded.slice(0, 200))}`);
      process.exit(1);
    }
    tokens += ids.length;
  }
  console.log(`tokenizers ${version}: ${lines.length} documents, ${tokens} tokens, identical to SentencePiece` +
              (ties ? ` but for ${ties} exact ties in ${tiedDocs} documents` : ''));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
