// Every collective against a serial computation of the same result, on the ranks mpirun gives
// (ctest runs this with 2 and 4): each rank builds its contribution from (rank, index), so any
// rank can compute what every other rank sent.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/harness.h"
#include "presence.h"  // collectives/src: the message a timeout composes from the notices heard
#include "tandem/collectives/communicator.h"

namespace tandem::collectives {
namespace {

std::shared_ptr<Communicator> world() { return mpi_world(); }

float value(int rank, int64_t i) { return static_cast<float>((rank + 1) * 0.5 + (i % 97) * 0.25 - rank * (i % 5)); }

Tensor contribution(int rank, int64_t n, DType t = DType::f32) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = value(rank, i);
  Tensor f = Tensor::from_vector(cpu_device(), {n}, v);
  if (t == DType::f32) return f;
  Tensor out = Tensor::empty(cpu_device(), {n}, t);
  Stream s(cpu_device());
  ops::cast(s, f, out);
  return out;
}

TEST(Collectives, AllreduceMatchesTheSerialSum) {
  auto c = world();
  Stream s(cpu_device());
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{1} << 20}) {
    for (const bool in_place : {true, false}) {
      Tensor send = contribution(c->rank(), n), recv = in_place ? send : Tensor::empty(cpu_device(), {n});
      c->allreduce(s, send, recv);
      const std::vector<float> got = recv.to_f32();
      for (int64_t i = 0; i < n; ++i) {
        double want = 0;
        for (int r = 0; r < c->size(); ++r) want += value(r, i);
        ASSERT_NEAR(got[i], want, 1e-5 * std::fabs(want) + 1e-6) << "n=" << n << " i=" << i;
      }
    }
  }
}

TEST(Collectives, AllreduceMaxMinInt32AndHalfPrecision) {
  auto c = world();
  Stream s(cpu_device());
  const int64_t n = 4097;
  for (ReduceOp op : {ReduceOp::max, ReduceOp::min}) {
    Tensor t = contribution(c->rank(), n);
    c->allreduce(s, t, t, op);
    const std::vector<float> got = t.to_f32();
    for (int64_t i = 0; i < n; ++i) {
      float want = value(0, i);
      for (int r = 1; r < c->size(); ++r)
        want = op == ReduceOp::max ? std::max(want, value(r, i)) : std::min(want, value(r, i));
      ASSERT_EQ(got[i], want) << i;
    }
  }
  std::vector<int32_t> iv(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) iv[i] = static_cast<int32_t>(i * (c->rank() + 1));
  Tensor it = Tensor::from_vector(cpu_device(), {n}, iv);
  c->allreduce(s, it, it);
  const int32_t factor = c->size() * (c->size() + 1) / 2;
  const std::vector<int32_t> isum = it.to_vector<int32_t>();
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(isum[i], i * factor);
  for (DType t : {DType::f16, DType::bf16}) {
    Tensor h = contribution(c->rank(), n, t);
    c->allreduce(s, h, h);
    const std::vector<float> got = h.to_f32();
    const double rel = t == DType::f16 ? 4e-3 : 3e-2;  // one rounding per step, in f32
    for (int64_t i = 0; i < n; ++i) {
      double want = 0;
      for (int r = 0; r < c->size(); ++r) want += value(r, i);
      ASSERT_NEAR(got[i], want, rel * (std::fabs(want) + 4)) << dtype_name(t) << " " << i;
    }
  }
}

