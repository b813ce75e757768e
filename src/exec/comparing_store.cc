#include "exec/comparing_store.h"

#include <fmt/core.h>

#include <algorithm>

#include "kvstore/memory/memory_store.h"
#include "util/error.h"
#include "zarr/array.h"
#include "zarr/v3_metadata.h"

namespace te::exec {
namespace {

bool is_metadata_key(std::string_view key) {
  const size_t slash = key.rfind('/');
  const std::string_view leaf = slash == std::string_view::npos ? key : key.substr(slash + 1);
  return leaf == ".zarray" || leaf == ".zattrs" || leaf == ".zgroup" || leaf == "zarr.json";
}

// The grid position of the stored value `key` (relative to its array's prefix) of `m`: a chunk
// (zarr v2, unsharded zarr3) or a shard. nullopt when `key` is no such key: the position read
// from its numbers must give back `key` under the array's own key encoding.
std::optional<Shape> stored_value_position(const zarr::ArrayMetadata& m, const std::string& key) {
  Shape position;
  for (size_t at = 0; m.shape.size() > position.size() && at <= key.size();) {
    while (at < key.size() && (key[at] < '0' || key[at] > '9')) ++at;  // "c", separators
    size_t end = at;
    while (end < key.size() && key[end] >= '0' && key[end] <= '9') ++end;
    if (end == at || end - at > 18) return std::nullopt;
    position.push_back(std::stoll(key.substr(at, end - at)));
    at = end;
  }
  const std::string canonical =
      m.v3 ? m.v3->chunk_key_encoding.key(position) : m.chunk_key(position);
  if (canonical != key) return std::nullopt;
  return position;
}

// A store holding one value: `key` reads as `source_key` of `source` (a value copied from another
// store, compared without reading it whole).
class OneValueStore final : public kv::KvStore {
 public:
  OneValueStore(const kv::KvStore& source, std::string source_key, std::string key)
      : source_(source), source_key_(std::move(source_key)), key_(std::move(key)) {}
  std::optional<uint64_t> size(std::string_view key) const override {
    return key == key_ ? source_.size(source_key_) : std::nullopt;
  }
  std::unique_ptr<ByteSource> read(std::string_view key, kv::ByteRange range) const override {
    if (key != key_) fail("{}: internal error: no such value", describe(key));
    return source_.read(source_key_, range);
  }
  std::vector<kv::KeyEntry> list(std::string_view prefix) const override {
    auto s = size(key_);
    if (!s || key_.compare(0, prefix.size(), prefix) != 0) return {};
    return {{key_, *s}};
  }
  std::string describe(std::string_view key) const override {
    return key == key_ ? source_.describe(source_key_) : kv::printable_key(key);
  }
  std::string location() const override { return source_.location(); }

 private:
  const kv::KvStore& source_;
  std::string source_key_;
  std::string key_;
};

// Buffers one written value; on close, a metadata value goes to the inner store and a chunk is
// compared.
class ComparingSink final : public kv::ValueSink {
 public:
  ComparingSink(ComparingStore& store, std::string key)
      : store_(store), key_(std::move(key)), name_(key_) {}
  void write(std::span<const std::byte> data) override {
    value_.insert(value_.end(), data.begin(), data.end());
  }
  const std::string& name() const override { return name_; }
  uint64_t close() override {
    auto memory = std::make_shared<kv::MemoryStore>("the expected conversion");
    const uint64_t n = value_.size();
    memory->put(key_, std::move(value_));
    store_.compare_value(key_, std::move(memory));
    return n;
  }

 private:
  ComparingStore& store_;
  std::string key_;
  std::string name_;
  Bytes value_;
};

// Compares executor chunk `c` of `expected` (its metadata is the comparison's) with the same box
// of `actual` (same dtype and shape); returns the problem line or "", and adds the decoded bytes
// compared to `bytes`. A whole chunk of two arrays with the same chunks is streamed slab by slab
// (memory: two slabs); any other box is read whole from both.
std::string compare_chunk(const std::string& name, const zarr::ZarrArray& expected,
                          const zarr::ZarrArray& actual, const Shape& c, uint64_t& bytes) {
  const zarr::ArrayMetadata& m = expected.metadata();
  const zarr::Box box = zarr::chunk_box(m, c);
  const size_t item = m.dtype.itemsize;
  size_t n = item;
  for (int64_t s : box.size) n *= static_cast<size_t>(s);
  bytes += n;
  if (actual.metadata().chunks == m.chunks && box.size == m.chunks) {
    constexpr size_t kSlabBytes = size_t{1} << 20;
    const size_t slab = std::max(item, kSlabBytes / item * item);
    Bytes want(std::min(slab, n)), got(want.size());
    auto want_reader = expected.open_chunk(c);
    auto got_reader = actual.open_chunk(c);
    for (size_t at = 0; at < n; at += want.size()) {
      const size_t len = std::min(want.size(), n - at);
      want_reader->read(std::span(want).first(len));
      got_reader->read(std::span(got).first(len));
      std::string problem = first_difference(name, box, std::span(want).first(len),
                                             std::span(got).first(len), item, at / item);
      if (!problem.empty()) return problem;
    }
    want_reader->finish();
    got_reader->finish();
    return "";
  }
  Bytes want(n), got(n);
  expected.read_region(box, want);
  actual.read_region(box, got);
  return first_difference(name, box, want, got, item);
}

// Writes a metadata value to the inner store and keeps a copy of it (an OCDBT writer's values
// cannot be read before its commit).
class MetadataSink final : public kv::ValueSink {
 public:
  MetadataSink(std::unique_ptr<kv::ValueSink> inner, kv::MemoryStore& copies, std::string key)
      : inner_(std::move(inner)), copies_(copies), key_(std::move(key)) {}
  void write(std::span<const std::byte> data) override {
    inner_->write(data);
    value_.insert(value_.end(), data.begin(), data.end());
  }
  const std::string& name() const override { return inner_->name(); }
  uint64_t close() override {
    const uint64_t n = inner_->close();
    copies_.put(key_, std::move(value_));
    return n;
  }

