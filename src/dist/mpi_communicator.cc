// The MPI implementation of Communicator, compiled only when CMake found MPI (TE_CKPT_WITH_MPI).
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dist/communicator.h"
#include "util/error.h"

#ifdef TE_CKPT_WITH_MPI
#include <mpi.h>
#endif

namespace te::dist {

#ifdef TE_CKPT_WITH_MPI
namespace {

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v;
}

class MpiSum : public PendingSum {
 public:
  explicit MpiSum(const std::vector<uint64_t>& values) : in_(values), out_(values.size()) {
    MPI_Iallreduce(in_.data(), out_.data(), static_cast<int>(in_.size()), MPI_UINT64_T, MPI_SUM,
                   MPI_COMM_WORLD, &request_);
  }
  // An incomplete request is left alone: the process is leaving (abandon()).
  ~MpiSum() override = default;
  bool done() override {
    if (complete_) return true;
    int flag = 0;
    MPI_Test(&request_, &flag, MPI_STATUS_IGNORE);
    complete_ = flag != 0;
    return complete_;
  }
  const std::vector<uint64_t>& result() const override { return out_; }

 private:
  std::vector<uint64_t> in_, out_;
  MPI_Request request_{};
  bool complete_ = false;
};

class MpiWorld : public Communicator {
 public:
  MpiWorld() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    if (provided < MPI_THREAD_SERIALIZED) {
      MPI_Finalize();
      fail("MPI provides thread level {}, te-ckpt needs MPI_THREAD_SERIALIZED", provided);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override {
    if (!abandoned_) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string broadcast_from_root(const std::string& text) override {
    uint64_t n = text.size();
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    std::string out = rank_ == 0 ? text : std::string(n, '\0');
    MPI_Bcast(out.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
    return out;
  }
  std::vector<std::string> gather_to_root(const std::string& text) override {
    // The sizes first; rank 0 decides whether everything fits in MPI's int counts and tells every
    // process, so that all of them fail together (none is left waiting in MPI_Gatherv).
    const auto mine = static_cast<int64_t>(text.size());
    std::vector<int64_t> sizes(rank_ == 0 ? size_ : 0);
    MPI_Gather(&mine, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    int64_t total = 0;
    for (int64_t n : sizes) total += n;
    int fits = total <= INT_MAX ? 1 : 0;
    MPI_Bcast(&fits, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!fits)
      fail("rank {}: the processes have more than {} bytes to gather on rank 0 ({} here)", rank_,
           INT_MAX, mine);
    std::vector<int> counts, offsets;
    for (int64_t n : sizes) {
      offsets.push_back(counts.empty() ? 0 : offsets.back() + counts.back());
      counts.push_back(static_cast<int>(n));
    }
    std::string all(static_cast<size_t>(total), '\0');
    MPI_Gatherv(text.data(), static_cast<int>(mine), MPI_CHAR, all.data(), counts.data(),
                offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    std::vector<std::string> out;
    for (size_t r = 0; r < counts.size(); ++r)
      out.push_back(all.substr(static_cast<size_t>(offsets[r]), static_cast<size_t>(counts[r])));
    return out;
  }
  int lowest_rank_with(bool flag) override {
    int mine = flag ? rank_ : size_, lowest = size_;
    MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return lowest;
  }
  std::vector<uint64_t> sum(const std::vector<uint64_t>& values) override {
    return reduce(values, MPI_SUM);
  }
  std::vector<uint64_t> max(const std::vector<uint64_t>& values) override {
    return reduce(values, MPI_MAX);
  }
  std::unique_ptr<PendingSum> start_sum(const std::vector<uint64_t>& values) override {
    return std::make_unique<MpiSum>(values);
  }
  void abandon() override { abandoned_ = true; }

 private:
  std::vector<uint64_t> reduce(const std::vector<uint64_t>& values, MPI_Op op) {
    std::vector<uint64_t> out(values.size());
    MPI_Allreduce(values.data(), out.data(), static_cast<int>(values.size()), MPI_UINT64_T, op,
                  MPI_COMM_WORLD);
    return out;
  }
  int rank_ = 0, size_ = 1;
  bool abandoned_ = false;
};

}  // namespace

bool built_with_mpi() {
  return true;
}

std::unique_ptr<Communicator> join_launched_job() {
  // Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; PMIx and PMI-2 launchers (srun --mpi=pmix|pmi2)
  // set PMIX_RANK or PMI_RANK. Without them this is a process started by hand: no MPI at all
  // (Open MPI's singleton start would spawn a daemon for nothing).
  if (!env_set("OMPI_COMM_WORLD_SIZE") && !env_set("PMIX_RANK") && !env_set("PMI_RANK"))
    return single_process();
  auto world = std::make_unique<MpiWorld>();
  return world;
}

#else

bool built_with_mpi() {
  return false;
}

std::unique_ptr<Communicator> join_launched_job() {
  return single_process();
}

#endif

}  // namespace te::dist
