#include "plan/output_renaming.h"

#include <map>

#include "util/error.h"

namespace te::plan {

size_t rename_outputs(Plan& plan, const std::function<std::string(std::string_view)>& spelling) {
  std::map<std::string, std::string> seen;  // new name -> old name
  size_t changed = 0;
  auto rename = [&](std::string& name) {
    std::string renamed = spelling(name);
    auto [it, fresh] = seen.emplace(renamed, name);
    if (!fresh && it->second != name) {
      fail("output arrays {} and {} would both be named {} in the output container", it->second,
           name, renamed);
    }
    if (renamed != name) ++changed;
    name = std::move(renamed);
  };
  for (auto& job : plan.jobs)
    for (auto& o : job.outputs) rename(o.name);
  for (auto& c : plan.copies) rename(c.target_name);
  return changed;
}

}  // namespace te::plan
