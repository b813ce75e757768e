#include "exec/worker_pool.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "util/error.h"

namespace te::exec {

uint64_t run_tasks(std::vector<Task> tasks, int threads, uint64_t memory_limit,
                   const std::atomic<bool>& cancel) {
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const Task& a, const Task& b) { return a.cost > b.cost; });
  std::mutex mu;
  std::condition_variable cv;
  size_t next = 0;
  uint64_t in_flight = 0, peak = 0;
  std::exception_ptr error;

  auto worker = [&] {
    for (;;) {
      size_t index;
      uint64_t bytes;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] {
          if (error || next >= tasks.size() || cancel) return true;
          uint64_t b = tasks[next].bytes;
          return in_flight == 0 || in_flight + b <= memory_limit;
        });
        if (error || next >= tasks.size()) return;
        if (cancel) {
          if (!error) error = std::make_exception_ptr(Error("interrupted"));
          cv.notify_all();
          return;
        }
        index = next++;
        bytes = tasks[index].bytes;
        in_flight += bytes;
        peak = std::max(peak, in_flight);
      }
      try {
        tasks[index].run();
        tasks[index].run = nullptr;  // free captured state early
      } catch (...) {
        std::lock_guard lock(mu);
        if (!error) error = std::current_exception();
      }
      {
        std::lock_guard lock(mu);
        in_flight -= bytes;
      }
      cv.notify_all();
    }
  };

  int n = std::max(1, threads);
  std::vector<std::thread> pool;
  for (int i = 1; i < n; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return peak;
}

}  // namespace te::exec
