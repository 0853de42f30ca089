// The c10d process group behind ProcessGroupCollective (see process_group.h): TCPStore
// rendezvous with a bounded wait and consistency checks, Gloo (CPU) or NCCL (CUDA, LibTorch builds
// with it) collectives, bucketed gradient all-reduce, errors rewritten into one clear line.
#include "hld/dist/process_group.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <deque>
#include <system_error>
#include <thread>

#include "hld/dist/buckets.h"
#include "hld/util/error.h"

#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
#define HLD_HAVE_C10D 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#else
#define HLD_HAVE_C10D 0
#endif
#if defined(USE_C10D_GLOO)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(HLD_WITH_CUDA) && defined(USE_C10D_NCCL)
#define HLD_HAVE_NCCL 1
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#else
#define HLD_HAVE_NCCL 0
#endif

namespace hld::dist {
namespace {

using Clock = std::chrono::steady_clock;

/// Buckets in flight at once: enough to keep the transport busy while the next one is flattened,
/// few enough to bound the extra memory (kInFlight × bucket size).
constexpr size_t kInFlight = 4;

/// The first lines of an exception's message, without c10's backtrace.
std::string short_message(const std::exception& e) {
  std::string m = e.what();
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) m = ce->what_without_backtrace();
  size_t lines = 0, cut = std::string::npos;
  for (size_t i = 0; i < m.size(); ++i)
    if (m[i] == '\n' && ++lines == 3) {
      cut = i;
      break;
    }
  if (cut != std::string::npos) m = m.substr(0, cut);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

/// How this rank is named in its peers' errors: the host name, and the IPv4 address of the
/// interface Gloo uses when GLOO_SOCKET_IFNAME names one.
std::string own_address(const LaunchEnv& env) {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::string out = host;
  if (env.gloo_ifname.empty()) return out;
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0) return out;
  for (ifaddrs* a = all; a; a = a->ifa_next)
    if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && env.gloo_ifname == a->ifa_name) {
      char ip[INET_ADDRSTRLEN] = {0};
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, ip, sizeof ip);
      out += std::string(" ") + ip + " on " + env.gloo_ifname;
      break;
    }
  ::freeifaddrs(all);
  return out;
}

}  // namespace

#if HLD_HAVE_C10D

struct ProcessGroupCollective::Impl {
  c10::intrusive_ptr<c10d::Store> store;  // declared first: outlives the process group
#if defined(USE_C10D_GLOO)
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#if HLD_HAVE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  torch::Device comm_device{torch::kCPU};
  std::string backend;
  std::string peers;  // "rank 1 (host 10.0.0.2 on eth1)", for the errors of failed collectives

  /// Calls `f(process_group)` on whichever backend is active (their types differ between
  /// LibTorch versions, their collective signatures do not).
  template <class F>
  auto call(F&& f) {
#if HLD_HAVE_NCCL
    if (nccl) return f(*nccl);
#endif
#if defined(USE_C10D_GLOO)
    return f(*gloo);
#else
    throw std::logic_error("[dist] no process group");
#endif
  }
};

namespace {

/// Runs `f`, rewriting any c10d/Gloo failure of a collective into one RetryableError (exit code 75:
/// the job is requeued and resumes from its last checkpoint) that names the peers and what to check.
template <class F>
auto guarded(const LaunchEnv& env, const std::string& peers, const char* op, F&& f) {
  try {
    return f();
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw RetryableError(
        fmt::format("[dist] {} failed on rank {} of {}: {} -- peer {} exited or hung, or the network to it "
                    "failed (collectives time out after {} s, HLD_DIST_TIMEOUT)",
                    op, env.rank, env.world, short_message(e), peers.empty() ? "process" : peers, env.timeout_s));
  }
}

/// Runs the process group's set-up, rewriting a failure into a runtime_error (exit code 1: a bad
/// GLOO_SOCKET_IFNAME or NCCL set-up is not fixed by a rerun).
template <class F>
void setup_guarded(const LaunchEnv& env, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    throw std::runtime_error(
        fmt::format("[dist] process group set-up failed on rank {} of {}: {}", env.rank, env.world, short_message(e)));
  }
}

/// Every rank publishes how it is named and reads the others' (after the rendezvous, so every
/// rank is there): "rank 1 (node02 10.0.0.2 on eth1)", or "ranks 1 (...), 2 (...)".
std::string exchange_peer_names(c10d::Store& store, const LaunchEnv& env) {
  const std::string mine = own_address(env);
  store.set("hld/addr/" + std::to_string(env.rank), std::vector<uint8_t>(mine.begin(), mine.end()));
  std::string out;
  int listed = 0;
  for (int r = 0; r < env.world; ++r) {
    if (r == env.rank) continue;
    if (++listed > 4) {
      out += ", ...";
      break;
    }
    const auto v = store.get("hld/addr/" + std::to_string(r));
    out += (out.empty() ? "" : ", ") + std::to_string(r) + " (" + std::string(v.begin(), v.end()) + ")";
  }
  return (env.world > 2 ? "ranks " : "rank ") + out;
}

