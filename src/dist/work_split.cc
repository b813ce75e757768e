#include "dist/work_split.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <system_error>

#include "exec/block_runner.h"
#include "exec/job_grid.h"
#include "util/error.h"

namespace te::dist {

namespace fs = std::filesystem;

std::vector<RankShare> split_work(const SplitInput& input, int ranks) {
  if (ranks < 1) fail("cannot split the work over {} processes", ranks);
  const size_t n = static_cast<size_t>(ranks);
  std::vector<RankShare> shares(n);
  for (auto& s : shares) {
    s.job_blocks.assign(input.job_block_costs.size(), {0, 0});
    s.whole.assign(input.whole_costs.size(), false);
  }
  shares[0].cost += input.rank0_cost;

  // Whole items: largest first, each to the least loaded process.
  std::vector<size_t> order(input.whole_costs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return input.whole_costs[a] > input.whole_costs[b]; });
  for (size_t i : order) {
    size_t r = 0;
    for (size_t k = 1; k < n; ++k) {
      if (shares[k].cost < shares[r].cost) r = k;
    }
    shares[r].whole[i] = true;
    shares[r].cost += input.whole_costs[i];
  }

  // Blocks: laid end to end in plan order; process r takes the stretch [bound[r], bound[r+1])
  // whose length is its shortfall below the mean, and each block goes where its midpoint lies.
  long double block_total = 0, total = 0;
  for (const auto& job : input.job_block_costs) {
    for (uint64_t c : job) block_total += static_cast<long double>(c);
  }
  if (block_total == 0) {
    // Nothing to weigh: blocks of zero cost still run somewhere (rank 0).
    for (size_t j = 0; j < input.job_block_costs.size(); ++j)
      shares[0].job_blocks[j] = {0, input.job_block_costs[j].size()};
    return shares;
  }
  for (const auto& s : shares) total += static_cast<long double>(s.cost);
  total += block_total;
  const long double mean = total / static_cast<long double>(n);
  std::vector<long double> shortfall(n);
  long double shortfall_total = 0;
  for (size_t r = 0; r < n; ++r) {
    shortfall[r] = std::max<long double>(0, mean - static_cast<long double>(shares[r].cost));
    shortfall_total += shortfall[r];
  }
  std::vector<long double> bound(n + 1, 0);
  for (size_t r = 0; r < n; ++r)
    bound[r + 1] = bound[r] + shortfall[r] / shortfall_total * block_total;
  bound[n] = block_total;

  long double position = 0;
  size_t r = 0;
  for (size_t j = 0; j < input.job_block_costs.size(); ++j) {
    const auto& costs = input.job_block_costs[j];
    for (uint64_t b = 0; b < costs.size(); ++b) {
      const long double middle = position + static_cast<long double>(costs[b]) / 2;
      while (r + 1 < n && middle >= bound[r + 1]) ++r;
      auto& range = shares[r].job_blocks[j];
      if (range.first == range.second) range = {b, b};
      range.second = b + 1;
      shares[r].cost += costs[b];
      position += static_cast<long double>(costs[b]);
    }
  }
  return shares;
}

namespace {

uint64_t bytes_on_disk(const fs::path& path) {
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(path, ec))) return 0;
  if (!fs::is_directory(path, ec)) {
    auto n = fs::file_size(path, ec);
    return ec ? 0 : n;
  }
  uint64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      auto n = it->file_size(ec);
      if (!ec) total += n;
    }
  }
  return total;
}

}  // namespace

SplitInput split_input_of(const plan::Plan& plan) {
  SplitInput in;
  for (const auto& job : plan.jobs) {
    auto& costs = in.job_block_costs.emplace_back();
    if (exec::is_small_job(job)) {
      for (const auto* a : job.inputs)
        in.rank0_cost +=
            static_cast<uint64_t>(num_elements(a->metadata.shape)) * a->metadata.dtype.itemsize;
      continue;
    }
    transform::BlockGrid grid = exec::job_block_grid(job);
    costs.reserve(static_cast<size_t>(grid.size()));
    for (int64_t b = 0; b < grid.size(); ++b) costs.push_back(exec::block_cost(job, grid.at(b)));
  }
  for (const auto& copy : plan.copies)
    in.whole_costs.push_back(copy.source->is_inline() ? 0 : copy.source->stored_bytes);
  for (const auto& f : plan.file_copies)
    in.whole_costs.push_back(bytes_on_disk(plan.source->path / f));
  return in;
}

exec::WorkShare work_share(const plan::Plan& plan, int rank, int ranks) {
  RankShare mine = split_work(split_input_of(plan), ranks).at(static_cast<size_t>(rank));
  exec::WorkShare share;
  share.job_blocks = std::move(mine.job_blocks);
  share.copies.assign(mine.whole.begin(),
                      mine.whole.begin() + static_cast<long>(plan.copies.size()));
  share.file_copies.assign(mine.whole.begin() + static_cast<long>(plan.copies.size()),
                           mine.whole.end());
  share.small_jobs = rank == 0;
  return share;
}

}  // namespace te::dist
