#include "exec/output_index.h"

#include <algorithm>

#include "checkpoint/pax_metadata.h"
#include "checkpoint/t5x_index.h"
#include "util/file.h"

namespace te::exec {

using checkpoint::T5xIndex;

namespace {

// The index T5X writes for an empty state: {"version": 3, "optimizer": {}}.
T5xIndex empty_t5x_index() {
  msgpack::Map root{{"version", int64_t{3}}, {"optimizer", msgpack::Map{}}};
  return T5xIndex::parse(msgpack::encode(root), "the new T5X index");
}

}  // namespace

void write_t5x_index(const plan::Plan& plan, const std::filesystem::path& out_dir,
                     std::shared_ptr<const kv::KvStore> inline_outputs,
                     const std::vector<WrittenArray>& fp8_arrays) {
  T5xIndex index = plan.source->t5x_index ? *plan.source->t5x_index : empty_t5x_index();
  for (const auto& job : plan.jobs) {
    for (const auto* in : job.inputs) index.remove(in->name);
  }
  for (const auto& d : plan.dropped) index.remove(d);
  for (const auto& c : plan.copies) {
    if (c.target_name != c.source->name) index.remove(c.source->name);
  }
  for (const auto& job : plan.jobs) {
    for (const auto& o : job.outputs) {
      if (!o.is_inline) {
        index.set(o.name, T5xIndex::make_spec_leaf(o.name, o.metadata));
        continue;
      }
      // Written as a zarr array of the output's inline store; back into the index as flax does.
      auto array = zarr::ZarrArray::open_with_metadata(inline_outputs, o.name + "/", o.metadata);
      index.set(o.name, checkpoint::encode_inline_array(
                            {o.metadata.shape, o.metadata.dtype, array.read_all(), 1}));
    }
  }
  for (const auto& c : plan.copies) {
    // Its leaf is untouched, unless the array came from another store (an OCDBT database): the
    // copy is a folder of the output now.
    bool from_other_store = !c.source->folder && !c.source->is_inline();
    if (c.target_name == c.source->name && !from_other_store) continue;
    if (c.source->is_inline() || c.into_index) {
      checkpoint::InlineArray value = c.source->to_inline_array();
      if (c.into_index) value.ext_type = *c.into_index;
      index.set(c.target_name, checkpoint::encode_inline_array(value));
    } else {
      index.set(c.target_name, T5xIndex::make_spec_leaf(c.target_name, c.metadata()));
    }
  }
  for (const auto& [name, meta] : fp8_arrays) index.set(name, T5xIndex::make_spec_leaf(name, meta));
  index.sort_keys();
  write_file(out_dir / "checkpoint", index.encode());
}

void write_pax_metadata(const plan::Plan& plan, const std::filesystem::path& out_dir,
                        const std::vector<WrittenArray>& fp8_arrays,
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

}  // namespace te::exec
