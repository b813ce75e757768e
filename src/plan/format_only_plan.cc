#include "plan/format_only_plan.h"

#include <fmt/core.h>

#include "kvstore/file/file_links.h"
#include "util/error.h"

namespace te::plan {

Plan make_format_only_plan(const checkpoint::Checkpoint& source, rules::Framework framework) {
  if (!source.problems.empty()) {
    fail("{}: the checkpoint is inconsistent: {}", source.path.string(), source.problems.front());
  }
  Plan plan;
  plan.source = &source;
  plan.options.framework = framework;
  for (const auto& a : source.arrays) {
    if (a.folder) kv::check_links_within(*a.folder, source.path);
    plan.copies.push_back({&a, a.name, -1});
  }
  for (const auto& f : source.other_entries) {
    kv::check_links_within(source.path / f, source.path);
    plan.file_copies.push_back(f);
  }
  plan.notes.push_back(fmt::format(
      "format-only conversion: {} arrays copied, no parameter converted", plan.copies.size()));
  return plan;
}

}  // namespace te::plan
