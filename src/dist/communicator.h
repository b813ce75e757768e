#pragma once
// The processes of one conversion (MPI ranks under mpirun or srun, or this process alone) and the
// few collective operations the distributed run needs. Every process calls each collective in the
// same order; only one thread of a process calls into a communicator at a time.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace te::dist {

// A sum over every process started without waiting for it (it completes once every process has
// started the same sum).
class PendingSum {
 public:
  virtual ~PendingSum() = default;
  // True once the sum is complete (drives the communication; call it repeatedly).
  virtual bool done() = 0;
  // The element-wise sums; only after done() returned true.
  virtual const std::vector<uint64_t>& result() const = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank 0's `text` on every process.
  virtual std::string broadcast_from_root(const std::string& text) = 0;
  // On rank 0, every process's `text`, by rank (its own first); on the others, an empty vector.
  // MPI counts are int: when the texts total 2 GiB or more, every process throws te::Error.
  virtual std::vector<std::string> gather_to_root(const std::string& text) = 0;
  // The lowest rank that passed true, or size() when none did.
  virtual int lowest_rank_with(bool flag) = 0;
  // Element-wise sums and maxima over every process (each passes vectors of the same length).
  virtual std::vector<uint64_t> sum(const std::vector<uint64_t>& values) = 0;
  virtual std::vector<uint64_t> max(const std::vector<uint64_t>& values) = 0;
  virtual std::unique_ptr<PendingSum> start_sum(const std::vector<uint64_t>& values) = 0;
  // After an interrupt: the process leaves without the closing handshake (the launcher ends
  // the others). Later calls are not allowed.
  virtual void abandon() {}
};

// This process alone (rank 0 of 1): every collective returns its own input.
std::unique_ptr<Communicator> single_process();

// Whether this binary was built with MPI.
bool built_with_mpi();

// The MPI job this process was started in (by mpirun, or srun through PMIx/PMI), found by the
// launcher's environment variables before MPI is initialised; single_process() when there is
// none or the binary has no MPI. A process started by hand never initialises MPI.
std::unique_ptr<Communicator> join_launched_job();

}  // namespace te::dist
