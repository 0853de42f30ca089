// BudgetPlan → JSON and readable text (what `hld-train flops` prints).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>
#include <string>

#include "hld/budget/plan.h"

namespace hld::budget {
namespace {

std::string grouped(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// 1.23e+19 style for FLOPs, grouped digits below 1e15.
std::string flops_str(double v) {
  if (v < 1e15) return grouped(static_cast<int64_t>(v));
  return fmt("%.4e", v);
}

std::string duration(double s) {
  if (s < 120) return fmt("%.1f s", s);
  if (s < 7200) return fmt("%.1f min", s / 60);
  if (s < 3 * 86400) return fmt("%.2f h", s / 3600);
  return fmt("%.2f days", s / 86400);
}

nlohmann::json opt(const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }
nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

}  // namespace

nlohmann::json to_json(const BudgetPlan& p, double tokens_per_s) {
  const TokenCosts& k = p.costs;
  nlohmann::json j;
  j["objective"] = config::to_string(p.objective);
  j["budget"] = {{"unit", config::to_string(p.unit)},
                 {"amount", p.amount},
                 {"flops", p.budget_flops},
                 {"nll_tokens", p.nll_tokens},
                 {"ot", p.ot_units}};
  j["world_size"] = p.world_size;
  j["global_batch"] = p.global_batch;
  j["context"] = p.context;
  j["tokens_per_step"] = p.tokens_per_step;
  j["params"] = {
      {"student_total", p.student.total},
      {"student_backbone", p.student.backbone},
      {"student_embedding", p.student.embedding},
      {"teacher_total", p.teacher ? nlohmann::json(p.teacher->total) : nlohmann::json()},
      {"teacher_backbone", p.teacher ? nlohmann::json(p.teacher->backbone) : nlohmann::json()},
      {"regressor_hldc", opt(k.regressor_hldc)},
      {"regressor_hldf", opt(k.regressor_hldf)},
      {"regressor", opt(p.regressor_params)},
      {"regressor_kind", p.regressor_kind ? nlohmann::json(config::to_string(*p.regressor_kind)) : nlohmann::json()}};
  j["cost_per_token"] = {{"data", k.data},      {"kd", k.kd},           {"ht", opt(k.ht)},
                         {"hldc", opt(k.hldc)}, {"teacher", k.teacher}, {"teacher_counted", k.teacher_counted}};
  j["ratio"] = {{"kd", opt(TokenCosts::ratio(k.kd, k.data))},
                {"ht", opt(TokenCosts::ratio(k.ht, k.data))},
                {"hldc", opt(TokenCosts::ratio(k.hldc, k.data))}};
  nlohmann::json phases = nlohmann::json::array();
  for (const auto& ph : p.phases)
    phases.push_back({{"name", ph.name},
                      {"cost_model", ph.cost_model},
                      {"cost_per_token", ph.cost_per_token},
                      {"tokens_per_step", ph.tokens_per_step},
                      {"flops_per_step", ph.flops_per_step},
                      {"target_flops", ph.target_flops},
                      {"steps", ph.steps},
                      {"tokens", ph.tokens},
                      {"flops", ph.flops},
                      {"share", p.total_flops > 0 ? ph.flops / p.total_flops : 0.0}});
  j["phases"] = phases;
  j["total"] = {{"steps", p.total_steps},
                {"tokens", p.total_tokens},
                {"flops", p.total_flops},
                {"remainder_flops", p.remainder_flops}};
  if (tokens_per_s > 0) {
    const double fps = tokens_per_s * static_cast<double>(k.data);
    j["estimate"] = {
        {"tokens_per_s", tokens_per_s}, {"flops_per_s", fps}, {"seconds", estimate_seconds(p, tokens_per_s)}};
  }
  return j;
}

std::string format_plan(const BudgetPlan& p, double tokens_per_s) {
  const TokenCosts& k = p.costs;
  std::ostringstream o;
  auto ratio = [&](std::optional<int64_t> c) {
    auto r = TokenCosts::ratio(c, k.data);
    return r ? fmt("%.3f", *r) : std::string("n/a");
  };
  auto cost = [&](std::optional<int64_t> c) { return c ? grouped(*c) : std::string("n/a (no teacher.model)"); };

  auto row = [&](const char* label, const std::string& v, const std::string& r) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  %-38s %16s   %s\n", label, v.c_str(), r.c_str());
    return std::string(buf);
  };
  o << "objective   " << config::to_string(p.objective) << " (teacher forward "
    << (k.teacher_counted ? "counted: online teacher" : "not counted: cached teacher or count_teacher=false") << ")\n";
  o << "student     " << grouped(p.student.total) << " params: backbone N = " << grouped(p.student.backbone)
    << ", embedding " << grouped(p.student.embedding) << "; d_S " << k.d_student << ", V " << grouped(k.vocab) << "\n";
  if (p.teacher)
    o << "teacher     " << grouped(p.teacher->total) << " params: backbone N_T = " << grouped(p.teacher->backbone)
      << "; d_T " << *k.d_teacher
      << "; forward 2N_T + 2·d_T·V = " << grouped(2 * p.teacher->backbone + 2 * *k.d_teacher * k.vocab)
      << " FLOPs/token\n";
  else
    o << "teacher     shape unknown (no teacher.model)\n";
  if (k.regressor_hldc && k.regressor_hldf)
    o << "regressor   N_reg: HLDC " << grouped(*k.regressor_hldc) << ", HLDF " << grouped(*k.regressor_hldf)
      << " params (no biases)\n";

