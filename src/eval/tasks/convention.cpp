// eval.add_bos / eval.prefix_token → the BOS convention of one evaluation (see hld/eval/convention.h).
#include "hld/eval/convention.h"

#include "hld/util/error.h"

namespace hld::eval {

nlohmann::json Convention::to_json() const {
  return {{"add_bos", add_bos},
          {"bos_token", add_bos ? nlohmann::json(bos_token) : nlohmann::json(nullptr)},
          {"prefix_token", prefix_token},
          {"reason", reason}};
}

Convention resolve_convention(const config::EvalConfig& cfg, bool model_bos, const std::string& model_bos_source,
                              const SpecialTokens& tok) {
  const bool has_bos = tok.bos >= 0 && tok.bos < tok.vocab;
  Convention c;
  c.bos_token = has_bos ? tok.bos : -1;
  if (cfg.add_bos == "auto") {
    // A model that expects BOS but a tokenizer without one: the harness adds nothing then either.
    c.add_bos = model_bos && has_bos;
    c.reason = std::string("auto: ") +
               (model_bos                    ? "the model expects BOS text EOS (" + model_bos_source + ")"
                : model_bos_source == "none" ? std::string("no recorded data layout, so text EOS")
                                             : "the model was trained on text EOS (" + model_bos_source + ")") +
               (model_bos && !has_bos ? ", but the tokenizer has no BOS" : "");
  } else {
    c.add_bos = cfg.add_bos == "true";
    HLD_INPUT_CHECK(!c.add_bos || has_bos, "eval.add_bos = true: the tokenizer has no BOS piece");
    c.reason = "eval.add_bos = " + cfg.add_bos;
  }
  const std::string& p = cfg.prefix_token;
  if (p == "auto") {
    // The harness's prefix is the tokenizer's BOS whenever it has one; a model trained without
    // BOS (and scored without it) keeps EOS, the only document boundary it has seen.
    c.prefix_token = has_bos && (c.add_bos || model_bos) ? tok.bos : tok.eos;
  } else if (p == "bos") {
    HLD_INPUT_CHECK(has_bos, "eval.prefix_token = bos: the tokenizer has no BOS piece");
    c.prefix_token = tok.bos;
  } else if (p == "eos") {
    c.prefix_token = tok.eos;
  } else {
    const long long id = std::stoll(p);  // digits only (checked by the config loader)
    HLD_INPUT_CHECK(id < tok.vocab, "eval.prefix_token = " + p + ": outside the tokenizer's vocabulary of " +
                                        std::to_string(tok.vocab) + " pieces");
    c.prefix_token = static_cast<int32_t>(id);
  }
  if (p != "auto") c.reason += ", eval.prefix_token = " + p;
  return c;
}

}  // namespace hld::eval
