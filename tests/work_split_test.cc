// The distributed work split (src/dist/work_split.h): every task runs exactly once, each rank's
// blocks of a job are one contiguous run, and on the plan of a large synthetic model (metadata
// only, no data) every rank's share of bytes is within 10 % of the mean for 4, 16 and 64 ranks.
#include "dist/work_split.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "checkpoint/checkpoint.h"
#include "frameworks/profiles.h"
#include "plan/plan.h"
#include "synth/example_checkpoint.h"
#include "test_util.h"

namespace te {
namespace {

// Every block and whole item is owned by exactly one rank, and the costs add up.
void expect_partition(const dist::SplitInput& in, const std::vector<dist::RankShare>& shares) {
  uint64_t total = in.rank0_cost, owned = 0;
  for (size_t j = 0; j < in.job_block_costs.size(); ++j) {
    std::vector<int> owner(in.job_block_costs[j].size(), 0);
    for (const auto& s : shares) {
      auto [first, end] = s.job_blocks[j];
      ASSERT_LE(first, end);
      ASSERT_LE(end, owner.size());
      for (uint64_t b = first; b < end; ++b) owner[b]++;
    }
    for (size_t b = 0; b < owner.size(); ++b)
      EXPECT_EQ(owner[b], 1) << "job " << j << " block " << b;
    for (uint64_t c : in.job_block_costs[j]) total += c;
  }
  for (size_t i = 0; i < in.whole_costs.size(); ++i) {
    int n = 0;
    for (const auto& s : shares) n += s.whole[i] ? 1 : 0;
    EXPECT_EQ(n, 1) << "whole item " << i;
    total += in.whole_costs[i];
  }
  for (const auto& s : shares) owned += s.cost;
  EXPECT_EQ(owned, total);
  // Each share's cost is what it owns.
  for (const auto& s : shares) {
    uint64_t c = &s == &shares[0] ? in.rank0_cost : 0;
    for (size_t j = 0; j < in.job_block_costs.size(); ++j)
      for (uint64_t b = s.job_blocks[j].first; b < s.job_blocks[j].second; ++b)
        c += in.job_block_costs[j][b];
    for (size_t i = 0; i < in.whole_costs.size(); ++i)
      if (s.whole[i]) c += in.whole_costs[i];
    EXPECT_EQ(c, s.cost);
  }
}

double worst_deviation(const std::vector<dist::RankShare>& shares) {
  double mean = 0;
  for (const auto& s : shares) mean += static_cast<double>(s.cost);
  mean /= static_cast<double>(shares.size());
  double worst = 0;
  for (const auto& s : shares)
    worst = std::max(worst, std::abs(static_cast<double>(s.cost) - mean) / mean);
  return worst;
}

TEST(WorkSplit, EveryTaskOnceAndBalanced) {
  dist::SplitInput in;
  // Irregular blocks (edge blocks smaller), a few whole copies of very different sizes.
  for (int j = 0; j < 7; ++j) {
    auto& costs = in.job_block_costs.emplace_back();
    for (int b = 0; b < 10 + 13 * j; ++b)
      costs.push_back(1000 + static_cast<uint64_t>((b * 37 + j) % 500));
  }
  in.job_block_costs.emplace_back();  // a job with no block
  in.whole_costs = {9000, 10, 0, 4000, 4000, 123};
  in.rank0_cost = 700;
  for (int ranks : {1, 2, 3, 4, 7, 16}) {
    auto shares = dist::split_work(in, ranks);
    ASSERT_EQ(shares.size(), static_cast<size_t>(ranks));
    expect_partition(in, shares);
    // Within one block (at most 1500) of the mean, since no whole item exceeds the mean.
    double mean = 0;
    for (const auto& s : shares) mean += static_cast<double>(s.cost);
    mean /= ranks;
    for (const auto& s : shares) EXPECT_NEAR(static_cast<double>(s.cost), mean, 1500.0) << ranks;
    // Deterministic.
    auto again = dist::split_work(in, ranks);
    for (size_t r = 0; r < shares.size(); ++r) {
      EXPECT_EQ(again[r].job_blocks, shares[r].job_blocks);
      EXPECT_EQ(again[r].whole, shares[r].whole);
    }
  }
}

TEST(WorkSplit, MoreRanksThanWork) {
  dist::SplitInput in;
  in.job_block_costs = {{5, 5}};
  in.whole_costs = {3};
  auto shares = dist::split_work(in, 8);
  expect_partition(in, shares);
  int idle = 0;
  for (const auto& s : shares) idle += s.cost == 0 ? 1 : 0;
  EXPECT_EQ(idle, 5);
}

TEST(WorkSplit, AWholeItemLargerThanTheMeanGetsARankOfItsOwn) {
  dist::SplitInput in;
  in.job_block_costs = {std::vector<uint64_t>(30, 10)};  // 300 in blocks
  in.whole_costs = {500};                                // more than the mean of 4 ranks (200)
  auto shares = dist::split_work(in, 4);
  expect_partition(in, shares);
  int with_copy = -1;
  for (int r = 0; r < 4; ++r)
    if (shares[r].whole[0]) with_copy = r;
  ASSERT_GE(with_copy, 0);
  EXPECT_EQ(shares[with_copy].cost, 500u) << "the rank with the big copy gets no blocks";
  for (int r = 0; r < 4; ++r) {
    if (r != with_copy) {
      EXPECT_EQ(shares[r].cost, 100u);
    }
  }
}

// A GPT-3-sized Pax model (96 layers, E 12288, 96 heads of 128, F 49152, Adam moments), its
// arrays sharded 8 ways like tensor-parallel checkpoints, as metadata only: the plan is made as
// for a real conversion, each array counted as stored uncompressed.
TEST(WorkSplit, LargeSyntheticModelIsSharedWithinTenPercent) {
  // Thousands of durable .zarray writes: on a RAM disk where there is one.
  const char* shm = "/dev/shm";
  if (::access(shm, W_OK) == 0) ::setenv("TMPDIR", shm, 0);
  testing::TempDir tmp;
  synth::ExampleSpec spec;
  spec.model.framework = rules::Framework::kPax;
  spec.model.direction = rules::Direction::kFwToTe;
  spec.model.layers = 96;
  spec.model.heads = 96;
  spec.model.head_dim = 128;
  spec.model.mlp_dim = 49152;
  spec.model.embed_dim = 12288;
  spec.vocab = 50304;
  spec.chunks_per_array = 8;
  spec.metadata_only = true;
  synth::write_example_checkpoint(spec, tmp / "ckpt");
  checkpoint::Checkpoint source = checkpoint::open_checkpoint(tmp / "ckpt");
  for (auto& a : source.arrays)
    a.stored_bytes =
        static_cast<uint64_t>(num_elements(a.metadata.shape)) * a.metadata.dtype.itemsize;
  plan::Plan plan =
      plan::make_plan(source, spec.model, {}, frameworks::profile_for(spec.model.framework));
  dist::SplitInput in = dist::split_input_of(plan);
  uint64_t total = in.rank0_cost;
  size_t blocks = 0;
  for (const auto& j : in.job_block_costs) {
    blocks += j.size();
    total = std::accumulate(j.begin(), j.end(), total);
  }
  for (uint64_t c : in.whole_costs) total += c;
  // Decoded bytes read and written: more than a terabyte, in thousands of blocks.
  EXPECT_GT(total, uint64_t{1} << 40);
  EXPECT_GT(blocks, 1000u);
  for (int ranks : {4, 16, 64}) {
    auto shares = dist::split_work(in, ranks);
    expect_partition(in, shares);
    double worst = worst_deviation(shares);
    std::printf("%d ranks: worst share %.3f %% from the mean (%zu blocks, %.2f TiB)\n", ranks,
                100 * worst, blocks, static_cast<double>(total) / (uint64_t{1} << 40));
    EXPECT_LT(worst, 0.10) << ranks << " ranks";
  }
}

}  // namespace
}  // namespace te
