// Writing a teacher cache: plan → resume check → storage check → teacher forward per batch of
// sequences → encoded records written into a temporary chunk file → fsync + rename → index.json.
#include "hld/teacher/cache_writer.h"
#include "hld/hf/any_model.h"

#include <ATen/Parallel.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>

#include "hld/config/stop_conditions.h"
#include "hld/data/batch_stream.h"
#include "hld/model/model_io.h"
#include "hld/runtime/deadline.h"
#include "hld/runtime/runtime.h"
#include "hld/runtime/stop_signals.h"
#include "hld/teacher/cache_reader.h"
#include "hld/teacher/teacher.h"
#include "hld/compat/torch.h"
#include "hld/util/error.h"
#include "hld/util/format.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::teacher {
namespace {

using Clock = std::chrono::steady_clock;

/// An exclusive flock on DIR/.lock for the writer's lifetime.
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    const std::string p = (fs::path(dir) / ".lock").string();
    fd_ = ::open(p.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot create '" + p + "': " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw InputError("teacher.cache '" + dir + "': another cache-teacher is writing this directory");
    }
  }
  ~DirLock() { ::close(fd_); }

 private:
  int fd_ = -1;
};

void pwrite_all(int fd, const void* data, size_t n, uint64_t offset, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::pwrite(fd, p + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
    done += static_cast<size_t>(w);
  }
}

void write_index(const std::string& dir, const io::CacheIndex& ix) {
  util::write_file_atomic((fs::path(dir) / "index.json").string(), io::to_json(ix).dump(2) + "\n");
}

struct Writer {
  const config::ExperimentConfig& cfg;
  io::CacheIndex& ix;
  model::Transformer& teacher;
  const data::BatchStream& order;
  const std::vector<int64_t>& rows;
  torch::Device dev;
  int64_t batch;
  std::string ix_dir;
  std::shared_ptr<ExtraVocabMass> extra = nullptr;  ///< a teacher vocabulary beyond the cache's (shared_vocab.h)

