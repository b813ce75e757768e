#include "kvstore/ocdbt/ocdbt_store.h"

#include <algorithm>
#include <map>
#include <set>

#include "kvstore/file/file_store.h"
#include "kvstore/ocdbt/format/btree_node.h"
#include "kvstore/ocdbt/format/envelope.h"
#include "util/error.h"

namespace te::kv {
namespace {

using namespace te::ocdbt;

constexpr const char* kManifestKey = "manifest.ocdbt";

std::string display_location(const KvStore& base) {
  if (auto* files = dynamic_cast<const FileStore*>(&base)) return files->root().string();
  return base.location();
}

// An owned copy of a (small) inline value.
class OwnedSource : public ByteSource {
 public:
  OwnedSource(Bytes bytes, std::string name) : bytes_(std::move(bytes)), name_(std::move(name)) {}
  std::span<const std::byte> next() override {
    if (done_) return {};
    done_ = true;
    return bytes_;
  }
  const std::string& name() const override { return name_; }

 private:
  Bytes bytes_;
  std::string name_;
  bool done_ = false;
};

// Adds the key's description to errors of the underlying source.
class ContextSource : public ByteSource {
 public:
  ContextSource(std::unique_ptr<ByteSource> inner, std::string name)
      : inner_(std::move(inner)), name_(std::move(name)) {}
  std::span<const std::byte> next() override {
    try {
      return inner_->next();
    } catch (const Error& e) {
      fail("cannot read {}: {}", name_, e.what());
    }
  }
  const std::string& name() const override { return name_; }

 private:
  std::unique_ptr<ByteSource> inner_;
  std::string name_;
};

Bytes read_object(const KvStore& base, const IndirectDataReference& ref, const std::string& what,
                  const std::string& referrer) {
  std::string path = ref.file.path();
  check_data_file_path(path, referrer);
  if (ref.length > kMaxDecodedBodyBytes)
    fail("corrupt OCDBT {}: {} at {} offset {} has length {}, more than the {} bytes allowed",
         referrer, what, path, ref.offset, ref.length, kMaxDecodedBodyBytes);
  try {
    return base.read_all(path, {ref.offset, ref.length});
  } catch (const Error& e) {
    fail("cannot read the {} that {} references ({} offset {} length {}): {}", what, referrer, path,
         ref.offset, ref.length, e.what());
  }
}

std::string object_source(const KvStore& base, const char* what, const IndirectDataReference& r) {
  return fmt::format("{} {}/{} [offset {}, length {}]", what, display_location(base), r.file.path(),
                     r.offset, r.length);
}

// Reads the manifest; for the numbered kind, the newest manifest.<16 hex>.
Manifest read_manifest(const KvStore& base, std::string& manifest_name) {
  manifest_name = display_location(base) + "/" + kManifestKey;
  if (!base.size(kManifestKey))
    fail("no OCDBT database at {}: {} not found", display_location(base), kManifestKey);
  Manifest m = decode_manifest(base.read_all(kManifestKey), "manifest " + manifest_name);
  if (m.config.manifest_kind == ManifestKind::kSingle) return m;
  std::string newest;
  for (const auto& e : base.list("manifest.")) {
    std::string_view digits = std::string_view(e.key).substr(9);
    if (digits.size() != 16 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }) ||
        digits == "0000000000000000")
      continue;
    newest = std::max(newest, e.key);
  }
  if (newest.empty())
    fail(
        "corrupt OCDBT database {}: manifest.ocdbt says the numbered kind, but no "
        "manifest.<16 hex digits> exists",
        display_location(base));
  manifest_name = display_location(base) + "/" + newest;
  Manifest full = decode_manifest(base.read_all(newest), "manifest " + manifest_name);
  if (full.versions.empty())
    fail("corrupt OCDBT manifest {}: expected a full manifest with versions, found only a config",
         manifest_name);
  return full;
}

