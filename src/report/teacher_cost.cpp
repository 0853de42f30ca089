// Teacher-inclusive compute: charges, the re-ranking at NLL's compute and the break-even N
// (see hld/report/teacher_cost.h).
#include "hld/report/teacher_cost.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "hld/budget/costs.h"
#include "hld/config/loader.h"
#include "hld/report/curves.h"
#include "hld/report/tables.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

bool same_dir(const std::string& a, const std::string& b) {
  std::error_code ea, eb;
  const auto ca = fs::weakly_canonical(a, ea), cb = fs::weakly_canonical(b, eb);
  return !ea && !eb && ca == cb;
}

// teacher.cache/cost.json's "flops", when present and sane.
std::optional<double> cache_cost(const std::string& cache_dir) {
  const fs::path file = fs::path(cache_dir) / "cost.json";
  if (cache_dir.empty() || !fs::exists(file)) return std::nullopt;
  const auto j = nlohmann::json::parse(util::read_file(file.string()), nullptr, false);
  if (!j.is_object() || !j.contains("flops") || !j["flops"].is_number()) return std::nullopt;
  const double v = j["flops"].get<double>();
  return std::isfinite(v) && v >= 0 ? std::optional<double>(v) : std::nullopt;
}

// The teacher forward per token of the model in run folder `dir` (its config.yaml), if readable.
std::optional<double> forward_per_token(const std::string& dir) {
  const fs::path file = fs::path(dir) / "config.yaml";
  if (dir.empty() || !fs::exists(file)) return std::nullopt;
  try {
    return static_cast<double>(budget::forward_cost(config::load(file.string()).model));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string sci(double v) { return fmt("%.3e", v); }

struct Row {
  const Point* point = nullptr;
  double final_loss = 0, student_flops = 0, charged = 0;
  bool charge_known = true;
  std::optional<double> matched;  ///< held-out loss at NLL's total compute
  std::string matched_note;
  Curve valid;
  double teacher_total = 0;  ///< full teacher cost (pre-training + cache), mean over the point's runs
};

}  // namespace

std::string TeacherCostMode::text() const {
  switch (kind) {
    case Kind::kNone:
      return "none";
    case Kind::kFull:
      return "full";
    case Kind::kAmortize:
      return "amortize:" + std::to_string(students);
  }
  return "?";
}

TeacherCostMode parse_teacher_cost(const std::string& s) {
  TeacherCostMode m;
  if (s == "none") return m;
  if (s == "full") {
    m.kind = TeacherCostMode::Kind::kFull;
    return m;
  }
  const std::string prefix = "amortize:";
  if (s.rfind(prefix, 0) == 0) {
    const std::string n = s.substr(prefix.size());
    const bool digits = !n.empty() && n.size() <= 12 && std::all_of(n.begin(), n.end(), ::isdigit);
    if (digits && std::stoll(n) >= 1) {
      m.kind = TeacherCostMode::Kind::kAmortize;
      m.students = std::stoll(n);
      return m;
    }
  }
  throw InputError("--teacher-cost '" + s + "': expected none, full or amortize:N with N ≥ 1 students");
}

TeacherCharge teacher_charge(const RunRecord& r, const std::vector<RunRecord>& teachers) {
  TeacherCharge c;
  if (!distills(r.method) || r.teacher_checkpoint.empty()) return c;
  std::optional<RunRecord> own;
  const RunRecord* t = nullptr;
  for (const auto& cand : teachers)
    if (same_dir(cand.dir, r.teacher_checkpoint)) t = &cand;
  if (!t && fs::exists(fs::path(r.teacher_checkpoint) / "eval.json")) {
    try {
      own = load_run(r.teacher_checkpoint);
      t = &*own;
    } catch (const std::exception&) {
    }
  }
  if (!t && teachers.size() == 1) t = &teachers[0];  // the one teacher the report was given
  if (t && t->flops) {
    c.pretrain = *t->flops;
    c.pretrain_known = true;
  }
  if (r.teacher_source == "cache") {
    if (auto v = cache_cost(r.teacher_cache)) c.cache = *v, c.cache_known = true;
  } else if (r.teacher_counted) {
    c.cache_known = true;  // the online teacher forward is already in the run's FLOPs
  } else if (auto per = forward_per_token(t ? t->dir : r.teacher_checkpoint); per && r.tokens) {
    c.cache = *per * *r.tokens;
    c.cache_known = true;
  }
  return c;
}

TeacherCostSection teacher_cost_section(const std::vector<Point>& points, const std::string& metric,
                                        const std::vector<Curve>& curves, const std::vector<RunRecord>& teachers,
                                        const TeacherCostMode& mode) {
  TeacherCostSection out;
  std::ostringstream md;
  md << "### Teacher-inclusive compute (--teacher-cost " << mode.text() << ")\n\n";
  std::vector<Row> rows;
  const Row* nll = nullptr;
  for (const Point* p : best_points(points, metric)) {
    Row row;
    row.point = p;
    for (const auto& c : curves)
      if (c.kind == "valid" && c.point == p->key) row.valid = c;
    if (row.valid.points.empty()) continue;
    row.final_loss = row.valid.points.back().mean;
    row.student_flops = row.valid.points.back().flops;
    double total = 0;
    for (const RunRecord* r : p->runs) {
      const TeacherCharge c = teacher_charge(*r, teachers);
      total += c.total();
      if (distills(p->key.method) && !(c.pretrain_known && c.cache_known)) row.charge_known = false;
    }
    row.teacher_total = p->runs.empty() ? 0 : total / static_cast<double>(p->runs.size());
    row.charged = row.teacher_total * mode.share();
    rows.push_back(std::move(row));
  }
  for (const auto& r : rows)
    if (is_baseline_reference(r.point->key.method) && r.point->key.variant.empty()) nll = &r;
  if (!nll) {
    md << "Needs an NLL run with a held-out loss (metrics.jsonl) to compare against.\n\n";
    out.markdown = md.str();
    return out;
  }
  const double budget = nll->student_flops;
  for (auto& r : rows) {
    if (&r == nll) {
      r.matched = r.final_loss;
      continue;
    }
    const double left = budget - r.charged;
    if (left <= 0) {
      r.matched_note = "teacher alone exceeds NLL's compute";
    } else if (left >= r.student_flops) {
      r.matched = r.final_loss;
      r.matched_note = "whole run fits";
    } else if (auto v = value_at(r.valid, left)) {
      r.matched = *v;
    } else {
      r.matched_note = "before its first evaluation";
    }
  }
  std::vector<const Row*> order;
  for (const auto& r : rows) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(), [](const Row* a, const Row* b) {
    if (a->matched.has_value() != b->matched.has_value()) return a->matched.has_value();
    return a->matched && *a->matched < *b->matched;
  });

  Table t;
  t.header = {"Rank",          "Method",
              "Point",         "Held-out loss",
              "Student FLOPs", "Teacher FLOPs charged",
              "Total FLOPs",   "Held-out loss at NLL's total"};
  out.csv.header = {"model",         "method",        "point",       "final_loss",       "student_flops",
                    "teacher_flops", "charged_flops", "total_flops", "loss_at_nll_total"};
  int rank = 0;
  for (const Row* r : order) {
    const auto& k = r->point->key;
    const std::string charged = !distills(k.method) ? "0" : r->charge_known ? sci(r->charged) : "unknown";
    const std::string at =
        r->matched ? fmt("%.4f", *r->matched) + (r->matched_note.empty() ? "" : " (" + r->matched_note + ")")
                   : "— (" + r->matched_note + ")";
    t.add({r->matched ? std::to_string(++rank) : "—", point_label(k), describe_point(k), fmt("%.4f", r->final_loss),
           sci(r->student_flops), charged, sci(r->student_flops + r->charged), at});
    out.csv.add({k.model, point_id(k), describe_point(k), fmt("%.6g", r->final_loss), fmt("%.6g", r->student_flops),
                 fmt("%.6g", r->teacher_total), fmt("%.6g", r->charged), fmt("%.6g", r->student_flops + r->charged),
                 r->matched ? fmt("%.6g", *r->matched) : ""});
  }
  md << "Each method's best point; held-out loss from the runs' periodic evaluations (metrics.jsonl, mean over "
        "seeds). Teacher FLOPs: its pre-training plus the cache-generation forward, "
     << (mode.kind == TeacherCostMode::Kind::kNone   ? "not charged"
         : mode.kind == TeacherCostMode::Kind::kFull ? "charged in full to every student"
                                                     : "shared by " + std::to_string(mode.students) + " students")
     << ". Ranked by held-out loss at NLL's total compute (" << sci(budget)
     << " FLOPs): a distilled method gets what is left after its teacher charge, read from its curve (a point "
        "inside a WSD run, before its decay, so this is pessimistic for the distilled method).\n\n"
     << t.markdown() << "\n";

  // Break-even N: students per teacher from which the method is cheaper than NLL for NLL's loss.
  const double target = nll->final_loss;
  for (const auto& r : rows) {
    if (&r == nll) continue;
    const std::string m = point_label(r.point->key);
    md << "- Break-even (" << m << " vs NLL): ";
    const auto reach = flops_to_reach(r.valid, target);
    if (!r.charge_known) {
      md << "the teacher's cost is unknown (give the teacher run folder with --teacher and re-run cache-teacher to "
            "write cost.json).\n";
    } else if (!reach || *reach >= budget) {
      md << "none in range: " << m << " does not reach NLL's final held-out loss (" << fmt("%.4f", target)
         << ") with less compute than NLL within its run, so no number of students sharing the teacher makes it "
            "cheaper at this scale.\n";
    } else {
      const double saving = budget - *reach;
      const double n = r.teacher_total / saving;
      md << m << " reaches NLL's final held-out loss (" << fmt("%.4f", target) << ") after " << sci(*reach)
         << " student FLOPs instead of " << sci(budget) << "; the teacher cost " << sci(r.teacher_total)
         << " FLOPs, so " << m << " is cheaper than NLL for the same held-out loss once at least "
         << static_cast<long long>(std::floor(n)) + 1
         << " students share the teacher (break-even N = " << fmt("%.1f", n) << "); with fewer, NLL is cheaper.\n";
    }
  }
  md << "\n";
  out.markdown = md.str();
  return out;
}

}  // namespace hld::report
