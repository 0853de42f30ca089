// libhld_spm: every call into SentencePiece, behind the C interface of spm_shim_api.h. Built as
// its own shared library and loaded with RTLD_DEEPBIND (see include/hld/data/spm_lib.h).
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "hld/data/spm_shim_api.h"

// Exported by libsentencepiece (common.h) but not declared in its public headers.
namespace sentencepiece::logging {
void SetMinLogLevel(int v);
}

#define HLD_SPM_EXPORT extern "C" __attribute__((visibility("default")))

struct hld_spm {
  sentencepiece::SentencePieceProcessor sp;
};

namespace {

void report(hld_spm_bytes_fn err, void* ctx, const std::string& msg) {
  if (err) err(ctx, msg.data(), msg.size());
}

// Feeds sentences from the caller's callback to the trainer.
class CallbackIterator : public sentencepiece::SentenceIterator {
 public:
  CallbackIterator(hld_spm_next_fn next, void* ctx) : next_(next), ctx_(ctx) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    const char* d = nullptr;
    size_t n = 0;
    if (next_(ctx_, &d, &n))
      value_.assign(d, n);
    else
      done_ = true;
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  hld_spm_next_fn next_;
  void* ctx_;
  std::string value_;
  bool done_ = false;
};

}  // namespace

HLD_SPM_EXPORT hld_spm* hld_spm_load(const char* bytes, size_t len, hld_spm_bytes_fn err, void* err_ctx) {
  auto* p = new hld_spm;
  const auto st = p->sp.LoadFromSerializedProto(std::string_view(bytes, len));
  if (!st.ok()) {
    report(err, err_ctx, st.ToString());
    delete p;
    return nullptr;
  }
  return p;
}

HLD_SPM_EXPORT void hld_spm_free(hld_spm* p) { delete p; }

HLD_SPM_EXPORT int hld_spm_piece_size(const hld_spm* p) { return p->sp.GetPieceSize(); }

HLD_SPM_EXPORT int hld_spm_special_id(const hld_spm* p, int which) {
  switch (which) {
    case 0:
      return p->sp.pad_id();
    case 1:
      return p->sp.eos_id();
    case 2:
      return p->sp.bos_id();
    default:
      return p->sp.unk_id();
  }
}

HLD_SPM_EXPORT int hld_spm_encode(const hld_spm* p, const char* text, size_t len, hld_spm_ids_fn out, void* ctx,
                                  hld_spm_bytes_fn err, void* err_ctx) {
  std::vector<int> ids;
  const auto st = p->sp.Encode(std::string_view(text, len), &ids);
  if (!st.ok()) {
    report(err, err_ctx, st.ToString());
    return 1;
  }
  std::vector<int32_t> out32(ids.begin(), ids.end());
  out(ctx, out32.data(), out32.size());
  return 0;
}

HLD_SPM_EXPORT int hld_spm_decode(const hld_spm* p, const int32_t* ids, size_t n, hld_spm_bytes_fn out, void* ctx,
                                  hld_spm_bytes_fn err, void* err_ctx) {
  std::string text;
  const auto st = p->sp.Decode(std::vector<int>(ids, ids + n), &text);
  if (!st.ok()) {
    report(err, err_ctx, st.ToString());
    return 1;
  }
  out(ctx, text.data(), text.size());
  return 0;
}

HLD_SPM_EXPORT void hld_spm_id_to_piece(const hld_spm* p, int id, hld_spm_bytes_fn out, void* ctx) {
  const std::string& s = p->sp.IdToPiece(id);
  out(ctx, s.data(), s.size());
}

HLD_SPM_EXPORT float hld_spm_score(const hld_spm* p, int id) { return p->sp.GetScore(id); }

HLD_SPM_EXPORT int hld_spm_piece_type(const hld_spm* p, int id) {
  if (p->sp.IsUnknown(id)) return 2;
  if (p->sp.IsControl(id)) return 3;
  if (p->sp.IsUnused(id)) return 5;
  if (p->sp.IsByte(id)) return 6;
  return 1;
}

HLD_SPM_EXPORT int hld_spm_train(const char* args, hld_spm_next_fn next, void* next_ctx, unsigned seed,
                                 int min_log_level, hld_spm_bytes_fn model, void* model_ctx, hld_spm_bytes_fn err,
                                 void* err_ctx) {
  std::unordered_map<std::string, std::string> kv;
  std::istringstream in(args);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  sentencepiece::logging::SetMinLogLevel(min_log_level);
  sentencepiece::SetRandomGeneratorSeed(seed);
  CallbackIterator it(next, next_ctx);
  std::string serialized;
  const auto st = sentencepiece::SentencePieceTrainer::Train(kv, &it, &serialized);
  if (!st.ok()) {
    report(err, err_ctx, st.ToString());
    return 1;
  }
  model(model_ctx, serialized.data(), serialized.size());
  return 0;
}
