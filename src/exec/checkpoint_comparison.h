#pragma once
// Compares two checkpoints of one layout, streaming chunk by chunk: the same array names, dtypes
// and shapes, the same element bits, the same other files, and index entries that describe the
// same arrays (ContainerProfile::compare_indexes). Codecs and chunk grids may differ: values
// are compared decoded, one chunk of the expected array at a time (memory: one chunk of each).
#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "exec/container_profile.h"

namespace te::exec {

struct ComparisonReport {
  // One line per problem: the array or file, and the first difference (element index and both
  // values as bits) or what is missing.
  std::vector<std::string> problems;
  size_t arrays_compared = 0;
  uint64_t bytes_compared = 0;  // decoded bytes of the expected arrays compared
};

// `expected` is what the conversion should have produced; `actual` what is on disk; `profile`
// the profile of `expected`'s format, which compares the index entries.
ComparisonReport compare_checkpoints(const checkpoint::Checkpoint& expected,
                                     const checkpoint::Checkpoint& actual,
                                     const ContainerProfile& profile);

}  // namespace te::exec