 private:
  std::unique_ptr<kv::ValueSink> inner_;
  kv::MemoryStore& copies_;
  std::string key_;
  Bytes value_;
};

}  // namespace

ComparingStore::ComparingStore(std::shared_ptr<kv::KvStore> inner,
                               const checkpoint::Checkpoint& actual,
                               std::map<std::string, zarr::ArrayMetadata> planned)
    : inner_(std::move(inner)), planned_(std::move(planned)) {
  for (const auto& a : actual.arrays) actual_[a.name] = &a;
}

std::unique_ptr<kv::ValueSink> ComparingStore::write(std::string_view key,
                                                     kv::WriteOptions options) {
  if (is_metadata_key(key)) {
    return std::make_unique<MetadataSink>(inner_->write(key, options), *metadata_,
                                          std::string(key));
  }
  return std::make_unique<ComparingSink>(*this, std::string(key));
}

uint64_t ComparingStore::copy_from(const KvStore& src, std::string_view src_key,
                                   std::string_view dst_key) {
  if (is_metadata_key(dst_key)) {
    metadata_->put(dst_key, src.read_all(src_key));
    return inner_->copy_from(src, src_key, dst_key);
  }
  // The source store outlives the call; the view does not escape it.
  auto view = std::make_shared<OneValueStore>(src, std::string(src_key), std::string(dst_key));
  compare_value(std::string(dst_key), std::move(view));
  return src.size(src_key).value_or(0);
}

std::optional<ComparingStore::Target> ComparingStore::target_of(const std::string& key) {
  // The array is the shortest '/'-ended prefix of the key that names one.
  for (size_t slash = key.find('/'); slash != std::string::npos; slash = key.find('/', slash + 1)) {
    const std::string name = key.substr(0, slash);
    {
      std::lock_guard lock(mutex_);
      if (auto it = written_.find(name); it != written_.end()) return Target{name, it->second};
    }
    if (metadata_->size(name + "/.zarray") || metadata_->size(name + "/zarr.json")) {
      zarr::ArrayMetadata metadata = zarr::ZarrArray::open(metadata_, name + "/").metadata();
      std::lock_guard lock(mutex_);
      written_.emplace(name, metadata);
      return Target{name, std::move(metadata)};
    }
    if (auto it = planned_.find(name); it != planned_.end()) return Target{name, it->second};
  }
  return std::nullopt;
}

void ComparingStore::compare_value(const std::string& key,
                                   std::shared_ptr<const kv::KvStore> value) {
  const auto target = target_of(key);
  if (!target) fail("internal error: the expected conversion wrote {}, of no array", key);
  const zarr::ArrayMetadata& m = target->metadata;
  const std::string prefix = target->name + "/";
  const auto position = stored_value_position(m, key.substr(prefix.size()));
  if (!position) {
    fail("internal error: the expected conversion wrote {}, not a chunk key of {}", key,
         target->name);
  }
  auto it = actual_.find(target->name);
  if (it == actual_.end() || !(it->second->metadata.dtype == m.dtype) ||
      it->second->metadata.shape != m.shape) {
    return;  // compare_checkpoints() reports it
  }
  {
    std::lock_guard lock(mutex_);
    if (compared_.problems.count(target->name)) return;
  }
  const zarr::ZarrArray expected = zarr::ZarrArray::open_with_metadata(std::move(value), prefix, m);
  const zarr::ZarrArray actual = it->second->open();
  // The executor chunks of the stored value (one, or the inner chunks of a shard).
  const Shape& cell = m.v3 ? m.v3->chunk_shape : m.chunks;
  zarr::Box stored{Shape(m.shape.size()), Shape(m.shape.size())};
  for (size_t d = 0; d < m.shape.size(); ++d) {
    stored.start[d] = (*position)[d] * cell[d];
    if (stored.start[d] >= m.shape[d]) {
      fail("internal error: the expected conversion wrote {}, outside {}", key, target->name);
    }
    stored.size[d] = std::min(cell[d], m.shape[d] - stored.start[d]);
  }
  std::vector<Shape> done;
  uint64_t bytes = 0;
  std::string problem;
  zarr::for_each_chunk_in_box(m, stored, [&](const Shape& c) {
    if (!problem.empty()) return;
    problem = compare_chunk(target->name, expected, actual, c, bytes);
    done.push_back(c);
  });
  std::lock_guard lock(mutex_);
  compared_.bytes += bytes;
  if (!problem.empty()) {
    compared_.problems.emplace(target->name, problem);
    return;
  }
  auto& chunks = compared_.chunks[target->name];
  chunks.insert(done.begin(), done.end());
}

ComparedChunks ComparingStore::results() const {
  std::lock_guard lock(mutex_);
  return compared_;
}

}  // namespace te::exec
