// BatchStream: seeded, resumable, rank-sliced packed batches over a ShardSet (see batch_stream.h).
#include "hld/data/batch_stream.h"

#include <limits>

#include "hld/data/permutation.h"
#include "hld/util/error.h"

namespace hld::data {

BatchStream::BatchStream(const std::string& dir, int64_t batch, int64_t context, uint64_t seed, int rank, int world)
    : batch_(batch), context_(context), seed_(seed), rank_(rank), world_(world) {
  HLD_INPUT_CHECK(batch > 0, "batch size must be positive, got " + std::to_string(batch));
  HLD_INPUT_CHECK(context > 0, "context must be positive, got " + std::to_string(context));
  HLD_INPUT_CHECK(world > 0 && rank >= 0 && rank < world,
                  "rank " + std::to_string(rank) + " is not in [0, world=" + std::to_string(world) + ")");
  shards_ = std::make_unique<ShardSet>(dir);
  const uint64_t n = shards_->num_tokens();
  HLD_INPUT_CHECK(n > static_cast<uint64_t>(context),
                  "split '" + dir + "' has " + std::to_string(n) +
                      " tokens, fewer than one sequence of context+1 = " + std::to_string(context + 1));
  num_sequences_ = static_cast<int64_t>((n - 1) / static_cast<uint64_t>(context));
}

BatchStream::~BatchStream() = default;

uint64_t BatchStream::num_tokens() const { return shards_->num_tokens(); }
const std::string& BatchStream::tokenizer_hash() const { return shards_->tokenizer_hash(); }
int64_t BatchStream::vocab_size() const { return shards_->vocab_size(); }
int32_t BatchStream::eos_id() const { return shards_->eos_id(); }
bool BatchStream::bos() const { return shards_->bos(); }

int64_t BatchStream::epoch() const {
  const uint64_t p = static_cast<uint64_t>(step_) * batch_ * world_ + static_cast<uint64_t>(rank_) * batch_;
  return static_cast<int64_t>(p / static_cast<uint64_t>(num_sequences_));
}

int64_t BatchStream::sequence_at(uint64_t global_position) const {
  const auto n = static_cast<uint64_t>(num_sequences_);
  const uint64_t ep = global_position / n;
  const Permutation perm(n, seed_ + ep);
  return static_cast<int64_t>(perm(global_position % n));
}

void BatchStream::sequence(int64_t i, std::vector<int32_t>& out) const {
  HLD_INPUT_CHECK(i >= 0 && i < num_sequences_,
                  "sequence " + std::to_string(i) + " is outside [0, " + std::to_string(num_sequences_) + ")");
  out.resize(static_cast<size_t>(context_ + 1));
  shards_->read(static_cast<uint64_t>(i) * static_cast<uint64_t>(context_), out.size(), out.data());
}

void BatchStream::next(std::vector<int32_t>& tokens_BxT1, std::vector<int64_t>& seq_ids) {
  const size_t t1 = static_cast<size_t>(context_ + 1);
  tokens_BxT1.resize(static_cast<size_t>(batch_) * t1);
  seq_ids.resize(static_cast<size_t>(batch_));
  const auto n = static_cast<uint64_t>(num_sequences_);
  const uint64_t first = static_cast<uint64_t>(step_) * batch_ * world_ + static_cast<uint64_t>(rank_) * batch_;
  uint64_t perm_epoch = std::numeric_limits<uint64_t>::max();
  std::unique_ptr<Permutation> perm;
  for (int64_t b = 0; b < batch_; ++b) {
    const uint64_t p = first + static_cast<uint64_t>(b);
    const uint64_t ep = p / n;
    if (ep != perm_epoch) {
      perm = std::make_unique<Permutation>(n, seed_ + ep);
      perm_epoch = ep;
    }
    const uint64_t seq = (*perm)(p % n);
    seq_ids[static_cast<size_t>(b)] = static_cast<int64_t>(seq);
    shards_->read(seq * static_cast<uint64_t>(context_), t1, tokens_BxT1.data() + static_cast<size_t>(b) * t1);
  }
  ++step_;
}

nlohmann::json BatchStream::position() const {
  const uint64_t global_batch = static_cast<uint64_t>(batch_) * world_;
  return {{"format", "hld-batch-stream"},
          {"version", 1},
          {"step", step_},
          {"sequences_consumed", static_cast<uint64_t>(step_) * global_batch},
          {"global_batch", global_batch},
          {"epoch", static_cast<uint64_t>(step_) * global_batch / static_cast<uint64_t>(num_sequences_)},
          {"seed", seed_},
          {"context", context_},
          {"num_sequences", num_sequences_},
          {"num_tokens", shards_->num_tokens()},
          {"tokenizer_hash", shards_->tokenizer_hash()},
          {"bos", shards_->bos()}};
}

void BatchStream::restore(const nlohmann::json& p) {
  const std::string what = "batch stream position";
  HLD_INPUT_CHECK(p.is_object() && p.contains("format") && p["format"] == "hld-batch-stream",
                  what + ": not a saved batch stream position");
  auto u64 = [&](const char* key) -> uint64_t {
    auto it = p.find(key);
    HLD_INPUT_CHECK(it != p.end() && it->is_number_integer() && it->get<int64_t>() >= 0,
                    what + ": field '" + key + "' missing or not a non-negative integer");
    return it->get<uint64_t>();
  };
  auto same = [&](const char* key, uint64_t mine) {
    const uint64_t theirs = u64(key);
    HLD_INPUT_CHECK(theirs == mine, what + ": '" + key + "' is " + std::to_string(theirs) + " but this stream has " +
                                        std::to_string(mine) + " (different data or settings)");
  };
  HLD_INPUT_CHECK(u64("version") == 1, what + ": unsupported version");
  same("seed", seed_);
  same("context", static_cast<uint64_t>(context_));
  same("num_sequences", static_cast<uint64_t>(num_sequences_));
  same("num_tokens", shards_->num_tokens());
  auto th = p.find("tokenizer_hash");
  HLD_INPUT_CHECK(th != p.end() && th->is_string() && th->get<std::string>() == shards_->tokenizer_hash(),
                  what + ": saved with another tokenizer than this split's " + shards_->tokenizer_hash());
  // Positions saved before the layout was recorded have no `bos`; their token counts and tokenizer
  // hash already pin the data.
  auto bos = p.find("bos");
  HLD_INPUT_CHECK(bos == p.end() || (bos->is_boolean() && bos->get<bool>() == shards_->bos()),
                  what + ": saved from a split with another BOS layout than this one's (bos: " +
                      (shards_->bos() ? "true" : "false") + ")");
  const uint64_t consumed = u64("sequences_consumed");
  const uint64_t global_batch = static_cast<uint64_t>(batch_) * world_;
  HLD_INPUT_CHECK(consumed % global_batch == 0, what + ": " + std::to_string(consumed) +
                                                    " sequences consumed is not a whole number of steps of " +
                                                    std::to_string(global_batch) + " (batch x world)");
  step_ = static_cast<int64_t>(consumed / global_batch);
}

}  // namespace hld::data
