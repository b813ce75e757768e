#pragma once
// The container a conversion writes (--output-format): the checkpoint format of the output, where
// its arrays go inside the output folder, and whether they go into one OCDBT database. Chosen
// from the input's format and the flag, before anything is written (plan and --dry-run show it).
//
//   keep         the input's own container (the default; a pre-OCDBT Orbax step keeps its
//                per-array folders and placeholder `checkpoint`)
//   zarr         per-array zarr v2 folders with the framework's own index: T5X `checkpoint_<N>/`
//                (array folders + msgpack `checkpoint`), Pax `checkpoint_%08d/state/` +
//                `metadata/metadata` version 1.1
//   ocdbt        the Orbax layout, zarr v2 arrays in one OCDBT database: T5X
//                `checkpoint_<N>/state/`, Pax `checkpoint_%08d/state/` + `metadata/metadata`
//                version 1.2, a generic Orbax step keeps its item name
//   ocdbt-zarr3  the same with zarr3 arrays (plan/zarr_version.h makes the plan's arrays zarr3;
//                _METADATA then says use_zarr3: true)
#include <filesystem>
#include <optional>
#include <string>

#include "checkpoint/checkpoint.h"

namespace te::exec {

enum class OutputFormat { kKeep, kZarr, kOcdbt, kOcdbtZarr3 };

// The --output-format spelling; nullopt for anything else.
std::optional<OutputFormat> parse_output_format(const std::string& text);
const char* output_format_flag(OutputFormat format);

struct OutputContainer {
  checkpoint::Format format;  // the format written
  // The folder, relative to the output folder, that holds the arrays: "" (T5X, Pax layout 0),
  // "state" (Pax layout 1, Orbax T5X and Pax), the item of a generic Orbax step.
  std::filesystem::path array_root;
  bool ocdbt = false;  // arrays in one OCDBT database at array_root (the Orbax item)
  // The pre-OCDBT Orbax layout kept (--output-format=keep of such an input): one zarr v2 folder
  // per array in the item, the msgpack placeholder `checkpoint` as the index (ocdbt false).
  bool orbax_per_array_folders = false;
  bool zarr3 = false;  // the arrays are zarr3 (ocdbt-zarr3, or a zarr3 Orbax input kept)
  // The Orbax metadata (_METADATA, _sharding, array_metadatas/, _CHECKPOINT_METADATA) is written
  // from scratch: the input is not an Orbax checkpoint.
  bool orbax_from_scratch = false;
  // The input's Orbax-only files (orbax.checkpoint, commit_success.txt, _strings.json) are left
  // out: the output is a legacy checkpoint.
  bool drop_orbax_files = false;

  bool is_orbax() const { return checkpoint::is_orbax_format(format); }
  // One line for plan/--dry-run: the container and what lands where below `output`.
  std::string describe(const std::string& output) const;
};

// The container for `source` and the flag. Throws te::Error naming the flag, the input's format
// and why, when that container cannot be written for this input.
OutputContainer choose_output_container(const checkpoint::Checkpoint& source,
                                        OutputFormat requested);

// Whether the input's file or folder `relative` (a plan file copy) belongs in the output.
bool keeps_file(const OutputContainer& container, const std::filesystem::path& relative);

}  // namespace te::exec
