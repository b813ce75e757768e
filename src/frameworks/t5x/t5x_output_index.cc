#include "frameworks/t5x/t5x_output_index.h"

#include <algorithm>

#include "checkpoint/inline_array.h"
#include "checkpoint/t5x_index.h"
#include "util/file.h"

namespace te::frameworks {

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
                     const std::vector<exec::WrittenArray>& fp8_arrays) {
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

}  // namespace te::frameworks
