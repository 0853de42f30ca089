// A seeded pseudo-random permutation of [0, n) in O(1) memory: a balanced Feistel network on the
// smallest even-bit power-of-two domain >= n, with cycle walking back into [0, n). Used to shuffle
// the training sequences of an epoch without materialising an index array (C4 has ~10^8 of them).
// Depends only on (n, key), not on the standard library's random distributions.
#pragma once

#include <cstdint>

namespace hld::data {

class Permutation {
 public:
  Permutation(uint64_t n, uint64_t key);
  /// The element at position i (i < n). A bijection of [0, n).
  uint64_t operator()(uint64_t i) const;
  uint64_t size() const { return n_; }

 private:
  uint64_t encrypt(uint64_t x) const;
  static constexpr int kRounds = 6;
  uint64_t n_;
  int half_bits_;
  uint64_t mask_;
  uint64_t keys_[kRounds];
};

/// SplitMix64 finaliser: a well-mixed 64-bit hash of x.
uint64_t splitmix64(uint64_t x);

}  // namespace hld::data