// Finds generation `wanted`: inline, or down the version tree.
BtreeGenerationReference find_generation(const KvStore& base, const Manifest& m, uint64_t wanted,
                                         const std::string& manifest_name) {
  for (auto& v : m.versions)
    if (v.generation_number == wanted) return v;
  auto not_found = [&]() -> BtreeGenerationReference {
    fail("OCDBT database {} has no generation {} (latest: {})", display_location(base), wanted,
         m.versions.back().generation_number);
  };
  std::optional<VersionNodeReference> next;
  for (auto& n : m.version_nodes)
    if (n.generation_number >= wanted) {
      next = n;
      break;
    }
  std::string referrer = "manifest " + manifest_name;
  std::set<std::pair<std::string, uint64_t>> seen;
  while (next) {
    VersionNodeReference ref = *next;
    if (!seen.insert({ref.location.file.path(), ref.location.offset}).second)
      fail("corrupt OCDBT {}: version-tree node {} offset {} is referenced twice", referrer,
           ref.location.file.path(), ref.location.offset);
    std::string source = object_source(base, "version-tree node", ref.location);
    Bytes object = read_object(base, ref.location, "version-tree node", referrer);
    VersionTreeNode node =
        decode_version_tree_node(decode_envelope(object, kVersionTreeNodeMagic, source), source,
                                 ref.location.file.base_path);
    if (node.height != ref.height ||
        node.version_tree_arity_log2 != m.config.version_tree_arity_log2)
      fail("corrupt OCDBT {}: expected height {} and arity log2 {}, found {} and {}", source,
           ref.height, m.config.version_tree_arity_log2, node.height, node.version_tree_arity_log2);
    if (node.height == 0) {
      for (auto& v : node.versions)
        if (v.generation_number == wanted) return v;
      return not_found();
    }
    next.reset();
    for (auto& c : node.children)
      if (c.generation_number >= wanted) {
        next = c;
        break;
      }
    referrer = source;
  }
  return not_found();
}

// Walks a B+tree into the index, checking heights, key order and that no node is visited twice.
class TreeWalker {
 public:
  TreeWalker(const KvStore& base, std::vector<OcdbtStore::Entry>& index,
             std::vector<std::string>& files)
      : base_(base), index_(index), files_(files) {}

  void visit(const IndirectDataReference& ref, uint8_t height, const std::string& prefix,
             const std::string& min_key, const std::string& referrer) {
    if (!seen_.insert({ref.file.path(), ref.offset}).second)
      fail("corrupt OCDBT {}: B+tree node {} offset {} is referenced twice", referrer,
           ref.file.path(), ref.offset);
    std::string source = object_source(base_, "B+tree node", ref);
    Bytes object = read_object(base_, ref, "B+tree node", referrer);
    BtreeNode node = decode_btree_node(decode_envelope(object, kBtreeNodeMagic, source), source,
                                       ref.file.base_path);
    if (node.height != height)
      fail("corrupt OCDBT {}: expected a node of height {} (as {} says), found height {}", source,
           height, referrer, node.height);
    const std::string& first =
        height == 0 ? node.leaf_entries.front().key : node.interior_entries.front().key;
    if (prefix + first < min_key)
      fail("corrupt OCDBT {}: its first key sorts before the key that {} gives it", source,
           referrer);
    if (height == 0) {
      for (auto& e : node.leaf_entries) add(prefix + e.key, e, source);
      return;
    }
    for (auto& e : node.interior_entries) {
      std::string entry_key = prefix + e.key;
      visit(e.node.location, static_cast<uint8_t>(height - 1),
            prefix + e.key.substr(0, e.subtree_common_prefix_length), entry_key, source);
    }
  }

 private:
  void add(std::string key, LeafNodeEntry& e, const std::string& source) {
    key_bytes_ += key.size();
    if (key_bytes_ > kMaxIndexKeyBytes)
      fail("OCDBT {}: the database's keys total more than {} bytes; te-ckpt refuses to index it",
           source, kMaxIndexKeyBytes);
    if (!index_.empty() && !(index_.back().key < key))
      fail("corrupt OCDBT {}: invalid key order: key '{}' does not sort after '{}'", source,
           printable_key(key), printable_key(index_.back().key));
    OcdbtStore::Entry entry;
    entry.key = std::move(key);
    if (auto* b = std::get_if<Bytes>(&e.value)) {
      entry.length = b->size();
      entry.inline_value = std::move(*b);
    } else {
      auto& r = std::get<IndirectDataReference>(e.value);
      std::string path = r.file.path();
      check_data_file_path(path, source);
      auto [it, added] = file_ids_.try_emplace(path, static_cast<uint32_t>(files_.size()));
      if (added) files_.push_back(path);
      entry.file = it->second;
      entry.offset = r.offset;
      entry.length = r.length;
    }
    index_.push_back(std::move(entry));
  }

  const KvStore& base_;
  std::vector<OcdbtStore::Entry>& index_;
  std::vector<std::string>& files_;
  std::map<std::string, uint32_t> file_ids_;
  std::set<std::pair<std::string, uint64_t>> seen_;
  size_t key_bytes_ = 0;
  static constexpr size_t kMaxIndexKeyBytes = size_t{4} << 30;
};

}  // namespace

