#pragma once
// Removing a folder after this process is gone. Under a launcher, SIGTERM is followed by SIGKILL
// within a second (Open MPI's mpirun), or at once when another rank has already exited: too soon
// for rank 0 to wait for the blocks in progress, and the other ranks' writes in progress may
// recreate folders after any removal. So rank 0 also leaves a small detached process (its own
// session, outside the launcher's process group; standard streams on /dev/null) that removes
// the folder again once the ranks have had time to die.
#include <filesystem>

namespace te::dist {

// Starts `/bin/sh -c 'sleep 2; rm -rf -- PATH; sleep 3; rm -rf -- PATH'` detached. Async-signal
// tolerant: only posix_spawn. Returns false when it could not be started (nothing else happens).
bool remove_later(const std::filesystem::path& folder);

}  // namespace te::dist
