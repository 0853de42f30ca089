// SentencePiece model → Hugging Face tokenizer files. tokenizer.json follows what transformers'
// convert_slow_tokenizer builds from a SentencePiece unigram proto (SpmConverter /
// build_tokenizer_from_spm_proto): a Unigram model over the same [piece, score] list with the
// proto's unk id and byte fallback, control pieces as special added tokens, and a normaliser made
// from the proto's NormalizerSpec — the precompiled charsmap when there is one, SentencePiece's
// whitespace cleaning, the dummy "▁" prefix, and " " → "▁" — with no pre-tokeniser, since
// SentencePiece runs one Viterbi pass over the whole normalised text. Pieces, scores and reserved
// types come from SentencePiece itself (the shim); only the normaliser settings, the model type
// and user-defined pieces are read from the proto.
#include "hld/hf/hf_tokenizer.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

#include "hld/data/spm_lib.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::hf {
namespace {

using ojson = nlohmann::ordered_json;

// Protobuf wire format, bounds-checked: every length is checked against the bytes left.
class WireReader {
 public:
  WireReader(const uint8_t* p, const uint8_t* end, const std::string& what) : p_(p), end_(end), what_(what) {}
  bool done() const { return p_ >= end_; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) fail("truncated varint");
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
    return 0;
  }
  WireReader sub() {
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end_ - p_)) fail("a length-delimited field runs past the end");
    WireReader r(p_, p_ + n, what_);
    p_ += n;
    return r;
  }
  std::string bytes() {
    WireReader r = sub();
    return std::string(reinterpret_cast<const char*>(r.p_), static_cast<size_t>(r.end_ - r.p_));
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case 0:
        varint();
        return;
      case 1:
        advance(8);
        return;
      case 2:
        sub();
        return;
      case 5:
        advance(4);
        return;
      default:
        fail("unsupported wire type " + std::to_string(wire_type));
    }
  }
  [[noreturn]] void fail(const std::string& msg) const {
    throw InputError(what_ + ": not a SentencePiece model (" + msg + ")");
  }

 private:
  void advance(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) fail("a fixed-width field runs past the end");
    p_ += n;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  std::string what_;
};

std::string base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// One loaded SentencePiece processor (the shim's handle), freed on scope exit.
struct Processor {
  explicit Processor(const std::string& bytes, const std::string& what) {
    std::string err;
    auto append = [](void* ctx, const char* d, size_t n) { static_cast<std::string*>(ctx)->append(d, n); };
    sp = data::spm::api().load(bytes.data(), bytes.size(), append, &err);
    HLD_INPUT_CHECK(sp, what + ": not a SentencePiece model: " + err);
  }
  ~Processor() { data::spm::api().free(sp); }
  std::string piece(int id) const {
    std::string s;
    data::spm::api().id_to_piece(
        sp, id, [](void* ctx, const char* d, size_t n) { static_cast<std::string*>(ctx)->assign(d, n); }, &s);
    return s;
  }
  hld_spm* sp = nullptr;
};

// SentencePiece's piece types (ModelProto.SentencePiece.Type).
constexpr int kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4;

struct Special {
  int id;
  std::string piece;
};

// The model's special pieces as the HF files name them (pad, eos, bos, unk; id -1 when absent).
struct Specials {
  Special pad, eos, bos, unk;
};

Specials specials(const Processor& p) {
  auto get = [&](int which) {
    const int id = data::spm::api().special_id(p.sp, which);
    return Special{id, id >= 0 ? p.piece(id) : std::string()};
  };
  return Specials{get(0), get(1), get(2), get(3)};
}

ojson added_token(int id, const std::string& content, bool special) {
  return ojson{{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
               {"rstrip", false}, {"normalized", false}, {"special", special}};
}

}  // namespace