/// Joins the TCPStore and waits until all `world` processes have arrived, checking that they
/// agree on WORLD_SIZE and hold distinct ranks.
c10::intrusive_ptr<c10d::Store> rendezvous(const LaunchEnv& env, std::chrono::milliseconds timeout) {
  const auto t0 = Clock::now();
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(env.master_port);
  so.isServer = env.rank == 0 && !env.agent_store;  // under torchrun its agent serves the store
  so.numWorkers = static_cast<size_t>(env.world);
  so.waitWorkers = false;  // we wait ourselves, with a clear message and consistency checks
  so.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    if (so.isServer)
      throw std::runtime_error(
          fmt::format("[dist] rank 0 could not serve the rendezvous at {}: {} (is MASTER_PORT "
                      "already in use by another job?)",
                      where, short_message(e)));
    throw std::runtime_error(
        fmt::format("[dist] rank {} could not reach rank 0's rendezvous at {} within {} s: {} (is "
                    "rank 0 running, with the same MASTER_ADDR/MASTER_PORT?)",
                    env.rank, where, env.timeout_s, short_message(e)));
  }
  if (!env.store_prefix.empty()) store = c10::make_intrusive<c10d::PrefixStore>(env.store_prefix, store);
  auto lost = [&](const std::exception& e) {
    return std::runtime_error(fmt::format("[dist] rank {} lost the rendezvous at {}: {} (rank 0 exited?)", env.rank,
                                          where, short_message(e)));
  };
  std::string problem;
  try {
    if (env.rank == 0) {  // publish WORLD_SIZE, then the key the others wait for
      store->add("hld/world_size", env.world);
      store->set("hld/world", std::vector<uint8_t>(1, 1));
    }
    const int64_t same_rank = store->add("hld/rank/" + std::to_string(env.rank), 1);
    if (same_rank > 1)
      problem = fmt::format("RANK={} is used by more than one process (every process needs its own RANK)", env.rank);
    if (problem.empty() && env.rank != 0) {
      store->wait({"hld/world"});
      const int64_t w0 = store->add("hld/world_size", 0);
      if (w0 != env.world)
        problem = fmt::format(
            "WORLD_SIZE={} on rank {} but rank 0 has WORLD_SIZE={} (every process needs the same "
            "WORLD_SIZE)",
            env.world, env.rank, w0);
    }
    if (!problem.empty()) {
      store->add("hld/bad", 1);
      throw InputError("[dist] " + problem);
    }
    store->add("hld/joined", 1);
    for (;;) {
      if (store->add("hld/bad", 0) > 0)
        throw std::runtime_error(
            fmt::format("[dist] rendezvous at {} aborted: another process found inconsistent "
                        "launch variables (see its error)",
                        where));
      const int64_t joined = store->add("hld/joined", 0);
      if (joined >= env.world) break;
      if (Clock::now() - t0 > timeout)
        throw std::runtime_error(
            fmt::format("[dist] rendezvous at {} timed out after {} s: {} of {} processes "
                        "joined (start every rank; HLD_DIST_TIMEOUT sets the limit)",
                        where, env.timeout_s, joined, env.world));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (const InputError&) {
    throw;
  } catch (const c10::Error& e) {
    throw lost(e);
  } catch (const std::system_error& e) {
    throw lost(e);
  }
  return store;
}

}  // namespace

ProcessGroupCollective::ProcessGroupCollective(const LaunchEnv& env, const torch::Device& device)
    : env_(env), impl_(std::make_unique<Impl>()) {
  HLD_INPUT_CHECK(env.world > 1 && env.rank >= 0 && env.rank < env.world,
                  "[dist] a process group needs 0 <= RANK < WORLD_SIZE and WORLD_SIZE > 1");
  // A peer that dies closes its sockets; writing to them must raise an error, not SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  const auto t0 = Clock::now();
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(env.timeout_s * 1000.0));
  impl_->store = rendezvous(env, timeout);
  try {
    impl_->peers = exchange_peer_names(*impl_->store, env);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("[dist] rank {} lost the rendezvous at {}:{}: {} (rank 0 exited?)", env.rank,
                                         env.master_addr, env.master_port, short_message(e)));
  }

  bool use_nccl = false;
#if HLD_HAVE_NCCL
  use_nccl = device.is_cuda();
#endif
  if (device.is_cuda() && !use_nccl)
    spdlog::warn("[dist] this build has no NCCL: CUDA gradients are all-reduced with Gloo through host memory");
  setup_guarded(env, [&] {
#if HLD_HAVE_NCCL
    if (use_nccl) {
      c10::cuda::set_device(device.index());
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, env.rank, env.world, o);
      impl_->comm_device = device;
      impl_->backend = "nccl";
      return;
    }
#endif
#if defined(USE_C10D_GLOO)
    auto o = c10d::ProcessGroupGloo::Options::create(timeout);
    if (!env.gloo_ifname.empty())
      o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(env.gloo_ifname));
    else if (is_loopback(env.master_addr))
      o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    o->threads = 2;
    impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world, o);
    impl_->comm_device = torch::kCPU;
    impl_->backend = "gloo";
