// Feistel-network permutation with cycle walking (see permutation.h).
#include "hld/data/permutation.h"

#include <stdexcept>

namespace hld::data {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Permutation::Permutation(uint64_t n, uint64_t key) : n_(n) {
  if (n == 0) throw std::invalid_argument("Permutation of an empty range");
  int bits = 2;
  while (bits < 64 && (uint64_t{1} << bits) < n) ++bits;
  if (bits % 2) ++bits;
  half_bits_ = bits / 2;
  mask_ = (uint64_t{1} << half_bits_) - 1;
  uint64_t k = key;
  for (auto& rk : keys_) rk = k = splitmix64(k);
}

uint64_t Permutation::encrypt(uint64_t x) const {
  uint64_t l = (x >> half_bits_) & mask_, r = x & mask_;
  for (uint64_t k : keys_) {
    const uint64_t f = splitmix64(r ^ k) & mask_;
    const uint64_t nl = r;
    r = l ^ f;
    l = nl;
  }
  return (l << half_bits_) | r;
}

uint64_t Permutation::operator()(uint64_t i) const {
  if (i >= n_) throw std::out_of_range("Permutation index out of range");
  uint64_t x = i;
  do x = encrypt(x);
  while (x >= n_);
  return x;
}

}  // namespace hld::data
