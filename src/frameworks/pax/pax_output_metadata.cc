#include "frameworks/pax/pax_output_metadata.h"

#include <algorithm>
#include <map>

#include "checkpoint/pax_metadata.h"
#include "util/file.h"

namespace te::frameworks {

void write_pax_metadata(const plan::Plan& plan, const std::filesystem::path& out_dir,
                        const std::vector<exec::WrittenArray>& fp8_arrays,
                        std::optional<double> version) {
  const auto& src = *plan.source;
  std::filesystem::create_directories(out_dir / "metadata");
  nlohmann::json source_md = *src.pax_metadata;
  if (version && source_md.contains("train_state_metadata")) source_md["version"] = *version;
  if (!source_md.contains("train_state_metadata")) {  // version 1.0: nothing to describe
    copy_file_bytes(src.path / "metadata" / "metadata", out_dir / "metadata" / "metadata");
    return;
  }
  // An output leaf takes the model dtype and mask flag its source had (the stored dtype may
  // differ).
  std::map<std::string, checkpoint::PaxMetadataLeaf> source_leaves;
  for (auto& leaf : checkpoint::pax_metadata_leaves(source_md)) source_leaves[leaf.name] = leaf;
  std::vector<checkpoint::PaxMetadataLeaf> leaves;
  auto add = [&](const std::string& name, const zarr::ArrayMetadata& m, const std::string& from) {
    checkpoint::PaxMetadataLeaf leaf{name, m.dtype.name(), m.shape, false};
    if (auto it = source_leaves.find(from); it != source_leaves.end()) {
      leaf.dtype = it->second.dtype;
      leaf.masked = it->second.masked;
    }
    leaves.push_back(leaf);
  };
  for (const auto& job : plan.jobs) {
    for (const auto& o : job.outputs) add(o.name, o.metadata, job.inputs[0]->name);
  }
  for (const auto& c : plan.copies) add(c.target_name, c.source->metadata, c.source->name);
  for (const auto& [name, meta] : fp8_arrays) add(name, meta, "");
  std::sort(leaves.begin(), leaves.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  write_text_file(out_dir / "metadata" / "metadata",
                  checkpoint::python_json_dumps(checkpoint::make_pax_metadata(source_md, leaves)));
}

}  // namespace te::frameworks
