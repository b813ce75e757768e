#pragma once
// `te-ckpt convert` under mpirun or srun: several processes (MPI ranks) share one conversion.
#include <set>
#include <string>

#include "cli/convert_run.h"
#include "dist/communicator.h"

namespace te::cli {

// Several processes (MPI ranks), each running its share of the same plan into rank 0's temporary
// output; rank 0 holds the lock, writes the index and commits. Any error is agreed on by all and
// reported once, by the lowest rank that met it; every rank then exits non-zero. Returns this
// process's exit status.
int run_distributed(const ConvertFlags& f, dist::Communicator& comm,
                    const std::set<std::string>& explicit_flags, bool qkv_layout_given);

}  // namespace te::cli