#else
    throw std::runtime_error("this build has neither Gloo nor NCCL");
#endif
  });
  (void)use_nccl;
  if (env.rank == 0)
    spdlog::info("[dist] {} process group of {} processes ready at {}:{} in {:.2f} s ({} launch, timeout {} s)",
                 impl_->backend, env.world, env.master_addr, env.master_port,
                 std::chrono::duration<double>(Clock::now() - t0).count(), env.source, env.timeout_s);
}

ProcessGroupCollective::~ProcessGroupCollective() = default;

std::string ProcessGroupCollective::backend() const { return impl_->backend; }

void ProcessGroupCollective::allreduce_mean(std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard ng;
  const auto buckets = plan_buckets(tensors, env_.bucket_bytes);
  struct Flight {
    size_t bucket;
    torch::Tensor flat_N;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::deque<Flight> flights;
  auto finish_oldest = [&] {
    Flight& f = flights.front();
    guarded(env_, impl_->peers, "gradient all-reduce", [&] { f.work->wait(); });
    f.flat_N.div_(env_.world);
    unflatten_bucket(f.flat_N, tensors, buckets[f.bucket]);
    flights.pop_front();
  };
  for (size_t i = 0; i < buckets.size(); ++i) {
    Flight f{i, flatten_bucket(tensors, buckets[i], impl_->comm_device), {}};
    std::vector<at::Tensor> one{f.flat_N};
    f.work = guarded(env_, impl_->peers, "gradient all-reduce",
                     [&] { return impl_->call([&](auto& pg) { return pg.allreduce(one); }); });
    flights.push_back(std::move(f));
    if (flights.size() >= kInFlight) finish_oldest();
  }
  while (!flights.empty()) finish_oldest();
}

void ProcessGroupCollective::broadcast(std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard ng;
  const auto buckets = plan_buckets(tensors, env_.bucket_bytes);
  for (const auto& b : buckets) {
    auto flat_N = flatten_bucket(tensors, b, impl_->comm_device);
    std::vector<at::Tensor> one{flat_N};
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    guarded(env_, impl_->peers, "broadcast of the initial weights",
            [&] { impl_->call([&](auto& pg) { return pg.broadcast(one, o); })->wait(); });
    if (env_.rank != 0) unflatten_bucket(flat_N, tensors, b);
  }
}

std::vector<torch::Tensor> ProcessGroupCollective::allgather(const torch::Tensor& mine_N) {
  torch::NoGradGuard ng;
  std::vector<at::Tensor> in{mine_N.to(impl_->comm_device).contiguous()};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < env_.world; ++r) out[0].push_back(torch::empty_like(in[0]));
  guarded(env_, impl_->peers, "parameter all-gather (ZeRO-1)",
          [&] { impl_->call([&](auto& pg) { return pg.allgather(out, in); })->wait(); });
  return out[0];
}

double ProcessGroupCollective::allreduce_sum(double v) {
  auto t = torch::full({1}, v, torch::TensorOptions().dtype(torch::kFloat64).device(impl_->comm_device));
  std::vector<at::Tensor> one{t};
  guarded(env_, impl_->peers, "scalar all-reduce",
          [&] { impl_->call([&](auto& pg) { return pg.allreduce(one); })->wait(); });
  return t.item<double>();
}

void ProcessGroupCollective::barrier() {
  guarded(env_, impl_->peers, "barrier", [&] { impl_->call([&](auto& pg) { return pg.barrier(); })->wait(); });
}

#else  // no c10d in this LibTorch

struct ProcessGroupCollective::Impl {};

ProcessGroupCollective::ProcessGroupCollective(const LaunchEnv& env, const torch::Device& device) : env_(env) {
  (void)device;
  throw std::runtime_error("[dist] WORLD_SIZE=" + std::to_string(env.world) +
                           ": this build of hld-train has no c10d (LibTorch without distributed support)");
}
ProcessGroupCollective::~ProcessGroupCollective() = default;
std::string ProcessGroupCollective::backend() const { return "none"; }
void ProcessGroupCollective::allreduce_mean(std::vector<torch::Tensor>&) {}
void ProcessGroupCollective::broadcast(std::vector<torch::Tensor>&) {}
std::vector<torch::Tensor> ProcessGroupCollective::allgather(const torch::Tensor& mine_N) { return {mine_N}; }
double ProcessGroupCollective::allreduce_sum(double v) { return v; }
void ProcessGroupCollective::barrier() {}

#endif

}  // namespace hld::dist
