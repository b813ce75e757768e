#include "exec/worker_pool.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "util/error.h"

namespace te::exec {

uint64_t run_tasks(std::vector<TaskGroup> groups, int threads, uint64_t memory_limit,
                   const std::atomic<bool>& cancel) {
  std::stable_sort(groups.begin(), groups.end(),
                   [](const TaskGroup& a, const TaskGroup& b) { return a.cost > b.cost; });
  std::mutex mu;
  std::condition_variable cv;
  size_t group = 0;
  uint64_t index = 0;
  std::optional<Task> next;  // made one ahead, so that its bytes are known before it starts
  uint64_t in_flight = 0, peak = 0;
  std::exception_ptr error;

  // Under `mu`: makes the next task, or leaves `next` empty when every task has been handed out.
  auto advance = [&] {
    next.reset();
    while (group < groups.size() && index >= groups[group].count) {
      groups[group].make = nullptr;  // free captured state early
      ++group;
      index = 0;
    }
    if (group == groups.size()) return;
    try {
      next = groups[group].make(index++);
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  };
  advance();

  auto worker = [&] {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] {
          if (error || !next || cancel) return true;
          return in_flight == 0 || in_flight + next->bytes <= memory_limit;
        });
        if (error || !next) return;
        if (cancel) {
          if (!error) error = std::make_exception_ptr(Error("interrupted"));
          cv.notify_all();
          return;
        }
        task = std::move(*next);
        advance();
        in_flight += task.bytes;
        peak = std::max(peak, in_flight);
      }
      try {
        task.run();
        task.run = nullptr;  // free captured state early
      } catch (...) {
        std::lock_guard lock(mu);
        if (!error) error = std::current_exception();
      }
      {
        std::lock_guard lock(mu);
        in_flight -= task.bytes;
      }
      cv.notify_all();
    }
  };

  int n = std::max(1, threads);
  std::vector<std::thread> pool;
  for (int i = 1; i < n; ++i) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error& e) {
      // Out of threads (ulimit -u, memory): stop the workers already started, then report.
      std::lock_guard lock(mu);
      if (!error) {
        error = std::make_exception_ptr(
            Error(fmt::format("cannot start worker thread {} of {} ({}); pass a smaller --jobs",
                              i + 1, n, e.what())));
      }
      cv.notify_all();
      break;
    }
  }
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return peak;
}

TaskGroup single_task(Task task) {
  uint64_t cost = task.cost;
  return {1, cost, [task = std::move(task)](uint64_t) mutable { return std::move(task); }};
}

uint64_t run_tasks(std::vector<Task> tasks, int threads, uint64_t memory_limit,
                   const std::atomic<bool>& cancel) {
  std::vector<TaskGroup> groups;
  groups.reserve(tasks.size());
  for (auto& t : tasks) groups.push_back(single_task(std::move(t)));
  return run_tasks(std::move(groups), threads, memory_limit, cancel);
}

}  // namespace te::exec
