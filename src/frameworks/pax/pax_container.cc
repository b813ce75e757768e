#include "frameworks/pax/pax_container.h"

#include <fmt/core.h>

#include "exec/output_container.h"
#include "frameworks/pax/pax_output_metadata.h"
#include "util/file.h"

namespace te::frameworks {

namespace fs = std::filesystem;
using checkpoint::Format;

fs::path PaxContainer::own_array_root(Format format) const {
  return format == Format::kPaxLayout1 ? "state" : "";
}

exec::FrameworkContainer PaxContainer::folders_container(const checkpoint::Checkpoint&) const {
  return {Format::kPaxLayout1, "state", ""};
}

exec::FrameworkContainer PaxContainer::orbax_container(
    const checkpoint::Checkpoint& legacy_source) const {
  if (legacy_source.format == Format::kPaxLayout0) {
    return {std::nullopt, "",
            "a Pax layout 0.0 folder has no metadata/metadata to write the Orbax step's "
            "version 1.2 metadata from; convert a checkpoint_%08d/ step (layout 1.x)"};
  }
  if (!legacy_source.pax_metadata ||
      !legacy_source.pax_metadata->contains("train_state_metadata")) {
    return {std::nullopt, "",
            "a Pax Orbax step needs metadata/metadata version 1.2 with train_state_metadata, "
            "and this version 1.0 step has none to describe its mdl_vars"};
  }
  return {Format::kPaxOrbax, "state", ""};
}

std::string PaxContainer::describe_own_container(const exec::OutputContainer& container,
                                                 const std::string& root,
                                                 const std::string& output) const {
  if (container.format == Format::kPaxLayout0)
    return fmt::format("Pax layout 0.0, zarr v2 folders: arrays in {}/<name>/", root);
  return fmt::format("Pax layout 1.x, zarr v2 folders: arrays in {}/<name>/, {}/metadata/metadata",
                     root, output);
}

std::string PaxContainer::orbax_companion_files(const exec::OutputContainer& container) const {
  return container.format == Format::kPaxOrbax ? ", metadata/metadata (version 1.2)" : "";
}

uint64_t PaxContainer::write_index(const exec::IndexOutput& output) const {
  const checkpoint::Checkpoint& src = *output.plan.source;
  const exec::OutputContainer& container = output.container;
  std::error_code ec;
  if (container.format == Format::kPaxOrbax) {
    if (!src.pax_metadata) return 0;
    write_pax_metadata(output.plan, output.out_dir, output.fp8_arrays, kPaxOcdbtVersion);
  } else if (container.format == Format::kPaxLayout1) {
    const fs::path item_sharding = src.array_root / "_sharding";
    if (checkpoint::is_orbax_format(src.format) && fs::is_regular_file(item_sharding, ec)) {
      // A legacy Pax step keeps Orbax's _sharding in state/, copied unchanged like the legacy
      // path.
      copy_file_bytes(item_sharding, output.out_dir / container.array_root / "_sharding");
    }
    write_pax_metadata(
        output.plan, output.out_dir, output.fp8_arrays,
        checkpoint::is_orbax_format(src.format) ? std::optional(kPaxFoldersVersion) : std::nullopt);
  } else {
    return 0;  // layout 0.0: no metadata
  }
  const auto size = fs::file_size(output.out_dir / "metadata" / "metadata", ec);
  return ec ? 0 : size;
}

std::vector<std::string> PaxContainer::compare_indexes(const checkpoint::Checkpoint& expected,
                                                       const checkpoint::Checkpoint& actual) const {
  if (expected.pax_metadata && actual.pax_metadata &&
      *expected.pax_metadata != *actual.pax_metadata) {
    return {"metadata/metadata: differs from the metadata of the expected arrays"};
  }
  return {};
}

}  // namespace te::frameworks
