#pragma once
// Pax's containers: a layout 0.0 folder of zarr v2 array folders, a checkpoint_%08d/ step
// (layout 1.x: state/ holds the array folders, metadata/metadata describes mdl_vars), or the
// Orbax step checkpoint_%08d/state/ with metadata/metadata version 1.2 beside it.
#include "exec/container_profile.h"

namespace te::frameworks {

class PaxContainer final : public exec::ContainerProfile {
 public:
  std::filesystem::path own_array_root(checkpoint::Format format) const override;
  exec::FrameworkContainer folders_container(
      const checkpoint::Checkpoint& orbax_source) const override;
  exec::FrameworkContainer orbax_container(
      const checkpoint::Checkpoint& legacy_source) const override;
  std::string label() const override { return "Pax"; }
  std::string describe_own_container(const exec::OutputContainer& container,
                                     const std::string& root,
                                     const std::string& output) const override;
  std::string orbax_companion_files(const exec::OutputContainer& container) const override;
  bool index_holds_inline_arrays(const exec::OutputContainer&) const override { return false; }
  // Praxis saves its TrainState, whose opt_states is a list: decimal components are list
  // indices; its pinned Orbax 0.5.6 reads the placeholder `checkpoint` first.
  exec::OrbaxTreeStyle orbax_tree_style(const exec::OutputContainer&) const override {
    return {.decimal_components_are_list_indices = true, .placeholder_index = true};
  }
  uint64_t write_index(const exec::IndexOutput& output) const override;
  // metadata/metadata: the same JSON.
  std::vector<std::string> compare_indexes(const checkpoint::Checkpoint& expected,
                                           const checkpoint::Checkpoint& actual) const override;
};

}  // namespace te::frameworks
