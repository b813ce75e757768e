#include "plan/array_listing.h"

namespace te::plan {

ArrayListing::ArrayListing(const checkpoint::Checkpoint& ckpt) {
  for (const auto& a : ckpt.arrays) by_name_[a.name] = &a;
}

const checkpoint::ArrayEntry* ArrayListing::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

bool ArrayListing::any_with_prefix(const std::string& prefix) const {
  auto it = by_name_.lower_bound(prefix);
  return it != by_name_.end() && starts_with(it->first, prefix);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace te::plan
