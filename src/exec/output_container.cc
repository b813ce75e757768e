#include "exec/output_container.h"

#include <fmt/core.h>

#include "exec/container_profile.h"
#include "util/error.h"

namespace te::exec {

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

OutputContainer same_container(const checkpoint::Checkpoint& source,
                               const ContainerProfile& profile) {
  OutputContainer c;
  c.format = source.format;
  c.profile = &profile;
  for (const auto& a : source.arrays) c.zarr3 = c.zarr3 || a.metadata.is_zarr3();
  if (checkpoint::is_orbax_format(source.format)) {
    c.array_root = source.orbax_item;
    c.ocdbt = !source.orbax_per_array_folders;
    c.orbax_per_array_folders = source.orbax_per_array_folders;
  } else {
    c.array_root = profile.own_array_root(source.format);
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
                                        OutputFormat requested, const ContainerProfile& profile) {
  const bool orbax_in = checkpoint::is_orbax_format(source.format);
  switch (requested) {
    case OutputFormat::kKeep:
      return same_container(source, profile);
    case OutputFormat::kOcdbtZarr3: {
      OutputContainer c = choose_output_container(source, OutputFormat::kOcdbt, profile);
      c.zarr3 = true;
      return c;
    }
    case OutputFormat::kZarr: {
      if (!orbax_in) return same_container(source, profile);
      const FrameworkContainer folders = profile.folders_container(source);
      if (!folders.format) refuse(source, requested, folders.refusal);
      OutputContainer c;
      c.profile = &profile;
      c.format = *folders.format;
      c.array_root = folders.array_root;
      c.drop_orbax_files = true;  // zarr3 = false: per-array folders hold zarr v2
      return c;
    }
    case OutputFormat::kOcdbt: {
      if (orbax_in) {
        OutputContainer c = same_container(source, profile);
        c.zarr3 = false;
        // A pre-OCDBT input has no _METADATA to rewrite: the Orbax metadata is made anew.
        c.ocdbt = true;
        c.orbax_per_array_folders = false;
        c.orbax_from_scratch = source.orbax_per_array_folders;
        return c;
      }
      const FrameworkContainer orbax = profile.orbax_container(source);
      if (!orbax.format) refuse(source, requested, orbax.refusal);
      OutputContainer c;
      c.profile = &profile;
      c.format = *orbax.format;
      c.array_root = orbax.array_root;
      c.ocdbt = true;
      c.orbax_from_scratch = true;
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
  if (!is_orbax()) return profile->describe_own_container(*this, root, output);
  if (orbax_per_array_folders) {
    const std::string label = profile->label();
    return fmt::format(
        "{}Orbax without OCDBT (the pre-OCDBT layout), zarr v2 folders: arrays in "
        "{}/<name>/, index {}/checkpoint (msgpack PLACEHOLDER:// leaves)",
        label.empty() ? label : label + ", ", root, root);
  }
  return fmt::format(
      "{}, {}: arrays in one OCDBT database {}/ (manifest.ocdbt, d/), {}/_METADATA, "
      "_sharding, array_metadatas/process_0, {}/_CHECKPOINT_METADATA, commit_success.txt{}{}",
      checkpoint::format_name(format), zarr3 ? "zarr3" : "zarr v2", root, root, output,
      profile->orbax_companion_files(*this),
      orbax_from_scratch ? " (Orbax metadata written from scratch)" : "");
}

}  // namespace te::exec
