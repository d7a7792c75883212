#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "tandem/balance.h"
#include "tandem/error.h"

namespace tandem {
namespace {

int64_t sum(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

TEST(LoadBalancer, StartsEvenAndFollowsSpeed) {
  LoadBalancer b(3, 64);
  EXPECT_EQ(b.shares(), (std::vector<int64_t>{22, 21, 21}));
  EXPECT_EQ(b.offset(0), 0);
  EXPECT_EQ(b.offset(2), 43);
  // Worker 0 twice as fast as the others: half the samples.
  EXPECT_TRUE(b.update({1e-3, 2e-3, 2e-3}));
  EXPECT_EQ(b.shares(), (std::vector<int64_t>{32, 16, 16}));
  EXPECT_EQ(sum(b.shares()), 64);
  // The same measurements again, or noise below the gain: no change.
  EXPECT_FALSE(b.update({1e-3, 2e-3, 2e-3}));
  EXPECT_FALSE(b.update({1e-3, 2.02e-3, 1.98e-3}));
  // Drift: worker 2 slows down to a quarter of worker 0's speed.
  EXPECT_TRUE(b.update({1e-3, 2e-3, 4e-3}));
  EXPECT_EQ(b.shares(), (std::vector<int64_t>{36, 18, 10}));
}

TEST(LoadBalancer, EveryWorkerKeepsASample) {
  LoadBalancer b(2, 10);
  b.update({1e-6, 1.0});
  EXPECT_EQ(b.shares(), (std::vector<int64_t>{9, 1}));
  const std::vector<int64_t> p = LoadBalancer(4, 1001).proposal({1, 3, 7, 11});
  EXPECT_EQ(sum(p), 1001);
  for (int64_t s : p) EXPECT_GE(s, 1);
  EXPECT_GT(p[0], p[1]);
  EXPECT_GT(p[2], p[3]);
}

TEST(LoadBalancer, BadInput) {
  EXPECT_THROW(LoadBalancer(0, 8), Error);
  EXPECT_THROW(LoadBalancer(4, 3), Error);
  LoadBalancer b(2, 8);
  EXPECT_THROW(b.update({1.0}), Error);
  EXPECT_THROW(b.update({1.0, 0.0}), Error);
  EXPECT_THROW(b.update({1.0, std::nan("")}), Error);
  EXPECT_THROW(b.set_shares({8, 0}), Error);
  EXPECT_THROW(b.set_shares({4, 5}), Error);
  b.set_shares({5, 3});
  EXPECT_EQ(b.offset(1), 5);
}

}  // namespace
}  // namespace tandem
