#include "dist/job_monitor.h"

#include <chrono>

namespace te::dist {
namespace {

constexpr auto kRound = std::chrono::milliseconds(100);  // between two rounds (at most)
constexpr auto kPoll = std::chrono::milliseconds(1);     // while a round is incomplete
constexpr auto kSignalCheck = std::chrono::milliseconds(5);

}  // namespace

JobMonitor::JobMonitor(Communicator& comm, const std::atomic<bool>& interrupted,
                       std::atomic<bool>& stop, std::function<void()> on_interrupt)
    : comm_(comm), interrupted_(interrupted), stop_(stop), on_interrupt_(std::move(on_interrupt)) {
  thread_ = std::thread([this] { run(); });
}

JobMonitor::~JobMonitor() {
  if (thread_.joinable()) {
    // Leaving by an exception before finish(): count as failed so that the others stop too.
    {
      std::lock_guard lock(mu_);
      failed_here_ = true;
      finished_here_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
}

JobOutcome JobMonitor::finish(bool ok) {
  {
    std::lock_guard lock(mu_);
    failed_here_ = !ok;
    finished_here_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  return outcome_;
}

void JobMonitor::interrupt() {
  outcome_ = JobOutcome::kInterrupted;
  stop_ = true;
  if (on_interrupt_) on_interrupt_();
}

void JobMonitor::run() {
  for (;;) {
    uint64_t finished = 0, failed = 0;
    {
      std::lock_guard lock(mu_);
      finished = finished_here_ ? 1 : 0;
      failed = failed_here_ ? 1 : 0;
      reported_failure_ = failed_here_;
    }
    auto round = comm_.start_sum({done_.load(), finished, failed});
    while (!round->done()) {
      if (interrupted_) {
        interrupt();
        // An incomplete collective request cannot be freed; the process is leaving.
        (void)round.release();
        return;
      }
      std::this_thread::sleep_for(kPoll);
    }
    const auto& sums = round->result();
    total_done_ = sums[0];
    if (sums[2] > 0) {
      outcome_ = JobOutcome::kSomeFailed;
      stop_ = true;
      return;
    }
    if (sums[1] == static_cast<uint64_t>(comm_.size())) {
      outcome_ = JobOutcome::kAllFinished;
      return;
    }
    if (interrupted_) {
      interrupt();
      return;
    }
    std::unique_lock lock(mu_);
    // A signal handler cannot notify: look at the flag every few milliseconds.
    const auto next_round = std::chrono::steady_clock::now() + kRound;
    while (!finished_here_ && !interrupted_ && std::chrono::steady_clock::now() < next_round)
      cv_.wait_for(lock, kSignalCheck);
  }
}

}  // namespace te::dist
