#pragma once
// Runs independent tasks on a fixed number of threads under a memory budget: each task declares
// the bytes it will hold, and starts only when the bytes already in flight plus its own fit the
// budget (a task larger than the whole budget runs alone). Tasks start in order of decreasing
// cost, so that the longest ones do not end up running alone at the end. The first error stops
// the remaining tasks and is rethrown by run_tasks().
#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

namespace te::exec {

struct Task {
  uint64_t bytes = 0;  // memory the task holds while it runs
  uint64_t cost = 0;   // an estimate of its work (e.g. bytes to decode and encode)
  std::function<void()> run;
};

// Runs every task; returns the peak of bytes in flight. `cancel` is polled between tasks.
uint64_t run_tasks(std::vector<Task> tasks, int threads, uint64_t memory_limit,
                   const std::atomic<bool>& cancel);

}  // namespace te::exec
