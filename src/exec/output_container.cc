#include "exec/output_container.h"

#include <fmt/core.h>

#include "util/error.h"

namespace te::exec {

using checkpoint::Format;

std::optional<OutputFormat> parse_output_format(const std::string& text) {
  if (text == "keep") return OutputFormat::kKeep;
  if (text == "zarr") return OutputFormat::kZarr;
  if (text == "ocdbt") return OutputFormat::kOcdbt;
  if (text == "ocdbt-zarr3") return OutputFormat::kOcdbtZarr3;
  return std::nullopt;
}

const char* output_format_flag(OutputFormat format) {
  switch (format) {
    case OutputFormat::kKeep:
      return "keep";
    case OutputFormat::kZarr:
      return "zarr";
    case OutputFormat::kOcdbt:
      return "ocdbt";
    case OutputFormat::kOcdbtZarr3:
      return "ocdbt-zarr3";
  }
  return "?";
}

namespace {

OutputContainer same_container(const checkpoint::Checkpoint& source) {
  OutputContainer c;
  c.format = source.format;
  for (const auto& a : source.arrays) c.zarr3 = c.zarr3 || a.metadata.is_zarr3();
  if (source.format == Format::kPaxLayout1) c.array_root = "state";
  if (checkpoint::is_orbax_format(source.format)) {
    c.array_root = source.orbax_item;
    c.ocdbt = !source.orbax_per_array_folders;
    c.orbax_per_array_folders = source.orbax_per_array_folders;
  }
  return c;
}

[[noreturn]] void refuse(const checkpoint::Checkpoint& source, OutputFormat requested,
                         const std::string& why) {
  fail("--output-format={}: {} ({} checkpoint {})", output_format_flag(requested), why,
       checkpoint::format_name(source.format), source.path.string());
}

}  // namespace

OutputContainer choose_output_container(const checkpoint::Checkpoint& source,
                                        OutputFormat requested) {
  const Format in = source.format;
  const bool orbax_in = checkpoint::is_orbax_format(in);
  switch (requested) {
    case OutputFormat::kKeep:
      return same_container(source);
    case OutputFormat::kOcdbtZarr3: {
      OutputContainer c = choose_output_container(source, OutputFormat::kOcdbt);
      c.zarr3 = true;
      return c;
    }
    case OutputFormat::kZarr: {
      if (!orbax_in) return same_container(source);
      OutputContainer c;
      c.drop_orbax_files = true;  // zarr3 = false: per-array folders hold zarr v2
      if (in == Format::kT5xOrbax) {
        c.format = Format::kT5x;
      } else if (in == Format::kPaxOrbax) {
        c.format = Format::kPaxLayout1;
        c.array_root = "state";
      } else {
        refuse(source, requested,
               "a generic Orbax checkpoint has no framework index to write per-array folders "
               "with (zarr output is a T5X checkpoint_<N>/ or a Pax checkpoint_%08d/ step)");
      }
      return c;
    }
    case OutputFormat::kOcdbt: {
      if (orbax_in) {
        OutputContainer c = same_container(source);
        c.zarr3 = false;
        // A pre-OCDBT input has no _METADATA to rewrite: the Orbax metadata is made anew.
        c.ocdbt = true;
        c.orbax_per_array_folders = false;
        c.orbax_from_scratch = source.orbax_per_array_folders;
        return c;
      }
      OutputContainer c;
      c.ocdbt = true;
      c.orbax_from_scratch = true;
      c.array_root = "state";
      if (in == Format::kT5x) {
        c.format = Format::kT5xOrbax;
      } else if (in == Format::kPaxLayout1) {
        if (!source.pax_metadata || !source.pax_metadata->contains("train_state_metadata")) {
          refuse(source, requested,
                 "a Pax Orbax step needs metadata/metadata version 1.2 with train_state_metadata, "
                 "and this version 1.0 step has none to describe its mdl_vars");
        }
        c.format = Format::kPaxOrbax;
      } else if (in == Format::kPaxLayout0) {
        refuse(source, requested,
               "a Pax layout 0.0 folder has no metadata/metadata to write the Orbax step's "
               "version 1.2 metadata from; convert a checkpoint_%08d/ step (layout 1.x)");
      } else {
        refuse(source, requested, "a single zarr array is not a checkpoint");
      }
      return c;
    }
  }
  fail("--output-format: unknown value");
}

bool keeps_file(const OutputContainer& container, const std::filesystem::path& relative) {
  if (!container.drop_orbax_files) return true;
  const std::string name = relative.filename().string();
  return name != "orbax.checkpoint" && name != "commit_success.txt" && name != "_strings.json";
}

std::string OutputContainer::describe(const std::string& output) const {
  const std::string root = array_root.empty() ? output : output + "/" + array_root.string();
  switch (format) {
    case Format::kT5x:
      return fmt::format("T5X, zarr v2 folders: arrays in {}/<name>/, index {}/checkpoint", root,
                         output);
    case Format::kPaxLayout1:
      return fmt::format(
          "Pax layout 1.x, zarr v2 folders: arrays in {}/<name>/, {}/metadata/metadata", root,
          output);
    case Format::kPaxLayout0:
      return fmt::format("Pax layout 0.0, zarr v2 folders: arrays in {}/<name>/", root);
    case Format::kZarrArray:
      return fmt::format("zarr v2 array {}", output);
    case Format::kT5xOrbax:
    case Format::kPaxOrbax:
    case Format::kOrbax:
      if (orbax_per_array_folders) {
        return fmt::format(
            "{}Orbax without OCDBT (the pre-OCDBT layout), zarr v2 folders: arrays in "
            "{}/<name>/, index {}/checkpoint (msgpack PLACEHOLDER:// leaves)",
            format == Format::kT5xOrbax   ? "T5X, "
            : format == Format::kPaxOrbax ? "Pax, "
                                          : "",
            root, root);
      }
      return fmt::format(
          "{}, {}: arrays in one OCDBT database {}/ (manifest.ocdbt, d/), {}/_METADATA, "
          "_sharding, array_metadatas/process_0, {}/_CHECKPOINT_METADATA, commit_success.txt{}{}",
          checkpoint::format_name(format), zarr3 ? "zarr3" : "zarr v2", root, root, output,
          format == Format::kPaxOrbax ? ", metadata/metadata (version 1.2)" : "",
          orbax_from_scratch ? " (Orbax metadata written from scratch)" : "");
  }
  return "";
}

}  // namespace te::exec