TEST(Collectives, ReduceScatterAllgatherAllgathervBroadcast) {
  auto c = world();
  Stream s(cpu_device());
  const int P = c->size(), me = c->rank();
  const int64_t block = 1001;
  Tensor send = contribution(me, block * P), mine = Tensor::empty(cpu_device(), {block});
  c->reduce_scatter(s, send, mine);
  const std::vector<float> got = mine.to_f32();
  for (int64_t j = 0; j < block; ++j) {
    double want = 0;
    for (int r = 0; r < P; ++r) want += value(r, me * block + j);
    ASSERT_NEAR(got[j], want, 1e-5 * std::fabs(want) + 1e-6) << j;
  }

  Tensor all = Tensor::empty(cpu_device(), {block * P});
  c->allgather(s, contribution(me, block), all);
  const std::vector<float> gathered = all.to_f32();
  for (int r = 0; r < P; ++r)
    for (int64_t j = 0; j < block; ++j) ASSERT_EQ(gathered[r * block + j], value(r, j));

  // Rank r sends 3r elements (rank 0 none).
  const std::vector<int64_t> counts = c->allgather_value(3 * me);
  int64_t total = 0;
  for (int r = 0; r < P; ++r) {
    ASSERT_EQ(counts[r], 3 * r);
    total += counts[r];
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(3 * me));
  for (size_t j = 0; j < bytes.size(); ++j) bytes[j] = static_cast<uint8_t>(me * 16 + j);
  Tensor v = Tensor::empty(cpu_device(), {total}, DType::u8);
  Tensor mine_bytes = bytes.empty() ? Tensor::empty(cpu_device(), {0}, DType::u8)
                                    : Tensor::from_vector(cpu_device(), {int64_t(bytes.size())}, bytes);
  c->allgatherv(s, mine_bytes, v, counts);
  const std::vector<uint8_t> vv = v.to_vector<uint8_t>();
  size_t at = 0;
  for (int r = 0; r < P; ++r)
    for (int64_t j = 0; j < counts[r]; ++j) ASSERT_EQ(vv[at++], static_cast<uint8_t>(r * 16 + j));

  for (int root = 0; root < P; ++root) {
    Tensor b = contribution(me, 333);
    c->broadcast(s, b, root);
    const std::vector<float> bv = b.to_f32();
    for (int64_t j = 0; j < 333; ++j) ASSERT_EQ(bv[j], value(root, j)) << "root " << root;
  }
  c->barrier();
}

TEST(Collectives, NonBlockingRequestsProgressIndependently) {
  auto c = world();
  Stream s(cpu_device());
  std::vector<Tensor> buckets;
  std::vector<Request> requests;
  for (int b = 0; b < 6; ++b) {
    buckets.push_back(contribution(c->rank() + b, 50000));
    requests.push_back(c->iallreduce(s, buckets.back(), buckets.back()));
  }
  while (true) {  // progress them all by testing, as a training loop between layers would
    bool all = true;
    for (Request& r : requests) all = r.test() && all;
    if (all) break;
  }
  for (int b = 0; b < 6; ++b) {
    const std::vector<float> got = buckets[b].to_f32();
    double want = 0;
    for (int r = 0; r < c->size(); ++r) want += value(r + b, 7);
    ASSERT_NEAR(got[7], want, 1e-4) << "bucket " << b;
  }
}

// A split ranks its members by key: reversed keys reverse the ranks; colors make groups; its
// collectives are a separate context from the parent's (both in flight at once).
TEST(Collectives, SplitReordersAndSeparates) {
  auto c = world();
  Stream s(cpu_device());
  const int me = c->rank(), P = c->size();
  auto reversed = c->split(0, P - 1 - me);
  ASSERT_EQ(reversed->size(), P);
  EXPECT_EQ(reversed->rank(), P - 1 - me);
  Tensor b = contribution(me, 100);
  reversed->broadcast(s, b, 0);  // new rank 0 is old rank P-1
  EXPECT_EQ(b.to_f32()[5], value(P - 1, 5));

  auto parity = c->split(me % 2, me);
  EXPECT_EQ(parity->size(), (P + 1 - me % 2) / 2);
  EXPECT_EQ(parity->rank(), me / 2);
  Tensor x = contribution(me, 10), y = contribution(me, 10);
  Request on_parent = c->iallreduce(s, x, x);
  Request on_split = parity->iallreduce(s, y, y);
  on_split.wait();  // completes without the parent's request being progressed first
  on_parent.wait();
  double parent = 0, group = 0;
  for (int r = 0; r < P; ++r) parent += value(r, 3), group += r % 2 == me % 2 ? value(r, 3) : 0.0;
  EXPECT_NEAR(x.to_f32()[3], parent, 1e-4);
  EXPECT_NEAR(y.to_f32()[3], group, 1e-4);
  EXPECT_EQ(c->dup()->rank(), me);
}

TEST(Collectives, BadArgumentsAreRejectedOnEveryRank) {
  auto c = world();
  Stream s(cpu_device());
  Tensor f = Tensor::zeros(cpu_device(), {8}), i = Tensor::zeros(cpu_device(), {8}, DType::i32);
  test::expect_error([&] { c->allreduce(s, f, i); }, ErrorKind::invalid_argument, {"different dtypes"});
  test::expect_error([&] { c->allgather(s, f, f); }, ErrorKind::invalid_argument, {"must hold"});
  test::expect_error([&] { c->broadcast(s, f, c->size()); }, ErrorKind::invalid_argument, {"no rank"});
  std::vector<int64_t> counts(static_cast<size_t>(c->size()), 8);
  counts[static_cast<size_t>(c->rank())] = 7;
  test::expect_error([&] { c->allgatherv(s, f, Tensor::zeros(cpu_device(), {8 * c->size()}), counts); },
                     ErrorKind::invalid_argument, {"this rank's count is 7"});
  c->barrier();  // every rank is still in step
}