void check_data_file_path(const std::string& path, const std::string& referrer) {
  auto bad = [&](const char* why) {
    fail("corrupt OCDBT {}: data file path '{}' {}; data files must lie inside the database folder",
         referrer, path, why);
  };
  if (path.empty()) bad("is empty");
  if (path.front() == '/') bad("is absolute");
  if (path.find('\0') != std::string::npos) bad("contains a NUL byte");
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    if (path.compare(start, end == std::string::npos ? std::string::npos : end - start, "..") == 0)
      bad("has a '..' component");
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

bool is_ocdbt_database(const KvStore& base) {
  return base.size(kManifestKey).has_value();
}

OcdbtStore::OcdbtStore(std::shared_ptr<const KvStore> base, Manifest manifest,
                       BtreeGenerationReference version, std::vector<Entry> index,
                       std::vector<std::string> files)
    : base_(std::move(base)),
      manifest_(std::move(manifest)),
      version_(std::move(version)),
      index_(std::move(index)),
      files_(std::move(files)) {}

std::shared_ptr<OcdbtStore> OcdbtStore::open(std::shared_ptr<const KvStore> base,
                                             OcdbtOpenOptions options) {
  std::string manifest_name;
  Manifest m = read_manifest(*base, manifest_name);
  BtreeGenerationReference version =
      options.generation ? find_generation(*base, m, *options.generation, manifest_name)
                         : m.versions.back();
  std::vector<Entry> index;
  std::vector<std::string> files;
  if (!version.root.location.is_missing()) {
    TreeWalker walker(*base, index, files);
    walker.visit(
        version.root.location, version.root_height, "", "",
        fmt::format("manifest {} (generation {})", manifest_name, version.generation_number));
  }
  return std::make_shared<OcdbtStore>(std::move(base), std::move(m), std::move(version),
                                      std::move(index), std::move(files));
}

const OcdbtStore::Entry* OcdbtStore::find(std::string_view key) const {
  auto it = std::lower_bound(index_.begin(), index_.end(), key,
                             [](const Entry& e, std::string_view k) { return e.key < k; });
  if (it == index_.end() || it->key != key) return nullptr;
  return &*it;
}

std::optional<uint64_t> OcdbtStore::size(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return std::nullopt;
  return e->length;
}

std::unique_ptr<ByteSource> OcdbtStore::read(std::string_view key, ByteRange range) const {
  const Entry* e = find(key);
  if (!e) fail("{} not found", describe(key));
  uint64_t length = range.length ? *range.length : e->length - std::min(range.offset, e->length);
  if (range.offset > e->length || length > e->length - range.offset)
    fail("{} is {} bytes, too short for the range [{}, {}+{})", describe(key), e->length,
         range.offset, range.offset, length);
  if (e->file == Entry::kInline) {
    auto begin = e->inline_value.begin() + static_cast<ptrdiff_t>(range.offset);
    return std::make_unique<OwnedSource>(Bytes(begin, begin + static_cast<ptrdiff_t>(length)),
                                         describe(key));
  }
  std::string name = describe(key);
  try {
    return std::make_unique<ContextSource>(
        base_->read(files_[e->file], {e->offset + range.offset, length}), name);
  } catch (const Error& err) {
    fail("cannot read {}: {}", name, err.what());
  }
}

std::vector<KeyEntry> OcdbtStore::list(std::string_view prefix) const {
  std::vector<KeyEntry> out;
  auto it = std::lower_bound(index_.begin(), index_.end(), prefix,
                             [](const Entry& e, std::string_view k) { return e.key < k; });
  for (; it != index_.end() && it->key.compare(0, prefix.size(), prefix) == 0; ++it)
    out.push_back({it->key, it->length});
  return out;
}

std::string OcdbtStore::describe(std::string_view key) const {
  std::string s = fmt::format("OCDBT {} key '{}'", display_location(*base_), printable_key(key));
  if (const Entry* e = find(key)) {
    if (e->file == Entry::kInline)
      s += fmt::format(" (inline, {} bytes)", e->length);
    else
      s += fmt::format(" (data file {}, offset {}, length {})", files_[e->file], e->offset,
                       e->length);
  }
  return s;
}

std::string OcdbtStore::location() const {
  return "OCDBT " + display_location(*base_);
}

}  // namespace te::kv