  /// Runs the teacher over chunk c's rows and writes the chunk; returns its index entry.
  io::CacheChunkEntry write_chunk(int64_t c, const std::function<void(int64_t)>& on_rows) {
    const auto& l = ix.layout;
    const int64_t T = ix.context, K = l.top_k, D = l.hidden_size;
    io::ChunkHeader h;
    h.cache_id = ix.cache_id();
    h.chunk_index = static_cast<uint64_t>(c);
    h.first_row = static_cast<uint64_t>(ix.chunk_first_row(c));
    h.num_rows = static_cast<uint64_t>(ix.chunk_num_rows(c));
    h.context = static_cast<uint32_t>(T);
    h.logits_record_bytes = static_cast<uint32_t>(ix.logits_record_bytes());
    h.hidden_record_bytes = static_cast<uint32_t>(ix.hidden_record_bytes());
    const int64_t L = static_cast<int64_t>(ix.layers.size()), lrec = ix.logits_record_bytes();
    h.version = static_cast<uint32_t>(ix.version);
    const io::ChunkGeometry g = io::chunk_geometry(h);
    const std::string path = (fs::path(ix_dir) / io::chunk_file_name(c)).string();
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create '" + tmp + "': " + std::strerror(errno));
    std::vector<io::RowEntry> table(h.num_rows);
    try {
      if (::ftruncate(fd, static_cast<off_t>(g.file_bytes)) != 0)
        throw std::runtime_error("cannot size '" + tmp + "': " + std::strerror(errno));
      std::vector<int32_t> seq;
      for (int64_t r0 = 0; r0 < static_cast<int64_t>(h.num_rows); r0 += batch) {
        const int64_t nb = std::min<int64_t>(batch, static_cast<int64_t>(h.num_rows) - r0);
        std::vector<int32_t> ids(static_cast<size_t>(nb * T));
        std::vector<int64_t> seq_ids(static_cast<size_t>(nb));  // seed the draws of a sampled cache
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = static_cast<int64_t>(h.first_row) + r0 + b;
          const int64_t sid = rows[static_cast<size_t>(row)];
          order.sequence(sid, seq);
          std::copy(seq.begin(), seq.begin() + T, ids.begin() + b * T);
          auto& e = table[static_cast<size_t>(r0 + b)];
          e.seq_id = static_cast<uint64_t>(sid);
          seq_ids[static_cast<size_t>(b)] = sid;
          e.tokens_hash = io::tokens_hash(ids.data() + b * T, T, ix.version);
        }
        torch::Tensor vals, idx, hidden, logz;
        {
          torch::NoGradGuard ng;
          compat::AutocastGuard ac(dev, compat::bf16_autocast(cfg.run.dtype));
          auto input = torch::from_blob(ids.data(), {nb, T}, torch::kInt32).to(torch::kInt64).to(dev);
          // The online teacher's forward: the same signals, whether cached or computed in the step.
          SignalRequest req{K, ix.version >= 3 ? ix.layers : std::vector<int64_t>{ix.layer}, ix.has_logz,
                            ix.logz_temperature, /*bf16_order=*/true};
          req.sampled = ix.logits_kind == "sampled";
          req.sample_seed = ix.sample_seed;
          req.extra = extra;
          const auto sig = forward_signals(teacher, input, {true, true}, req, seq_ids);
          vals = sig.vals_NxK, idx = sig.idx_NxK, logz = sig.logz_N;
          // logq8 decodes z − z_max: store the log-sum-exp on the same footing (format header).
          if (ix.logz_relative) logz = logz - std::get<0>(vals.max(-1)) / ix.logz_temperature;
          // (N, L, D): the layers of each token side by side, the record order
          hidden = torch::stack(sig.hidden_NxD, 1);
        }
        vals = vals.to(torch::kCPU, torch::kFloat32).contiguous();
        idx = idx.to(torch::kCPU, torch::kInt64).contiguous();
        hidden = hidden.to(torch::kCPU, torch::kFloat32).contiguous();
        if (ix.has_logz) logz = logz.to(torch::kCPU, torch::kFloat32).contiguous();
        std::vector<std::string> lbuf(static_cast<size_t>(nb)), hbuf(static_cast<size_t>(nb));
        at::parallel_for(0, nb, 1, [&](int64_t b0, int64_t b1) {
          for (int64_t b = b0; b < b1; ++b) {
            auto& lb = lbuf[static_cast<size_t>(b)];
            auto& hb = hbuf[static_cast<size_t>(b)];
            lb.resize(g.row_logits_bytes);
            hb.resize(g.row_hidden_bytes);
            auto* lp = reinterpret_cast<uint8_t*>(lb.data());
            auto* hp = reinterpret_cast<uint8_t*>(hb.data());
            for (int64_t t = 0; t < T; ++t) {
              const int64_t n = b * T + t;
              io::encode_logits(l, vals.data_ptr<float>() + n * K, idx.data_ptr<int64_t>() + n * K, lp + t * lrec);
              if (ix.has_logz) {
                const float z = logz.data_ptr<float>()[n];
                if (!std::isfinite(z)) throw std::runtime_error("cache-teacher: non-finite teacher log-sum-exp");
                uint32_t bits;
                std::memcpy(&bits, &z, 4);
                for (int i = 0; i < 4; ++i) lp[t * lrec + l.logits_bytes() + i] = static_cast<uint8_t>(bits >> (8 * i));
              }
              for (int64_t j = 0; j < L; ++j)
                io::encode_hidden(l, hidden.data_ptr<float>() + (n * L + j) * D, hp + (t * L + j) * l.hidden_bytes);
            }
            auto& e = table[static_cast<size_t>(r0 + b)];
            e.logits_checksum = io::cache_checksum(lb.data(), lb.size(), ix.version);
            e.hidden_checksum = io::cache_checksum(hb.data(), hb.size(), ix.version);
          }
        });
        for (int64_t b = 0; b < nb; ++b) {
          const auto r = static_cast<uint64_t>(r0 + b);
          pwrite_all(fd, lbuf[static_cast<size_t>(b)].data(), g.row_logits_bytes, g.logits_at(r), tmp);
          pwrite_all(fd, hbuf[static_cast<size_t>(b)].data(), g.row_hidden_bytes, g.hidden_at(r), tmp);
        }
        on_rows(nb);
      }
      const std::string prefix = io::encode_chunk_prefix(h, table);
      pwrite_all(fd, prefix.data(), prefix.size(), 0, tmp);
      if (::fsync(fd) != 0) throw std::runtime_error("cannot fsync '" + tmp + "': " + std::strerror(errno));
      ::close(fd);
      if (::rename(tmp.c_str(), path.c_str()) != 0)
        throw std::runtime_error("cannot rename '" + tmp + "': " + std::strerror(errno));
      util::fsync_dir(ix_dir);
      io::CacheChunkEntry e;
      e.index = c;
      e.file = io::chunk_file_name(c);
      e.first_row = static_cast<int64_t>(h.first_row);
      e.rows = static_cast<int64_t>(h.num_rows);
      e.bytes = g.file_bytes;
      e.checksum = io::cache_checksum(prefix.data(), prefix.size(), ix.version);
      return e;
    } catch (...) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw;
    }
  }
};

}  // namespace

