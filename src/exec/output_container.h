#pragma once
// The container a conversion writes (--output-format): the checkpoint format of the output, where
// its arrays go inside the output folder, and whether they go into one OCDBT database. Chosen
// from the input's format and the flag, before anything is written (plan and --dry-run show it),
// with the input's ContainerProfile (exec/container_profile.h) for what depends on the framework.
//
//   keep         the input's own container (the default; a pre-OCDBT Orbax step keeps its
//                per-array folders and placeholder `checkpoint`)
//   zarr         per-array zarr v2 folders with the framework's own index (the profile's
//                folders_container for an Orbax input)
//   ocdbt        the Orbax layout, zarr v2 arrays in one OCDBT database (the profile's
//                orbax_container for a non-Orbax input; an Orbax step keeps its item name)
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

class ContainerProfile;

struct OutputContainer {
  checkpoint::Format format;  // the format written
  // The input's profile, which writes the container's own index (never null once chosen; lives
  // for the program).
  const ContainerProfile* profile = nullptr;
  // The folder, relative to the output folder, that holds the arrays: "" where they lie in the
  // output folder itself, the profile's folder of a framework container, the Orbax item.
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

// The container for `source` and the flag, `profile` being the profile of the input's format.
// Throws te::Error naming the flag, the input's format and why, when that container cannot be
// written for this input.
OutputContainer choose_output_container(const checkpoint::Checkpoint& source,
                                        OutputFormat requested, const ContainerProfile& profile);

// Whether the input's file or folder `relative` (a plan file copy) belongs in the output.
bool keeps_file(const OutputContainer& container, const std::filesystem::path& relative);

}  // namespace te::exec
