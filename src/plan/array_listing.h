#pragma once
// The arrays of a checkpoint by name, in name order: the lookups and prefix scans the planner
// makes. Holds pointers into the checkpoint, which must outlive it.
#include <map>
#include <string>

#include "checkpoint/checkpoint.h"

namespace te::plan {

class ArrayListing {
 public:
  explicit ArrayListing(const checkpoint::Checkpoint& ckpt);

  // The array named `name`, or nullptr.
  const checkpoint::ArrayEntry* find(const std::string& name) const;
  // Whether some array's name starts with `prefix`.
  bool any_with_prefix(const std::string& prefix) const;
  const std::map<std::string, const checkpoint::ArrayEntry*>& by_name() const { return by_name_; }

 private:
  std::map<std::string, const checkpoint::ArrayEntry*> by_name_;
};

bool starts_with(const std::string& s, const std::string& prefix);
bool ends_with(const std::string& s, const std::string& suffix);

}  // namespace te::plan