void check_disk_space(const std::string& dir, uint64_t need) {
  const uint64_t avail = util::free_disk_bytes(dir);
  HLD_INPUT_CHECK(avail >= need, "teacher.cache '" + dir + "': the cache needs " + util::human_bytes(double(need)) +
                                     " more but the disk has " + util::human_bytes(double(avail)) +
                                     " free; free space, choose another teacher.cache or cache fewer tokens "
                                     "(teacher.cache_tokens / --sequences)");
}

CacheWriteResult write_teacher_cache(const config::ExperimentConfig& cfg, const CacheWriteOptions& opts) {
  const auto t0 = Clock::now();
  CacheWriteResult res;
  io::CacheIndex ix = plan_cache(cfg, opts.plan);
  const std::string dir = cfg.teacher.cache;
  const std::string ip = (fs::path(dir) / "index.json").string();

  // ---- resume: keep the finished chunks of an identical earlier cache (a prefix cache may grow
  // or shrink: its rows keep their order, so every full chunk stays valid) ---------------------
  if (fs::exists(ip)) {
    const io::CacheIndex old = io::parse_cache_index(util::read_file(ip), ip);
    HLD_INPUT_CHECK(old.version == ix.version,
                    "teacher.cache '" + dir + "' was written by an older hld-train (cache format version " +
                        std::to_string(old.version) +
                        "): training still reads it, but it cannot be extended; "
                        "write a new cache with `hld-train cache-teacher CONFIG` into a new directory "
                        "(teacher.cache)");
    const auto diffs = io::identity_differences(old, ix);
    if (!diffs.empty()) {
      std::string d;
      for (const auto& s : diffs) d += (d.empty() ? "" : "; ") + s;
      throw InputError("teacher.cache '" + dir + "' already holds a cache of another configuration (" + d +
                       "); use another directory or delete this one");
    }
    if (old.rows != ix.rows)
      spdlog::info("cache-teacher: '{}' is resized from {} to {} sequences", dir, old.rows, ix.rows);
    CacheReader check(dir);
    for (const auto& e : old.chunks) {
      if (e.index >= ix.num_chunks() || e.first_row != ix.chunk_first_row(e.index) ||
          e.rows != ix.chunk_num_rows(e.index))
        continue;  // the old last chunk of a resized prefix: rewritten (or dropped)
      try {
        check.entry(check.index().chunk_first_row(e.index));  // size, header, table checksum
        ix.chunks.push_back(e);
        ix.extra_mass_sum = old.extra_mass_sum, ix.extra_mass_max = old.extra_mass_max;
        ix.extra_mass_tokens = old.extra_mass_tokens;
      } catch (const InputError& err) {
        spdlog::warn("cache-teacher: rewriting chunk {}: {}", e.index, err.what());
      }
    }
  }
  res.chunks_kept = static_cast<int64_t>(ix.chunks.size());
  uint64_t kept_bytes = 0;
  for (const auto& e : ix.chunks) kept_bytes += e.bytes;

  // ---- storage -------------------------------------------------------------------------------
  const auto& l = ix.layout;
  const uint64_t total = ix.total_bytes(), remaining = total - kept_bytes;
  const double tokens = double(ix.rows) * double(ix.context);
  std::printf(
      "cache-teacher: %lld sequences x %lld tokens = %.0f tokens, %lld B/token (logits %s %lld B: "
      "indices %lld + values %lld; hidden %s %lld B) -> %s in %lld chunks of %lld sequences\n",
      (long long)ix.rows, (long long)ix.context, tokens, (long long)l.bytes_per_token(), io::to_string(l.logits),
      (long long)l.logits_bytes(), (long long)l.index_bytes, (long long)l.value_bytes, io::to_string(l.hidden),
      (long long)l.hidden_bytes, util::human_bytes(double(total)).c_str(), (long long)ix.num_chunks(),
      (long long)ix.chunk_rows);
  std::printf("cache-teacher: %lld chunks already finished; needs %s more on '%s' (%s free)\n",
              (long long)res.chunks_kept, util::human_bytes(double(remaining)).c_str(), dir.c_str(),
              util::human_bytes(double(util::free_disk_bytes(dir))).c_str());
  std::fflush(stdout);
  if (cfg.run.check_resources) check_disk_space(dir, remaining + (1u << 20));

  fs::create_directories(dir);
  DirLock lock(dir);
  for (const auto& f : fs::directory_iterator(dir)) {
    const std::string name = f.path().filename().string();
    long long c = -1;
    const bool stale_chunk = std::sscanf(name.c_str(), "chunk_%lld.bin", &c) == 1 && c >= ix.num_chunks() &&
                             name == io::chunk_file_name(c);                           // beyond a shrunk prefix
    if (name.find(".tmp.") != std::string::npos || stale_chunk) fs::remove(f.path());  // or an interrupted write
  }
  write_index(dir, ix);
  res.index = ix;
  if (ix.complete()) {
    spdlog::info("cache-teacher: '{}' is already complete", dir);
    res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return res;
  }

  // ---- teacher -------------------------------------------------------------------------------
  const torch::Device dev = runtime::resolve_device(cfg.run.device);
  if (cfg.run.threads > 0) torch::set_num_threads(static_cast<int>(cfg.run.threads));
  model::Transformer teacher = hf::load_model_any(cfg.teacher.checkpoint);
  HLD_INPUT_CHECK(teacher->config().num_layers == ix.teacher_layers && teacher->config().hidden_size == l.hidden_size &&
                      teacher->config().vocab_size == std::max(ix.teacher_vocab_size, l.vocab_size),
                  "teacher.model does not match the shape of teacher.checkpoint '" + cfg.teacher.checkpoint + "'");
  teacher->to(dev);
  teacher->eval();
  for (auto& p : teacher->parameters()) p.set_requires_grad(false);
  const data::BatchStream order(cfg.data.train, 1, cfg.data.context, cfg.run.seed);
  const std::vector<int64_t> rows = selection_rows(ix.selection, order);
  int64_t batch = opts.batch > 0 ? opts.batch : std::max<int64_t>(1, cfg.data.batch_size / cfg.data.grad_accum);
  batch = std::min(batch, ix.chunk_rows);

  // ---- chunks --------------------------------------------------------------------------------
  std::vector<char> done(static_cast<size_t>(ix.num_chunks()), 0);
  for (const auto& e : ix.chunks) done[static_cast<size_t>(e.index)] = 1;
  int64_t todo_rows = 0;
  for (int64_t c = 0; c < ix.num_chunks(); ++c)
    if (!done[static_cast<size_t>(c)]) todo_rows += ix.chunk_num_rows(c);
  Writer w{cfg, ix, teacher, order, rows, dev, batch, dir};
  if (ix.teacher_vocab_size > l.vocab_size) {  // measured on every token written, kept chunks included
    w.extra = std::make_shared<ExtraVocabMass>(l.vocab_size, ix.teacher_vocab_size, cfg.teacher.max_extra_vocab_mass);
    w.extra->resume(ix.extra_mass_sum, ix.extra_mass_max, ix.extra_mass_tokens);
  }
  const auto start = Clock::now();
  auto last_print = start;
  int64_t done_rows = 0;
  auto progress = [&](int64_t n) {
    done_rows += n;
    const auto now = Clock::now();
    if (opts.quiet || (std::chrono::duration<double>(now - last_print).count() < 10 && done_rows < todo_rows)) return;
    last_print = now;
    const double s = std::chrono::duration<double>(now - start).count();
    const double sps = s > 0 ? done_rows / s : 0;
    std::printf("cache-teacher: %lld/%lld sequences (%.1f%%) | %.2f seq/s | %.0f tok/s | ETA %s\n",
                (long long)done_rows, (long long)todo_rows, 100.0 * done_rows / std::max<int64_t>(1, todo_rows), sps,
                sps * ix.context, util::format_duration(sps > 0 ? (todo_rows - done_rows) / sps : -1).c_str());
    std::fflush(stdout);
  };
  // A caught signal or the wall-clock deadline ends the loop between chunks: the chunk in hand is
  // finished and recorded first (runtime/stop_signals.h, runtime/deadline.h).
  const runtime::Deadline deadline(config::parse_duration_s(cfg.run.time_limit, "run.time_limit"));
  double chunk_s = 0;  // the latest chunk's time: the next one must fit before the deadline
  for (int64_t c = 0; c < ix.num_chunks(); ++c) {
    if (done[static_cast<size_t>(c)]) continue;
    if (opts.stop_after_chunks >= 0 && res.chunks_written >= opts.stop_after_chunks) break;
    if (const int sig = runtime::stop_signal())
      res.stopped = config::signal_name(sig);
    else if (deadline.limited() && deadline.seconds_left() < 1.5 * chunk_s + 1.0)
      res.stopped = "the time limit (" + deadline.source() + ")";
    if (!res.stopped.empty()) break;
    const auto t_chunk = Clock::now();
    io::CacheChunkEntry e = w.write_chunk(c, progress);
    res.bytes_written += e.bytes;
    ix.chunks.push_back(e);
    std::sort(ix.chunks.begin(), ix.chunks.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
    if (w.extra)
      ix.extra_mass_sum = w.extra->sum(), ix.extra_mass_max = w.extra->max(), ix.extra_mass_tokens = w.extra->tokens();
    write_index(dir, ix);
    ++res.chunks_written;
    chunk_s = std::chrono::duration<double>(Clock::now() - t_chunk).count();
  }
  res.index = ix;
  res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  spdlog::info("cache-teacher: {} chunks written, {} kept, {} of {} finished; {} in {:.1f}s{}", res.chunks_written,
               res.chunks_kept, ix.chunks.size(), ix.num_chunks(), util::human_bytes(double(res.bytes_written)),
               res.seconds, ix.complete() ? "" : " (incomplete: run again to continue)");
  if (w.extra)
    std::printf("cache-teacher: teacher probability on the extra vocabulary: %s\n", w.extra->summary().c_str());
  if (!res.stopped.empty())
    spdlog::warn("cache-teacher: stopped by {} after {} chunks; run the same command to continue (exit code {})",
                 res.stopped, ix.chunks.size(), int(kExitRequeue));
  return res;
}

}  // namespace hld::teacher
