#pragma once
// The containers of checkpoints of no framework te-ckpt knows: a generic Orbax step or item
// (kept, or rewritten into OCDBT), a single zarr v2 array folder. They have no index of a
// framework's own: none is written, and none can be made for per-array folders.
#include "exec/container_profile.h"

namespace te::frameworks {

class GenericContainer final : public exec::ContainerProfile {
 public:
  std::filesystem::path own_array_root(checkpoint::Format) const override { return ""; }
  exec::FrameworkContainer folders_container(
      const checkpoint::Checkpoint& orbax_source) const override;
  exec::FrameworkContainer orbax_container(
      const checkpoint::Checkpoint& legacy_source) const override;
  std::string label() const override { return ""; }
  std::string describe_own_container(const exec::OutputContainer& container,
                                     const std::string& root,
                                     const std::string& output) const override;
  std::string orbax_companion_files(const exec::OutputContainer&) const override { return ""; }
  bool index_holds_inline_arrays(const exec::OutputContainer&) const override { return false; }
  exec::OrbaxTreeStyle orbax_tree_style(const exec::OutputContainer&) const override { return {}; }
  uint64_t write_index(const exec::IndexOutput&) const override { return 0; }
  std::vector<std::string> compare_indexes(const checkpoint::Checkpoint&,
                                           const checkpoint::Checkpoint&) const override {
    return {};
  }
};

}  // namespace te::frameworks