// `early` (a world rank) waits at an allreduce on comm for the peers, which come late: its
// request fails with a timeout naming the operation, its rank and exactly the late ranks
// (`names`), never a hang; when the peers arrive the job continues. (Non-blocking form on every
// rank: a blocking call past its timeout ends the job instead, as killed_rank.sh and
// stopped_rank.sh show.) The peers are late by construction, not by sleeping: they wait on a
// second communicator until `early` has given up, so no machine is too slow or too fast for the
// test, and none of them can have sent its notice of arrival before the timeout.
void expect_late_peers_named(const std::shared_ptr<Communicator>& comm, int early, const std::string& names) {
  auto c = world();
  auto side = c->split(0, c->rank());
  Stream s(cpu_device());
  Tensor t = contribution(c->rank(), 10);
  const auto saved = comm->timeout();
  if (c->rank() == early) {
    comm->set_timeout(std::chrono::milliseconds(20));
    test::expect_error([&] { comm->iallreduce(s, t, t).wait(); }, ErrorKind::timeout,
                       {"rank " + std::to_string(comm->rank()) + " allreduce", "not complete after 0.020 s: " + names});
    comm->set_timeout(saved);
    side->barrier();  // now the peers may come
  } else {
    side->barrier();  // returns once `early` has timed out
    comm->iallreduce(s, t, t).wait();  // matches the request `early` gave up on
  }
  comm->barrier();
  Tensor again = contribution(c->rank(), 10);
  comm->allreduce(s, again, again);
  double want = 0;
  for (int r = 0; r < c->size(); ++r) want += value(r, 3);
  EXPECT_NEAR(again.to_f32()[3], want, 1e-5);
}

TEST(Collectives, AMissingPeerIsATimeoutNamingIt) {
  auto c = world();
  std::string late;  // every rank but 0: "rank 1" with 2 ranks, "ranks 1, 2, 3" with 4
  for (int r = 1; r < c->size(); ++r) late += (late.empty() ? "" : ", ") + std::to_string(r);
  const bool one = c->size() == 2;
  expect_late_peers_named(c, 0, (one ? "rank " : "ranks ") + late + " never arrived (" +
                                    (one ? "it has" : "they have") + " died or stopped)");
}

// A split has its own presence channel, and names its late ranks in its own numbering with their
// world ranks: reversed, world rank 0 is rank P-1, and the late ranks 0..P-2 are world P-1..1.
TEST(Collectives, AMissingPeerOfASplitIsNamedWithItsWorldRank) {
  auto c = world();
  const int P = c->size();
  auto reversed = c->split(0, P - 1 - c->rank());
  std::string late;
  for (int r = 0; r < P - 1; ++r)
    late += (late.empty() ? "" : ", ") + std::to_string(r) + " (world rank " + std::to_string(P - 1 - r) + ")";
  expect_late_peers_named(reversed, 0, (P == 2 ? "rank " : "ranks ") + late + " never arrived");
}

// The message from the notices heard, on every shape: one late rank, several, none (with two
// ranks the other is the suspect; with more, no rank can be told), and a split's world ranks.
TEST(Presence, DescribeNamesExactlyTheRanksNotHeardFrom) {
  Arrivals a;
  a.seq = 7;
  a.rank = 0;
  a.world_ranks = std::make_shared<const std::vector<int>>();
  a.heard = {7, -1, 7, -1};
  EXPECT_EQ(a.describe(), "ranks 1, 3 never arrived (they have died or stopped)");
  a.heard = {7, 7, 7, -1};
  EXPECT_EQ(a.describe(), "rank 3 never arrived (it has died or stopped)");
  a.heard = {7, 7, 7, 7};
  EXPECT_EQ(a.describe(),
            "every rank arrived, yet it has not completed (a rank has died or stopped inside the collective, or MPI "
            "is stuck)");
  a.rank = 2;
  a.heard = {7, -1, -1, 7};  // this rank's own slot is never counted
  a.world_ranks = std::make_shared<const std::vector<int>>(std::vector<int>{2, 0, 3, 1});
  EXPECT_EQ(a.describe(), "rank 1 (world rank 0) never arrived (it has died or stopped)");
  a.rank = 1;
  a.heard = {7, 7};
  a.world_ranks = std::make_shared<const std::vector<int>>();
  EXPECT_EQ(a.describe(),
            "rank 0 arrived but has not completed it (it has died or stopped inside the collective, or MPI is stuck)");
}

}  // namespace
}  // namespace tandem::collectives
