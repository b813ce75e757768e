#pragma once
// How the processes of a distributed run share a plan's work: by cost (bytes), the blocks of large
// arrays spread over several processes, deterministic (every process computes the same split
// from the same plan).
#include <cstdint>
#include <utility>
#include <vector>

#include "exec/executor.h"
#include "plan/plan.h"

namespace te::dist {

// The work to split, in plan order. Blocks may go to any process, a contiguous run of a job's
// blocks to each; whole items (array and file copies) go to one process each.
struct SplitInput {
  std::vector<std::vector<uint64_t>> job_block_costs;  // per job, the cost of each block
  std::vector<uint64_t> whole_costs;                   // per indivisible item
  uint64_t rank0_cost = 0;                             // work that always runs on rank 0
};

struct RankShare {
  std::vector<std::pair<uint64_t, uint64_t>> job_blocks;  // per job: blocks [first, second)
  std::vector<bool> whole;                                // per indivisible item
  uint64_t cost = 0;                                      // the share's total cost
};

// Splits `input` over `ranks` processes: whole items largest first, each to the least loaded
// process (ties: lowest rank), then the blocks, in order, to fill every process up to the mean
// (a process whose whole items already exceed the mean gets no blocks). Every process's cost is
// then the mean within one block, as long as no whole item exceeds the mean.
std::vector<RankShare> split_work(const SplitInput& input, int ranks);

// The SplitInput of a plan, with the executor's costs: a block costs the decoded bytes it reads and
// writes (exec::block_cost), an array copy its stored bytes, a file copy its bytes on disk; the
// small jobs (inline arrays, rearranged whole) are rank 0's.
SplitInput split_input_of(const plan::Plan& plan);

// This process's share of `plan` among `ranks`, as the executor takes it.
exec::WorkShare work_share(const plan::Plan& plan, int rank, int ranks);

}  // namespace te::dist
