#pragma once
// Keeps the processes of a distributed run in step while they work on their shares, without
// blocking them: a thread sums, a few times a second, every process's progress and state (working,
// finished, failed) with a non-blocking collective. When any process has failed, every process
// learns it in the same round and its `stop` flag is raised (its executor cancels); when every
// process has finished, finish() returns. An interrupt (the caller's `interrupted` flag, set by a
// signal) ends the waiting at once: a dead peer never completes a round, so nothing waits on one.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "dist/communicator.h"

namespace te::dist {

enum class JobOutcome { kAllFinished, kSomeFailed, kInterrupted };

class JobMonitor {
 public:
  // `stop` is raised when a process failed or `interrupted` is set; the executor's cancel flag.
  // `on_interrupt` (may be empty) runs on the monitor's thread as soon as it sees `interrupted`,
  // while the workers may still be running: the launcher kills a process soon after its SIGTERM
  // (Open MPI: one second), too soon to wait for the blocks in progress.
  JobMonitor(Communicator& comm, const std::atomic<bool>& interrupted, std::atomic<bool>& stop,
             std::function<void()> on_interrupt = {});
  ~JobMonitor();
  JobMonitor(const JobMonitor&) = delete;
  JobMonitor& operator=(const JobMonitor&) = delete;

  // This process's progress (bytes done), summed into total_done() at the next round.
  void set_done(uint64_t bytes) { done_ = bytes; }
  // The sum of every process's progress at the last complete round.
  uint64_t total_done() const { return total_done_; }
  // Reports this process finished (`ok`) or failed, and waits for the outcome of the job.
  // Called once; the communicator is free for the caller again afterwards.
  JobOutcome finish(bool ok);
  // Whether another process's failure stopped this one (set before finish() returns).
  // (A failure of this process found after another's had stopped the job counts as stopped.)
  bool stopped_by_peer() const { return outcome_ == JobOutcome::kSomeFailed && !reported_failure_; }

 private:
  void run();
  void interrupt();

  Communicator& comm_;
  const std::atomic<bool>& interrupted_;
  std::atomic<bool>& stop_;
  std::function<void()> on_interrupt_;
  std::atomic<uint64_t> done_{0}, total_done_{0};
  std::atomic<bool> finished_here_{false};
  bool failed_here_ = false;
  bool reported_failure_ = false;  // this process's failure went into a round
  std::atomic<JobOutcome> outcome_{JobOutcome::kAllFinished};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace te::dist
