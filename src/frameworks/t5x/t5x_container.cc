#include "frameworks/t5x/t5x_container.h"

#include <fmt/core.h>

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

}  // namespace te::frameworks
