// `te-ckpt convert` under mpirun or srun (cli/distributed_run.h).
#include "cli/distributed_run.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include "cli/usage_error.h"
#include "dist/job_monitor.h"
#include "dist/late_removal.h"
#include "dist/work_split.h"
#include "kvstore/file/output_transaction.h"
#include "util/error.h"

namespace te::cli {
namespace {

namespace fs = std::filesystem;

// Flushes this node's dirty data of the file system that holds `folder` (syncfs).
void sync_file_system(const std::string& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {}: {}", folder, std::strerror(errno));
  if (::syncfs(fd) != 0) {
    int e = errno;
    ::close(fd);
    fail("cannot sync {}: {}", folder, std::strerror(e));
  }
  ::close(fd);
}

// An OCDBT output (ocdbt, ocdbt-zarr3) is ONE database, as a single process writes it: every rank
// writes its values through an OcdbtWriter of its own into data files of its own under the
// database's d/ (random names, so they never collide), and writes no manifest. Once every rank has
// finished (before_index), each rank except 0 closes its data files durably and exports its key
// index (key -> inline bytes, or data file + offset + length); rank 0 gathers them, adds them to
// its own writer (the keys are disjoint: each array's metadata is written by one rank, each chunk
// by the rank of its block; a key written twice is an error naming it and the rank), and then
// builds the B+tree and the manifest from the union, writes the Orbax metadata and commits, as a
// single run does. Not Orbax's per-process databases with a merged root: readers open one
// manifest, and the output equals the single-process output key for key.
void combine_database(dist::Communicator& comm, kv::OcdbtWriter& database) {
  const int rank = comm.rank();
  std::string mine;
  if (rank != 0) {
    try {
      mine = "+" + database.export_index();
    } catch (const std::exception& e) {
      mine = std::string("-") + e.what();
    }
  }
  // Every rank reaches the gather (an export error travels in it), so none waits on another.
  std::vector<std::string> parts = comm.gather_to_root(mine);
  if (rank != 0) {
    if (mine[0] == '-') fail("{}", mine.substr(1));
    return;
  }
  for (size_t r = 1; r < parts.size(); ++r) {
    if (parts[r].empty() || parts[r][0] != '+')
      fail("rank {} could not hand over its part of the OCDBT output: {}", r,
           parts[r].empty() ? "nothing received" : parts[r].substr(1));
    database.import_index(std::string_view(parts[r]).substr(1), fmt::format("rank {}", r));
  }
}

}  // namespace

// Several processes (MPI ranks), each running its share of the same plan into rank 0's temporary
// output; rank 0 holds the lock, writes the index and commits. Any error is agreed on by all and
// reported once, by the lowest rank that met it; every rank then exits non-zero.
int run_distributed(const ConvertFlags& f, dist::Communicator& comm,
                    const std::set<std::string>& explicit_flags, bool qkv_layout_given) {
  const int rank = comm.rank(), size = comm.size();
  auto report = [&](int failing_rank, const std::string& message) {
    if (rank == failing_rank)
      fmt::print(stderr, "te-ckpt: error: rank {} of {}: {}\n", failing_rank, size, message);
  };
  // 1. Every rank makes the same plan; usage errors keep their exit status.
  PreparedRun run;
  std::string error;
  int status = 1;
  try {
    run = prepare_run(f, explicit_flags, qkv_layout_given, rank == 0);
  } catch (const UsageError& e) {
    error = e.what();
    status = kExitUsage;
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (int first = comm.lowest_rank_with(!error.empty()); first < size) {
    report(first, error);
    return rank == first ? status : 1;
  }
  if (run.dry_run_done) return 0;
  catch_termination_signals();

  // 2. Rank 0 takes the lock and creates the temporary output; every rank must see it.
  std::optional<kv::OutputTransaction> transaction;
  std::string temp;
  if (rank == 0) {
    try {
      transaction.emplace(f.input, f.output, f.overwrite);
      temp = "+" + transaction->temp_dir().string();
    } catch (const std::exception& e) {
      temp = std::string("-") + e.what();
    }
  }
  temp = comm.broadcast_from_root(temp);
  if (temp.empty() || temp[0] != '+') {
    report(0, temp.empty() ? "no temporary output" : temp.substr(1));
    return 1;
  }
  temp.erase(0, 1);
  std::error_code ec;
  const bool visible = fs::is_directory(temp, ec);
  if (int first = comm.lowest_rank_with(!visible); first < size) {
    report(first, fmt::format(
                      "the temporary output {} that rank 0 created is not visible here; the output "
                      "folder must be on a file system that every rank shares",
                      temp));
    return 1;
  }

  // 3. Every rank runs its share, kept in step by the monitor (an error anywhere stops all).
  std::atomic<bool> stop{false};
  exec::ExecSettings settings = exec_settings_of(f, run);
  exec::WorkShare share;
  exec::ExecResult result;
  bool failed = false, stopped_by_peer = false;
  dist::JobOutcome outcome = dist::JobOutcome::kAllFinished;
  const bool show_progress = rank == 0 && !f.quiet && ::isatty(STDERR_FILENO);
  {
    // On a signal (mpirun and srun end every rank with SIGTERM, then SIGKILL; mpirun kills the
    // rest at once when one rank has exited): the other ranks leave at once, so that they write
    // no more (after a moment); rank 0 leaves a late removal behind (dist/late_removal.h), then
    // removes the temporary output at once and keeps removing it until it has unwound or is killed.
    auto on_interrupt = [temp, rank] {
      if (rank != 0) {
        // Not before rank 0 has seen the signal too: mpirun kills every rank once one has gone.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        std::_Exit(130);
      }
      dist::remove_later(temp);
      std::thread([temp] {
        for (;;) {
          std::error_code ignored;
          fs::remove_all(temp, ignored);
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }).detach();
    };
    dist::JobMonitor monitor(comm, g_cancel, stop, on_interrupt);
    bool finished = false;
    settings.cancel = &stop;
    settings.share = &share;
    settings.progress = [&, start = run.start](uint64_t done, uint64_t total) {
      monitor.set_done(done);
      if (show_progress) print_progress(start, monitor.total_done(), total);
    };
    settings.combine_database = [&](kv::OcdbtWriter& database) {
      combine_database(comm, database);
    };
    // An FP8 kernel's amax is a maximum over its blocks, which several ranks convert.
    settings.combine_amax = [&](const std::vector<uint64_t>& amax_bits) {
      return comm.max(amax_bits);
    };
    settings.before_index = [&] {
      // Chunk files are written without fsync; rank 0's commit syncs its own node only, so every
      // other rank flushes what it wrote (to the shared file system) before it reports done.
      if (rank != 0) sync_file_system(temp);
      finished = true;
      outcome = monitor.finish(true);
      if (outcome == dist::JobOutcome::kSomeFailed) fail("stopped: another rank failed");
      if (outcome == dist::JobOutcome::kInterrupted) fail("interrupted");
      return rank == 0;
    };
    try {
      share = dist::work_share(run.plan, rank, size);
      result = exec::execute(run.plan, temp, settings);
    } catch (const std::exception& e) {
      failed = true;
      error = e.what();
    }
    if (!finished) outcome = monitor.finish(!failed);
    stopped_by_peer = monitor.stopped_by_peer();
  }
  if (show_progress) fmt::print(stderr, "\n");
  if (outcome == dist::JobOutcome::kInterrupted || g_cancel) {
    // A signal (mpirun ends the other ranks with SIGTERM when one dies): no more collectives, a
    // peer may be gone. Rank 0 removes the temporary output as it leaves.
    comm.abandon();
    if (rank == 0) fmt::print(stderr, "te-ckpt: interrupted; the partial output was removed\n");
    return 130;
  }

  // 4. The lowest rank that failed on its own (not stopped by another) reports.
  const bool own_failure = failed && !stopped_by_peer;
  if (int first = comm.lowest_rank_with(own_failure); first < size) {
    report(first, error);
    return 1;
  }
  if (failed) {  // unreachable: a failure that no rank reported as its own
    report(0, "a rank failed");
    return 1;
  }

  // 5. The whole job's counters; rank 0 commits and says whether it could.
  auto sums = comm.sum({result.bytes_written, result.bytes_processed, result.bytes_reencoded,
                        result.bytes_chunk_copied, result.chunks_copied});
  auto maxima = comm.max({result.peak_task_bytes, peak_rss_bytes()});
  std::string commit_error;
  if (rank == 0) {
    try {
      if (g_cancel) fail("interrupted");
      transaction->commit();
    } catch (const std::exception& e) {
      commit_error = std::string("-") + e.what();
    }
  }
  commit_error = comm.broadcast_from_root(commit_error);
  if (!commit_error.empty()) {
    report(0, commit_error.substr(1));
    return 1;
  }
  if (rank != 0) return 0;
  result.bytes_written = sums[0];
  result.bytes_processed = sums[1];
  result.bytes_reencoded = sums[2];
  result.bytes_chunk_copied = sums[3];
  result.chunks_copied = sums[4];
  result.peak_task_bytes = maxima[0];
  for (const auto& w : result.warnings) fmt::print(stderr, "te-ckpt: warning: {}\n", w);
  print_summary(f, run, result, maxima[1]);
  return 0;
}

}  // namespace te::cli