  {
    char head[160];
    std::snprintf(head, sizeof head, "\n  %-38s %16s   %s\n", "per-token training cost", "FLOPs/token", "/ C_data");
    o << head;
  }
  o << row("C_data = 6N + 6*d_S*V", grouped(k.data), "1.000");
  o << row("C_KD   = C_data + C_teacher", grouped(k.kd), ratio(k.kd));
  o << row("C_HT   = 3N + 6*N_reg + C_teacher/2", cost(k.ht), ratio(k.ht));
  o << row("C_HLDC = C_KD + 6*N_reg", cost(k.hldc), ratio(k.hldc));
  o << "  (paper, 123M student, cached teacher: 1.000 / 0.442 / 1.027, which imply N_reg ≈ 3.3 M;\n"
       "   the ratios above use the regressors this config really has)\n";

  o << "\nbudget      " << config::to_string(p.unit) << " " << fmt("%g", p.amount) << " = " << flops_str(p.budget_flops)
    << " FLOPs = " << grouped(static_cast<int64_t>(p.nll_tokens)) << " NLL tokens = OT " << fmt("%.3f", p.ot_units)
    << "\n";
  o << "batch       " << p.global_batch / p.world_size << " × " << p.world_size << " rank(s) × context " << p.context
    << " = " << grouped(p.tokens_per_step) << " tokens/step\n";

  char buf[256];
  std::snprintf(buf, sizeof buf, "\n  %-6s %-5s %16s %12s %18s %14s %7s\n", "phase", "cost", "FLOPs/token", "steps",
                "tokens", "FLOPs", "share");
  o << buf;
  for (const auto& ph : p.phases) {
    std::snprintf(buf, sizeof buf, "  %-6s %-5s %16s %12s %18s %14s %6.2f%%\n", ph.name.c_str(), ph.cost_model.c_str(),
                  grouped(ph.cost_per_token).c_str(), grouped(ph.steps).c_str(), grouped(ph.tokens).c_str(),
                  fmt("%.4e", ph.flops).c_str(), p.total_flops > 0 ? 100.0 * ph.flops / p.total_flops : 0.0);
    o << buf;
  }
  std::snprintf(buf, sizeof buf, "  %-6s %-5s %16s %12s %18s %14s\n", "total", "", "", grouped(p.total_steps).c_str(),
                grouped(p.total_tokens).c_str(), fmt("%.4e", p.total_flops).c_str());
  o << buf;
  const double last_step = p.phases.empty() ? 0.0 : static_cast<double>(p.phases.back().flops_per_step);
  o << "  unspent " << fmt("%.4e", p.remainder_flops) << " FLOPs ("
    << fmt("%.3f", last_step > 0 ? p.remainder_flops / last_step : 0.0) << " of a step)\n";

  if (tokens_per_s > 0) {
    const double secs = estimate_seconds(p, tokens_per_s);
    o << "\nestimate    at " << fmt("%g", tokens_per_s) << " NLL tokens/s ("
      << fmt("%.3g", tokens_per_s * static_cast<double>(k.data)) << " FLOP/s): " << duration(secs) << "\n";
    for (const auto& ph : p.phases)
      o << "            " << ph.name << ": " << duration(ph.flops / (tokens_per_s * static_cast<double>(k.data)))
        << "\n";
  }
  return o.str();
}

}  // namespace hld::budget
