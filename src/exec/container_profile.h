#pragma once
// What exec/ needs to know about one framework's checkpoint containers, behind one interface:
// exec/ names no framework. Each framework implements it once (src/frameworks/), plus one
// implementation for checkpoints of no framework (a generic Orbax step, a single zarr array); the
// command line picks the profile of the input's format and passes it in (OutputContainer::profile,
// compare_checkpoints). Every output container of a conversion belongs to the input's profile.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "exec/fp8_arrays.h"
#include "exec/orbax_metadata_from_scratch.h"
#include "kvstore/kvstore.h"
#include "plan/plan.h"

namespace te::exec {

struct OutputContainer;

// The framework's part of a container choice: the format written and the folder of its arrays
// (relative to the output folder), or, with `format` nullopt, why this input cannot be written
// so: a clause for "--output-format=<flag>: <refusal> (<input format> checkpoint <path>)".
struct FrameworkContainer {
  std::optional<checkpoint::Format> format;
  std::filesystem::path array_root;
  std::string refusal;
};

// What a profile's index writer gets, once every array of the output is in place (FP8 metadata
// included) and, for an Orbax container, after the Orbax metadata.
struct IndexOutput {
  const plan::Plan& plan;
  const std::filesystem::path& out_dir;
  const OutputContainer& container;
  // The plan's inline outputs (OutputArray::is_inline) when index_holds_inline_arrays(), each a
  // zarr array under "<name>/"; an empty store otherwise.
  std::shared_ptr<const kv::KvStore> inline_outputs;
  const std::vector<WrittenArray>& fp8_arrays;
};

class ContainerProfile {
 public:
  virtual ~ContainerProfile() = default;

  // The folder, relative to the checkpoint folder, that holds the arrays of a container of this
  // profile's non-Orbax `format` ("" when the arrays lie in the checkpoint folder itself).
  virtual std::filesystem::path own_array_root(checkpoint::Format format) const = 0;
  // --output-format=zarr of an Orbax input of this profile: the framework's own container of
  // per-array zarr v2 folders with its index, or why there is none.
  virtual FrameworkContainer folders_container(
      const checkpoint::Checkpoint& orbax_source) const = 0;
  // --output-format=ocdbt of a non-Orbax input of this profile: the Orbax format written (its
  // arrays in one OCDBT database, Orbax metadata made from scratch), or why it cannot be.
  virtual FrameworkContainer orbax_container(const checkpoint::Checkpoint& legacy_source) const = 0;

  // The framework's name in container descriptions, "" for none.
  virtual std::string label() const = 0;
  // One line for a non-Orbax container of this profile: its format and what lands where below
  // `output` (`root`: the folder of its arrays, `output` joined with the array root).
  virtual std::string describe_own_container(const OutputContainer& container,
                                             const std::string& root,
                                             const std::string& output) const = 0;
  // What the framework writes beside an Orbax container's item (write_index), as a description
  // suffix (", <file> (...)"), or "".
  virtual std::string orbax_companion_files(const OutputContainer& container) const = 0;

  // Whether the container's index holds arrays inline (OutputArray::is_inline): they are then
  // written to a memory store handed to write_index, and inline source arrays copied unchanged
  // stay in the index; otherwise every array is a zarr array of the output's store.
  virtual bool index_holds_inline_arrays(const OutputContainer& container) const = 0;
  // How Orbax metadata written from scratch (OutputContainer::orbax_from_scratch) spells the
  // container's tree.
  virtual OrbaxTreeStyle orbax_tree_style(const OutputContainer& container) const = 0;
  // Writes the framework's own index and metadata files of `output.container` (none for a
  // container that has none; never called for the pre-OCDBT Orbax layout, whose placeholder
  // index exec writes). Returns the bytes of the index files written (files copied unchanged
  // not counted).
  virtual uint64_t write_index(const IndexOutput& output) const = 0;

  // The differences between the index entries of two checkpoints of this profile (`expected`
  // made by a conversion, `actual` on disk), one line each: the same entries, each describing
  // the same array (dtype, shape). Arrays, their values and other files are
  // compare_checkpoints' business.
  virtual std::vector<std::string> compare_indexes(const checkpoint::Checkpoint& expected,
                                                   const checkpoint::Checkpoint& actual) const = 0;
};

}  // namespace te::exec
