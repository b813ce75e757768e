#include "exec/orbax_output.h"

#include <map>
#include <set>

#include "checkpoint/orbax_placeholder_index.h"
#include "checkpoint/orbax_sharding.h"
#include "checkpoint/orbax_step_metadata.h"
#include "checkpoint/orbax_tree_metadata.h"
#include "util/error.h"
#include "util/file.h"

namespace te::exec {
namespace {

namespace fs = std::filesystem;
using namespace te::checkpoint;

// `_CHECKPOINT_METADATA` with a fresh commit time, when the input had one.
void write_step_metadata(const Checkpoint& src, const fs::path& out_dir);

bool path_is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// One array of the output and the source array it was made from.
struct OutputLeaf {
  std::string name;
  const ArrayEntry* source;  // nullptr: an FP8 metadata array (made from no single array)
  zarr::ArrayMetadata metadata;
  bool copied;  // unchanged copy under the same name
};

std::vector<OutputLeaf> output_leaves(const plan::Plan& plan,
                                      const std::vector<WrittenArray>& fp8_arrays) {
  std::vector<OutputLeaf> out;
  for (const auto& job : plan.jobs) {
    for (const auto& o : job.outputs) out.push_back({o.name, job.inputs[0], o.metadata, false});
  }
  for (const auto& c : plan.copies) {
    out.push_back(
        {c.target_name, c.source, c.metadata(), c.target_name == c.source->name && !c.recode_to});
  }
  for (const auto& [name, metadata] : fp8_arrays) out.push_back({name, nullptr, metadata, false});
  return out;
}

// Writes `_METADATA` and returns the key paths of its leaves, in its order.
std::vector<std::vector<std::string>> write_tree_metadata(const std::vector<OutputLeaf>& leaves,
                                                          const fs::path& in_item,
                                                          const fs::path& out_item) {
  const fs::path file = in_item / "_METADATA";
  auto tree = OrbaxTreeMetadata::parse(read_file(file), file.string());
  std::set<std::string> names;
  for (const auto& l : leaves) names.insert(l.name);
  std::vector<std::string> removed;
  for (const auto* e : tree.leaves()) {
    if (e->value_type() != "string" && !names.count(e->name())) removed.push_back(e->name());
  }
  // Value types of the sources, read before their entries go.
  std::map<std::string, std::string> source_type;
  for (const auto& l : leaves) {
    const OrbaxTreeEntry* e = l.source ? tree.find(l.source->name) : nullptr;
    source_type[l.name] = e && !e->value_type().empty() ? e->value_type() : "jax.Array";
  }
  for (const auto& n : removed) tree.remove(n);
  for (const auto& l : leaves) {
    if (l.copied && tree.find(l.name)) continue;  // unchanged leaf: its entry as it was
    // write_shape: the shape of one stored value (a zarr3 array's shard).
    auto value = OrbaxTreeMetadata::array_value_metadata(l.metadata.stored_chunk_shape(),
                                                         source_type[l.name]);
    if (tree.find(l.name)) {
      tree.set_value_metadata(l.name, std::move(value));
    } else {
      tree.add(l.name, std::move(value));
    }
  }
  // The zarr version written (the source's, unless --output-format changed it).
  bool zarr3 = false;
  for (const auto& l : leaves) zarr3 = zarr3 || l.metadata.is_zarr3();
  if (!leaves.empty() && zarr3 != tree.use_zarr3()) tree.set_flag("use_zarr3", zarr3);
  write_text_file(out_item / "_METADATA", tree.emit());
  std::vector<std::vector<std::string>> paths;
  for (const auto* e : tree.leaves()) {
    std::vector<std::string> path;
    for (const auto& k : e->keys) path.push_back(k.name);
    paths.push_back(std::move(path));
  }
  return paths;
}

// The msgpack placeholder `checkpoint` (Orbax < 0.5.21 reads it first): rewritten to the same
// tree as the new `_METADATA`, only when the input had one.
void write_placeholder_index(const std::vector<std::vector<std::string>>& paths,
                             const fs::path& in_item, const fs::path& out_item) {
  const fs::path file = in_item / "checkpoint";
  auto index = OrbaxPlaceholderIndex::parse(read_file(file), file.string());
  index.rewrite(paths);
  write_file(out_item / "checkpoint", index.encode());
}

void write_sharding(const std::vector<OutputLeaf>& leaves, const fs::path& in_item,
                    const fs::path& out_item) {
  const fs::path file = in_item / "_sharding";
  if (!path_is_file(file)) return;
  const auto source = OrbaxSharding::parse(read_file(file), file.string());
  OrbaxSharding out = source;
  std::set<std::string> names;
  for (const auto& l : leaves) names.insert(l.name);
  for (const auto& e : source.entries()) {
    if (!names.count(e.name)) out.remove(e.name);
  }
  for (const auto& l : leaves) {
    if (l.copied && source.find(l.name)) continue;
    auto entry =
        l.source ? source.derive_entry(l.source->name, l.source->metadata.shape, l.metadata.shape)
                 : source.replicated_entry();
    if (!entry) return;  // no safe entry for this array: no file at all (see the header)
    out.set(l.name, *entry);
  }
  write_text_file(out_item / "_sharding", out.emit());
}

void write_array_metadatas(const std::vector<OutputLeaf>& leaves, const fs::path& in_item,
                           const fs::path& out_item) {
  const fs::path file = in_item / "array_metadatas" / "process_0";
  if (!path_is_file(file)) return;
  auto source = OrbaxArrayMetadatas::parse(read_file(file), file.string());
  OrbaxArrayMetadatas out = source;
  std::set<std::string> names;
  for (const auto& l : leaves) names.insert(l.name);
  for (const auto& e : source.entries()) {
    if (!names.count(e.param_name)) out.remove(e.param_name);
  }
  for (const auto& l : leaves) {
    if (l.copied && source.find(l.name)) continue;
    std::optional<OrbaxArrayMetadataEntry> from;
    if (l.source) from = source.find(l.source->name);
    out.set({l.name, l.metadata.stored_chunk_shape(), l.metadata.chunks,
             from ? from->ext_metadata : nlohmann::ordered_json(nullptr)});
  }
  fs::create_directories(out_item / "array_metadatas");
  write_text_file(out_item / "array_metadatas" / "process_0", out.emit());
}

}  // namespace

void write_orbax_metadata(const plan::Plan& plan, const fs::path& out_dir,
                          const std::vector<WrittenArray>& fp8_arrays) {
  const Checkpoint& src = *plan.source;
  const fs::path out_item = out_dir / src.orbax_item;
  const auto leaves = output_leaves(plan, fp8_arrays);
  const auto paths = write_tree_metadata(leaves, src.array_root, out_item);
  if (src.orbax_placeholder_index) write_placeholder_index(paths, src.array_root, out_item);
  write_sharding(leaves, src.array_root, out_item);
  write_array_metadatas(leaves, src.array_root, out_item);
  write_step_metadata(src, out_dir);
  if (!path_is_file(out_dir / "commit_success.txt")) {
    write_text_file(out_dir / "commit_success.txt", "Checkpoint commit was successful.");
  }
}

void write_orbax_folders_index(const plan::Plan& plan, const fs::path& out_dir,
                               const std::vector<WrittenArray>& fp8_arrays) {
  const Checkpoint& src = *plan.source;
  const fs::path file = src.array_root / "checkpoint";
  auto index = OrbaxPlaceholderIndex::parse(read_file(file), file.string());
  std::map<std::string, std::vector<std::string>> path_of;
  for (auto& leaf : index.leaves()) path_of[leaf.name] = leaf.path;
  std::vector<std::vector<std::string>> paths;
  for (const auto& l : output_leaves(plan, fp8_arrays)) {
    if (auto it = path_of.find(l.name); it != path_of.end()) {
      paths.push_back(it->second);
      continue;
    }
    std::vector<std::string> path;
    size_t start = 0;
    for (size_t dot; (dot = l.name.find('.', start)) != std::string::npos; start = dot + 1)
      path.push_back(l.name.substr(start, dot - start));
    path.push_back(l.name.substr(start));
    paths.push_back(std::move(path));
  }
  index.rewrite(paths);
  write_file(out_dir / src.orbax_item / "checkpoint", index.encode());
  write_step_metadata(src, out_dir);
}

namespace {

void write_step_metadata(const Checkpoint& src, const fs::path& out_dir) {
  const fs::path step_metadata = src.path / "_CHECKPOINT_METADATA";
  if (path_is_file(step_metadata)) {
    auto md = OrbaxCheckpointMetadata::parse(read_file(step_metadata), step_metadata.string());
    md.set_commit_timestamp_nsecs(unix_time_nsecs());
    write_text_file(out_dir / "_CHECKPOINT_METADATA", md.emit());
  }
}

}  // namespace

}  // namespace te::exec
