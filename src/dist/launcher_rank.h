#pragma once
// The rank a parallel launcher gave this process, read from the environment it sets before any
// MPI call: Open MPI's mpirun (OMPI_COMM_WORLD_RANK), PMIx and PMI-2 launchers such as
// `srun --mpi=pmix|pmi2` (PMIX_RANK, PMI_RANK), the same variables join_launched_job() looks
// for. Works in builds without MPI.
#include <optional>

namespace te::dist {

// nullopt when no launcher started this process (or its variable is not a rank).
std::optional<int> launched_rank();

}  // namespace te::dist
