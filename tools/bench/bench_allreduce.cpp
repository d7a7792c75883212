// Run under mpirun (tools/bench_collectives.sh). Two tables:
//  1. allreduce through the runtime's communicator vs MPI_Allreduce called directly on the same
//     buffers, alternating call by call; columns as nccl-tests prints them (busbw = algbw ·
//     2(p−1)/p). Target: ours / direct ≥ 0.9.
//  2. one 25M-float gradient through GradientSync per codec: measured time and bytes per rank
//     here, plus the time on 10/25/100 Gb/s links from an alpha-beta model fed with the measured
//     bytes (labeled modeled).
// Rank 0 prints markdown and writes JSON to the path given as the first argument.
// --small: only table 1, for 4 B to 64 KB with 20000 calls per size, where a collective's fixed
// cost (the communicator's bookkeeping next to MPI's own) shows.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "bench/paired.h"
#include "tandem/collectives/gradient_sync.h"
#include "tandem/ops.h"

using namespace tandem;
using nlohmann::json;

namespace {

json bus_bandwidth(collectives::Communicator& comm, bool lead, bool small) {
  Stream s(cpu_device());
  const int p = comm.size();
  json rows = json::array();
  if (lead) {
    std::printf(
        "| size | count (f32) | ours time (us) | ours algbw (GB/s) | ours busbw (GB/s) | MPI_Allreduce time (us) "
        "| MPI busbw (GB/s) | ours / MPI |\n|---|---|---|---|---|---|---|---|\n");
  }
  const int64_t smallest = small ? 4 : 4096, largest = small ? int64_t{64} << 10 : int64_t{256} << 20;
  for (int64_t bytes = smallest; bytes <= largest; bytes *= 4) {
    const int64_t n = bytes / 4;
    Tensor a = Tensor::zeros(cpu_device(), {n}), b = Tensor::zeros(cpu_device(), {n});
    const int reps = small ? 20000 : static_cast<int>(std::clamp<int64_t>((int64_t{64} << 20) / bytes, 3, 200));
    bench::PairedTimes t;
    comm.allreduce(s, a, a);  // warm up both paths
    MPI_Allreduce(MPI_IN_PLACE, b.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      t.step([&] { comm.allreduce(s, a, a); },
             [&] { MPI_Allreduce(MPI_IN_PLACE, b.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); });
    }
    // The slowest rank decides a collective's time.
    double times[2] = {t.ours / reps, t.base / reps};
    MPI_Allreduce(MPI_IN_PLACE, times, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    const double factor = 2.0 * (p - 1) / p;
    const double ours_alg = static_cast<double>(bytes) / times[0] * 1e-9,
                 mpi_alg = static_cast<double>(bytes) / times[1] * 1e-9;
    rows.push_back({{"bytes", bytes},
                    {"ours_us", times[0] * 1e6},
                    {"ours_busbw_GBps", ours_alg * factor},
                    {"mpi_us", times[1] * 1e6},
                    {"mpi_busbw_GBps", mpi_alg * factor},
                    {"ratio", times[1] / times[0]}});
    if (lead) {
      const std::string size = bytes >= (1 << 20)  ? std::to_string(bytes >> 20) + " MB"
                               : bytes >= (1 << 10) ? std::to_string(bytes >> 10) + " KB"
                                                    : std::to_string(bytes) + " B";
      // Small messages take about a microsecond: two decimals show a fixed cost of tens of ns.
      const char* row = small ? "| %s | %lld | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n"
                              : "| %s | %lld | %.1f | %.2f | %.2f | %.1f | %.2f | %.2f |\n";
      std::printf(row, size.c_str(), static_cast<long long>(n), times[0] * 1e6, ours_alg, ours_alg * factor,
                  times[1] * 1e6, mpi_alg * factor, times[1] / times[0]);
    }
  }
  return rows;
}

json codecs(std::shared_ptr<collectives::Communicator> comm, bool lead) {
  Stream s(cpu_device());
  const int p = comm->size();
  const int64_t n = 25'000'000;
  std::mt19937 rng(5 + static_cast<unsigned>(comm->rank()));
  std::normal_distribution<float> normal(0.0f, 0.01f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = normal(rng);
  const Tensor source = Tensor::from_vector(cpu_device(), {5000, 5000}, v);
  Tensor g = Tensor::empty(cpu_device(), {5000, 5000});
  json rows = json::array();
  if (lead)
    std::printf(
        "\n| codec | bytes sent per rank | measured time here (ms) | modeled 10 Gb/s (ms) | modeled 25 Gb/s (ms) | "
        "modeled 100 Gb/s (ms) |\n|---|---|---|---|---|---|\n");
  for (const char* name : {"none", "fp16", "int8", "sign", "topk:0.01", "topk_sampled:0.01", "powersgd:4"}) {
    const auto spec = compression::parse_codec(name);
    collectives::GradientSync sync(comm, spec, false);
    const int reps = 3;
    double measured = 0;
    for (int r = 0; r < reps + 1; ++r) {
      ops::cast(s, source, g);
      MPI_Barrier(MPI_COMM_WORLD);
      const double t = bench::seconds([&] { sync.sync(s, g, 0, {1, static_cast<uint32_t>(r), 0, 0}); });
      if (r > 0) measured += t / reps;  // the first call allocates
    }
    MPI_Allreduce(MPI_IN_PLACE, &measured, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    const double bytes = static_cast<double>(sync.bytes_sent()) / (reps + 1);
    // Alpha-beta model of the wire alone (the measured column includes the local compress and
    // decode): a ring allreduce moves 2(p−1)/p of the payload per rank in 2(p−1) latency
    // steps; an allgather moves (p−1) payloads in (p−1) steps. alpha = 5 µs per step.
    const bool reduce = compression::codec_traits(spec.codec).aggregation == compression::Aggregation::allreduce;
    const double rounds = spec.codec == compression::Codec::powersgd ? 2 : 1;
    auto modeled = [&](double gbps) {
      const double beta = gbps * 1e9 / 8, alpha = 5e-6;
      const double wire = reduce ? 2.0 * (p - 1) / p * bytes / beta + rounds * 2 * (p - 1) * alpha
                                 : (p - 1) * bytes / beta + (p - 1) * alpha;
      return wire;
    };
    rows.push_back({{"codec", name},
                    {"bytes_per_rank", bytes},
                    {"measured_ms", measured * 1e3},
                    {"modeled_wire_ms",
                     {{"10Gbps", modeled(10) * 1e3}, {"25Gbps", modeled(25) * 1e3}, {"100Gbps", modeled(100) * 1e3}}},
                    {"timing", "measured here; wire times modeled"}});
    if (lead)
      std::printf("| %s | %.1f MB | %.1f | %.1f | %.1f | %.2f |\n", name, bytes / 1e6, measured * 1e3,
                  modeled(10) * 1e3, modeled(25) * 1e3, modeled(100) * 1e3);
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  auto comm = collectives::mpi_world();
  const bool lead = comm->rank() == 0;
  bool small = false;
  const char* json_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--small") {
      small = true;
    } else {
      json_path = argv[i];
    }
  }
  json out{{"ranks", comm->size()}};
  out["allreduce"] = bus_bandwidth(*comm, lead, small);
  if (!small) out["codecs"] = codecs(comm, lead);
  if (lead && json_path != nullptr) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}
