#pragma once
// Runs independent tasks on a fixed number of threads under a memory budget: each task declares
// the bytes it will hold, and starts only when the bytes already in flight plus its own fit the
// budget (a task larger than the whole budget runs alone). Tasks start in order of decreasing
// cost (of their group), so that the longest ones do not end up running alone at the end. The first
// error stops the remaining tasks and is rethrown by run_tasks().
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

// `count` similar tasks made on demand, in order (the blocks of one array), so that a huge array
// never has its whole task list in memory. `cost` (its costliest task's) orders the groups.
struct TaskGroup {
  uint64_t count = 0;
  uint64_t cost = 0;
  std::function<Task(uint64_t index)> make;
};

// Runs every task of every group; returns the peak of bytes in flight. `cancel` is polled
// between tasks. Groups start in order of decreasing cost, their tasks in index order.
uint64_t run_tasks(std::vector<TaskGroup> groups, int threads, uint64_t memory_limit,
                   const std::atomic<bool>& cancel);
// A group of one task.
TaskGroup single_task(Task task);
// One group per task.
uint64_t run_tasks(std::vector<Task> tasks, int threads, uint64_t memory_limit,
                   const std::atomic<bool>& cancel);

}  // namespace te::exec
