#pragma once
// Compares two checkpoints of one layout, streaming chunk by chunk: the same array names, dtypes
// and shapes, the same element bits, the same other files, and index entries that describe the
// same arrays (ContainerProfile::compare_indexes). Codecs and chunk grids may differ: values
// are compared decoded, one chunk of the expected array at a time (memory: one chunk of each).
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "exec/container_profile.h"
#include "zarr/array.h"

namespace te::exec {

struct ComparisonReport {
  // One line per problem: the array or file, and the first difference (element index and both
  // values as bits) or what is missing.
  std::vector<std::string> problems;
  size_t arrays_compared = 0;
  uint64_t bytes_compared = 0;  // decoded bytes of the expected arrays compared
};

// Chunks compared before compare_checkpoints() runs (exec/comparing_store.h): by array name, the
// executor chunk indices compared and the decoded bytes; an array's first difference found there.
struct ComparedChunks {
  std::map<std::string, std::set<Shape>> chunks;
  std::map<std::string, std::string> problems;
  uint64_t bytes = 0;
};

// `expected` is what the conversion should have produced; `actual` what is on disk; `profile`
// the profile of `expected`'s format, which compares the index entries. The chunks in `compared`
// are not read again; an array with a problem there is reported with it.
ComparisonReport compare_checkpoints(const checkpoint::Checkpoint& expected,
                                     const checkpoint::Checkpoint& actual,
                                     const ContainerProfile& profile,
                                     const ComparedChunks& compared = {});

// The first element where `got` differs from `want` (both the dense C-order bytes of `box` of
// the array `name`, or of a run of it from its element `first_element` on), as a problem line
// "<name>: element [i,j] differs: 0x.., expected 0x..", or "" when they are equal.
std::string first_difference(const std::string& name, const zarr::Box& box,
                             std::span<const std::byte> want, std::span<const std::byte> got,
                             size_t itemsize, size_t first_element = 0);

}  // namespace te::exec
