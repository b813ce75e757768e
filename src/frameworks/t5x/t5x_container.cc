#include "frameworks/t5x/t5x_container.h"

#include <fmt/format.h>

#include <map>

#include "exec/output_container.h"
#include "frameworks/t5x/t5x_output_index.h"

namespace te::frameworks {

using checkpoint::Format;

std::filesystem::path T5xContainer::own_array_root(Format) const {
  return "";
}

exec::FrameworkContainer T5xContainer::folders_container(const checkpoint::Checkpoint&) const {
  return {Format::kT5x, "", ""};
}

exec::FrameworkContainer T5xContainer::orbax_container(const checkpoint::Checkpoint&) const {
  return {Format::kT5xOrbax, "state", ""};
}

std::string T5xContainer::describe_own_container(const exec::OutputContainer&,
                                                 const std::string& root,
                                                 const std::string& output) const {
  return fmt::format("T5X, zarr v2 folders: arrays in {}/<name>/, index {}/checkpoint", root,
                     output);
}

bool T5xContainer::index_holds_inline_arrays(const exec::OutputContainer& container) const {
  return container.format == Format::kT5x;
}

uint64_t T5xContainer::write_index(const exec::IndexOutput& output) const {
  if (output.container.format != Format::kT5x) return 0;  // Orbax: no index of T5X's own
  write_t5x_index(output.plan, output.out_dir, output.inline_outputs, output.fp8_arrays);
  std::error_code ec;
  const auto size = std::filesystem::file_size(output.out_dir / "checkpoint", ec);
  return ec ? 0 : size;
}

std::vector<std::string> T5xContainer::compare_indexes(const checkpoint::Checkpoint& expected,
                                                       const checkpoint::Checkpoint& actual) const {
  std::vector<std::string> problems;
  if (expected.t5x_index && actual.t5x_index) {
    std::map<std::string, std::string> want, have;
    auto describe = [](const checkpoint::T5xLeaf& l) {
      if (l.spec)
        return fmt::format("array {} {} at {}", l.spec->dtype_name, shape_string(l.spec->shape),
                           l.spec->folder);
      if (l.inline_array)
        return fmt::format("inline {} {}", l.inline_array->dtype.name(),
                           shape_string(l.inline_array->shape));
      return std::string("value");
    };
    for (const auto& l : expected.t5x_index->leaves()) want[l.path] = describe(l);
    for (const auto& l : actual.t5x_index->leaves()) have[l.path] = describe(l);
    for (const auto& [path, text] : want) {
      auto it = have.find(path);
      if (it == have.end()) {
        problems.push_back(fmt::format("index: entry {} missing (expected {})", path, text));
      } else if (it->second != text) {
        problems.push_back(
            fmt::format("index: entry {} is {}, expected {}", path, it->second, text));
      }
    }
    for (const auto& [path, text] : have) {
      if (!want.count(path))
        problems.push_back(fmt::format("index: unexpected entry {} ({})", path, text));
    }
  }
  return problems;
}

}  // namespace te::frameworks
