#pragma once
// How a conversion's output comes into existence safely. The output is written into a temporary
// folder beside the output path (`<name>.te-ckpt-tmp-<pid>`, a name neither T5X nor Pax/Orbax takes
// for a step), synced, and renamed into place only when complete; an explicit overwrite swaps it
// with the old content atomically (renameat2 RENAME_EXCHANGE). Whatever kills the process, the
// output path is either absent or complete. A lock file serialises runs that write the same
// output, and the next run removes temporary folders that an interrupted run left behind.
#include <filesystem>
#include <string>
#include <vector>

namespace te::kv {

namespace fs = std::filesystem;

// The marker in the name of the temporary output folders (and of nothing else).
inline constexpr const char* kTempMarker = ".te-ckpt-tmp-";

// The checks on the output path that need no lock: refuses outputs that would touch the input
// (equal, inside, or containing it), an existing file, and an existing non-empty folder unless
// `overwrite`. A dry run makes exactly these checks; OutputTransaction makes them too.
void check_output_path(const fs::path& input, const fs::path& output, bool overwrite);

class OutputTransaction {
 public:
  // Makes check_output_path's checks, takes the lock and creates the temporary folder (and the
  // missing parent folders, which are removed again when the run fails).
  OutputTransaction(const fs::path& input, const fs::path& output, bool overwrite);
  ~OutputTransaction();
  OutputTransaction(const OutputTransaction&) = delete;
  OutputTransaction& operator=(const OutputTransaction&) = delete;

  const fs::path& temp_dir() const { return temp_; }
  // Syncs the temporary folder and renames it into place.
  void commit();

 private:
  fs::path output_, temp_, lock_path_;
  std::vector<fs::path> created_parents_;  // innermost first
  int lock_fd_ = -1;
  bool committed_ = false;
};

}  // namespace te::kv
