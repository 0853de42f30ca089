// Piece scores on a binary grid, so that every client of a trained tokenizer segments alike.
//
// A unigram model picks the segmentation with the highest sum of piece scores. Where two
// segmentations use the same pieces in another order ("..." + "." against "." + "..." for
// "....") their sums are equal in exact arithmetic; SentencePiece adds them in float32, Hugging
// Face's tokenizers in float64, so the rounding of the running total picks one or the other and
// the two libraries disagree. With every score a multiple of 2^-b (|score| < 2^(23-b)), every
// partial sum of a text whose total stays below 2^(24-b) in magnitude is exact in float32 and in
// float64: both compare the same numbers and break exact ties the same way (the first candidate
// found, which is the split with the longest last piece). At b = 5 (a grid of 1/32 nats) that
// holds for texts of up to 2^19 nats, some 40 000 tokens at the ~13 nats a token of a 32k
// vocabulary, and a score moves by at most 1/64: ~1.6 % of a piece's probability.
#pragma once

#include <string>

namespace hld::data {

/// The grid `hld-train tokenizer train` uses by default (--score-bits).
constexpr int kScoreGridBits = 5;

/// `model` (a serialised SentencePiece ModelProto) with every piece's score rounded to the nearest
/// multiple of 2^-bits (half away from zero), all else byte for byte. std::runtime_error on bytes
/// that are not a well-formed proto.
std::string snap_piece_scores(const std::string& model, int bits);

}  // namespace hld::data