SpmSettings read_spm_settings(const std::string& bytes, const std::string& what) {
  SpmSettings s;
  const auto* base = reinterpret_cast<const uint8_t*>(bytes.data());
  WireReader r(base, base + bytes.size(), what);
  while (!r.done()) {
    const uint64_t tag = r.varint();
    const int field = static_cast<int>(tag >> 3), wt = static_cast<int>(tag & 7);
    if (field == 1 && wt == 2) {  // pieces
      WireReader p = r.sub();
      int type = kNormal;
      while (!p.done()) {
        const uint64_t t = p.varint();
        if ((t >> 3) == 3 && (t & 7) == 0)
          type = static_cast<int>(p.varint());
        else
          p.skip(static_cast<int>(t & 7));
      }
      s.piece_types.push_back(type);
    } else if (field == 2 && wt == 2) {  // trainer_spec
      WireReader t = r.sub();
      while (!t.done()) {
        const uint64_t tt = t.varint();
        const int f = static_cast<int>(tt >> 3), w = static_cast<int>(tt & 7);
        if (w == 0 && f == 3)
          s.model_type = static_cast<int>(t.varint());
        else if (w == 0 && f == 35)
          s.byte_fallback = t.varint() != 0;
        else if (w == 0 && f == 24)
          s.treat_whitespace_as_suffix = t.varint() != 0;
        else
          t.skip(w);
      }
    } else if (field == 3 && wt == 2) {  // normalizer_spec
      WireReader n = r.sub();
      while (!n.done()) {
        const uint64_t nt = n.varint();
        const int f = static_cast<int>(nt >> 3), w = static_cast<int>(nt & 7);
        if (w == 2 && f == 1)
          s.normalizer_name = n.bytes();
        else if (w == 2 && f == 2)
          s.precompiled_charsmap = n.bytes();
        else if (w == 0 && f == 3)
          s.add_dummy_prefix = n.varint() != 0;
        else if (w == 0 && f == 4)
          s.remove_extra_whitespaces = n.varint() != 0;
        else if (w == 0 && f == 5)
          s.escape_whitespaces = n.varint() != 0;
        else
          n.skip(w);
      }
    } else {
      r.skip(wt);
    }
  }
  if (s.piece_types.empty()) r.fail("no pieces");
  return s;
}

std::string tokenizer_json(const std::string& model_path, bool add_bos) {
  const std::string bytes = util::read_file(model_path);
  const SpmSettings st = read_spm_settings(bytes, model_path);
  HLD_INPUT_CHECK(st.model_type == 1, model_path +
                                          ": tokenizer.json is written for unigram SentencePiece models; "
                                          "this one has model_type " +
                                          std::to_string(st.model_type) + " (2 = BPE)");
  HLD_INPUT_CHECK(!st.treat_whitespace_as_suffix,
                  model_path + ": treat_whitespace_as_suffix has no Hugging Face tokenizers equivalent");
  const Processor p(bytes, model_path);
  const auto& api = data::spm::api();
  const int n = api.piece_size(p.sp);
  HLD_INPUT_CHECK(n == static_cast<int>(st.piece_types.size()), model_path + ": SentencePiece reports " +
                                                                    std::to_string(n) + " pieces, the proto holds " +
                                                                    std::to_string(st.piece_types.size()));
  const Specials sp = specials(p);
  HLD_INPUT_CHECK(sp.unk.id >= 0, model_path + ": the model has no unk piece");

  ojson vocab = ojson::array(), added = ojson::array();
  for (int id = 0; id < n; ++id) {
    const std::string piece = p.piece(id);
    vocab.push_back(ojson::array({piece, static_cast<double>(api.score(p.sp, id))}));
    // Reserved types from SentencePiece itself; user-defined pieces (not reserved) from the proto.
    const int type = api.piece_type(p.sp, id) != kNormal ? api.piece_type(p.sp, id) : st.piece_types[id];
    if (type == kControl || type == kUnknown)
      added.push_back(added_token(id, piece, true));
    else if (type == kUserDefined)
      added.push_back(added_token(id, piece, false));
  }

  ojson norms = ojson::array();
  if (!st.precompiled_charsmap.empty())
    norms.push_back({{"type", "Precompiled"}, {"precompiled_charsmap", base64(st.precompiled_charsmap)}});
  if (st.remove_extra_whitespaces) {
    norms.push_back({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}});
    norms.push_back({{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}});
  }
  if (st.add_dummy_prefix) norms.push_back({{"type", "Prepend"}, {"prepend", "\u2581"}});
  if (st.escape_whitespaces)
    norms.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}});

  ojson decoders = ojson::array();
  if (st.escape_whitespaces)
    decoders.push_back({{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}});
  if (st.byte_fallback) decoders.push_back({{"type", "ByteFallback"}});
  decoders.push_back({{"type", "Fuse"}});
  if (st.add_dummy_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});

  ojson post = nullptr;
  if (add_bos && sp.bos.id >= 0) {  // add_bos_token: BOS before every sequence, as Gemma's tokenizer does
    auto tok = [&](int type_id) { return ojson{{"SpecialToken", {{"id", sp.bos.piece}, {"type_id", type_id}}}}; };
    auto seq = [](const char* id, int type_id) { return ojson{{"Sequence", {{"id", id}, {"type_id", type_id}}}}; };
    post = {
        {"type", "TemplateProcessing"},
        {"single", {tok(0), seq("A", 0)}},
        {"pair", {tok(0), seq("A", 0), tok(1), seq("B", 1)}},
        {"special_tokens", {{sp.bos.piece, {{"id", sp.bos.piece}, {"ids", {sp.bos.id}}, {"tokens", {sp.bos.piece}}}}}}};
  }

  ojson j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = norms.empty() ? ojson(nullptr) : ojson{{"type", "Sequence"}, {"normalizers", norms}};
  j["pre_tokenizer"] = nullptr;
  j["post_processor"] = post;
  j["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  j["model"] = {{"type", "Unigram"}, {"unk_id", sp.unk.id}, {"vocab", vocab}, {"byte_fallback", st.byte_fallback}};
  return j.dump(1) + "\n";
}

