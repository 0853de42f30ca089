// Loss curves from metrics.jsonl (see hld/report/curves.h).
#include "hld/report/curves.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;

namespace hld::report {
namespace {

struct Sample {
  double flops = 0, loss = 0;
};

struct RunSeries {
  std::map<int64_t, Sample> valid, train;
  std::optional<double> phase_end;
};

std::optional<double> finite(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

// A resumed run may repeat steps (records after its checkpoint are dropped on resume, but older
// folders kept them): the last record of a step wins.
RunSeries read_series(const std::string& path) {
  RunSeries s;
  std::ifstream in(path);
  std::string first_phase;
  double first_phase_last = -1;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) continue;
    const int64_t step = j["step"].get<int64_t>();
    const auto flops = finite(j, "flops/spent");
    if (!flops) continue;
    if (auto v = finite(j, "valid/loss")) s.valid[step] = {*flops, *v};
    // The student's own next-token loss on its training batches: comparable across objectives
    // (train/loss mixes in the KD and hidden terms; HLDF's hint phase has no NLL term).
    if (auto v = finite(j, "train/nll")) s.train[step] = {*flops, *v};
    if (j.contains("phase") && j["phase"].is_string() && j.contains("train/loss")) {
      const std::string ph = j["phase"].get<std::string>();
      if (first_phase.empty()) first_phase = ph;
      if (ph == first_phase)
        first_phase_last = std::max(first_phase_last, *flops);
      else if (first_phase_last >= 0)
        s.phase_end = first_phase_last;
    }
  }
  return s;
}

std::vector<CurvePoint> average(const std::vector<const std::map<int64_t, Sample>*>& runs) {
  std::map<int64_t, CurvePoint> acc;
  for (const auto* r : runs)
    for (const auto& [step, smp] : *r) {
      CurvePoint& c = acc[step];
      if (c.n == 0) c.lo = c.hi = smp.loss;
      c.step = step;
      c.flops += smp.flops;
      c.mean += smp.loss;
      c.lo = std::min(c.lo, smp.loss);
      c.hi = std::max(c.hi, smp.loss);
      ++c.n;
    }
  std::vector<CurvePoint> out;
  for (auto& [step, c] : acc) {
    c.flops /= c.n;
    c.mean /= c.n;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::vector<Curve> point_curves(const Point& p) {
  std::vector<RunSeries> series;
  for (const RunRecord* r : p.runs) {
    const fs::path file = fs::path(r->dir) / "metrics.jsonl";
    if (fs::exists(file)) series.push_back(read_series(file.string()));
  }
  std::vector<Curve> out;
  for (const char* kind : {"valid", "train"}) {
    Curve c;
    c.model = p.key.model;
    c.method = p.key.method;
    c.kind = kind;
    c.point = p.key;
    c.runs = static_cast<int>(series.size());
    std::vector<const std::map<int64_t, Sample>*> runs;
    for (const auto& s : series) {
      runs.push_back(c.kind == "valid" ? &s.valid : &s.train);
      if (s.phase_end && !c.phase_end_flops) c.phase_end_flops = s.phase_end;
    }
    c.points = average(runs);
    out.push_back(std::move(c));
  }
  return out;
}

std::optional<double> flops_to_reach(const Curve& c, double target) {
  for (size_t i = 0; i < c.points.size(); ++i) {
    const auto& b = c.points[i];
    if (b.mean > target) continue;
    if (i == 0) return b.flops;
    const auto& a = c.points[i - 1];
    const double t = (a.mean - target) / (a.mean - b.mean);
    return a.flops + t * (b.flops - a.flops);
  }
  return std::nullopt;
}

std::optional<double> value_at(const Curve& c, double flops) {
  if (c.points.empty() || flops < c.points.front().flops || flops > c.points.back().flops) return std::nullopt;
  for (size_t i = 1; i < c.points.size(); ++i) {
    const auto& a = c.points[i - 1];
    const auto& b = c.points[i];
    if (flops <= b.flops) {
      const double t = b.flops > a.flops ? (flops - a.flops) / (b.flops - a.flops) : 1.0;
      return a.mean + t * (b.mean - a.mean);
    }
  }
  return c.points.back().mean;
}

}  // namespace hld::report
