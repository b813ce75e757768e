#pragma once
// T5X's containers: a checkpoint_<N>/ folder of zarr v2 array folders with the msgpack index
// `checkpoint` (which may hold small arrays inline), or the Orbax step checkpoint_<N>/state/.
#include "exec/container_profile.h"

namespace te::frameworks {

class T5xContainer final : public exec::ContainerProfile {
 public:
  std::filesystem::path own_array_root(checkpoint::Format format) const override;
  exec::FrameworkContainer folders_container(
      const checkpoint::Checkpoint& orbax_source) const override;
  exec::FrameworkContainer orbax_container(
      const checkpoint::Checkpoint& legacy_source) const override;
  std::string label() const override { return "T5X"; }
  std::string describe_own_container(const exec::OutputContainer& container,
                                     const std::string& root,
                                     const std::string& output) const override;
  std::string orbax_companion_files(const exec::OutputContainer&) const override { return ""; }
  bool index_holds_inline_arrays(const exec::OutputContainer& container) const override;
  exec::OrbaxTreeStyle orbax_tree_style(const exec::OutputContainer&) const override {
    return {};  // flax's state dict: every component a dict key, no placeholder index
  }
  uint64_t write_index(const exec::IndexOutput& output) const override;
  // The msgpack index's leaves: each array leaf with the same dtype, shape and folder, each
  // inline array with the same dtype and shape.
  std::vector<std::string> compare_indexes(const checkpoint::Checkpoint& expected,
                                           const checkpoint::Checkpoint& actual) const override;
};

}  // namespace te::frameworks