std::vector<std::string> write_hf_tokenizer(const std::string& model_path, const std::string& dir,
                                            int64_t model_max_length, bool add_bos) {
  const std::string bytes = util::read_file(model_path);
  const SpmSettings st = read_spm_settings(bytes, model_path);
  const Processor p(bytes, model_path);
  const Specials sp = specials(p);
  std::vector<std::string> written;
  std::string json;
  if (st.model_type == 1) {
    json = tokenizer_json(model_path, add_bos);
  } else {
    spdlog::warn(
        "export-hf: {} is not a unigram SentencePiece model (model_type {}): tokenizer.json not written; "
        "transformers converts tokenizer.model itself when sentencepiece is installed",
        model_path, st.model_type);
  }
  fs::create_directories(dir);
  util::write_file_atomic((fs::path(dir) / "tokenizer.model").string(), bytes);
  written.push_back("tokenizer.model");
  if (!json.empty()) {
    util::write_file_atomic((fs::path(dir) / "tokenizer.json").string(), json);
    written.push_back("tokenizer.json");
  }

  auto token_dict = [](const std::string& content) {
    return ojson{
        {"content", content}, {"lstrip", false}, {"normalized", false}, {"rstrip", false}, {"single_word", false}};
  };
  ojson map = ojson::object();
  ojson cfg;
  cfg["add_bos_token"] = add_bos;
  cfg["add_eos_token"] = false;
  ojson decoder = ojson::object();
  const auto& api = data::spm::api();
  for (int id = 0; id < api.piece_size(p.sp); ++id) {
    const int type = api.piece_type(p.sp, id) != kNormal ? api.piece_type(p.sp, id) : st.piece_types[id];
    if (type != kControl && type != kUnknown && type != kUserDefined) continue;
    ojson d = token_dict(p.piece(id));
    d["special"] = type != kUserDefined;
    decoder[std::to_string(id)] = d;
  }
  cfg["added_tokens_decoder"] = decoder;
  for (const auto& [key, s] : {std::pair<const char*, const Special&>{"bos_token", sp.bos},
                               {"eos_token", sp.eos},
                               {"pad_token", sp.pad},
                               {"unk_token", sp.unk}}) {
    // A model trained on `text EOS` declares no BOS: tools that put the tokenizer's BOS in front
    // of a text (lm-evaluation-harness's prefix token) then use EOS, what it was trained to follow.
    if (s.id < 0 || (!add_bos && std::string(key) == "bos_token")) continue;
    cfg[key] = s.piece;
    map[key] = token_dict(s.piece);
  }
  cfg["clean_up_tokenization_spaces"] = false;
  cfg["model_max_length"] = model_max_length;
  cfg["spaces_between_special_tokens"] = false;
  // The generic fast tokenizer loads tokenizer.json as written (transformers 4.x and 5.x alike).
  cfg["tokenizer_class"] = json.empty() ? "GemmaTokenizer" : "PreTrainedTokenizerFast";
  util::write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), cfg.dump(1) + "\n");
  util::write_file_atomic((fs::path(dir) / "special_tokens_map.json").string(), map.dump(1) + "\n");
  written.push_back("tokenizer_config.json");
  written.push_back("special_tokens_map.json");
  return written;
}

}  // namespace hld::hf
