#include "kvstore/ocdbt/ocdbt_writer.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "kvstore/file/file_store.h"
#include "kvstore/ocdbt/format/btree_node.h"
#include "kvstore/ocdbt/format/envelope.h"
#include "kvstore/ocdbt/format/varint.h"
#include "kvstore/ocdbt/ocdbt_store.h"
#include "util/error.h"

namespace te::kv {

using namespace te::ocdbt;

struct OcdbtWriter::DataFile {
  uint32_t number = 0;
  std::string key;  // d/<hex>
  std::unique_ptr<ValueSink> sink;
  uint64_t size = 0;
  void append(std::span<const std::byte> data) {
    sink->write(data);
    size += data.size();
  }
};

namespace {

std::array<uint8_t, 16> random_bytes16() {
  std::random_device rd;  // getrandom(2) on Linux
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < 16; i += 4) {
    uint32_t v = rd();
    for (size_t j = 0; j < 4; ++j) out[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return out;
}

// Buffers up to max_inline_value_bytes; past that, holds a data file and streams into it.
class WriterSink : public ValueSink {
 public:
  WriterSink(OcdbtWriter& writer, std::string key, std::string name)
      : writer_(writer), key_(std::move(key)), name_(std::move(name)) {}
  ~WriterSink() override {
    // An abandoned value: its bytes stay in the data file, unreferenced.
    if (file_) {
      try {
        writer_.release_data_file(file_);
      } catch (const std::exception&) {
        // The data file's own error surfaces at commit (its sink is gone, so commit fails).
      }
    }
  }
  void write(std::span<const std::byte> data) override {
    if (!file_ && buffer_.size() + data.size() <= writer_.options().max_inline_value_bytes) {
      buffer_.insert(buffer_.end(), data.begin(), data.end());
      return;
    }
    if (!file_) {
      file_ = writer_.acquire_data_file();
      offset_ = file_->size;
      file_->append(buffer_);
      length_ = buffer_.size();
      buffer_ = Bytes();
    }
    file_->append(data);
    length_ += data.size();
  }
  const std::string& name() const override { return name_; }
  uint64_t close() override {
    if (!file_) {
      uint64_t n = buffer_.size();
      writer_.add_value(key_, std::move(buffer_));
      return n;
    }
    OcdbtWriter::DataFile* file = file_;
    file_ = nullptr;
    uint32_t number = file->number;
    writer_.release_data_file(file);
    writer_.add_value(key_, OcdbtWriter::IndirectValue{number, offset_, length_});
    return length_;
  }

 private:
  OcdbtWriter& writer_;
  std::string key_, name_;
  Bytes buffer_;
  OcdbtWriter::DataFile* file_ = nullptr;
  uint64_t offset_ = 0, length_ = 0;
};

size_t common_prefix_length(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// A written node as its parent sees it.
struct ChildRef {
  std::string first_key, last_key;  // full keys
  size_t prefix_length = 0;         // of the child's implied prefix
  BtreeNodeReference ref;
};

}  // namespace

std::string random_data_file_name() {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : random_bytes16()) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

OcdbtWriter::OcdbtWriter(std::shared_ptr<KvStore> base, OcdbtWriterOptions options)
    : base_(std::move(base)), options_(options) {
  if (options_.max_inline_value_bytes > kMaxInlineValueBytes)
    fail("OCDBT max_inline_value_bytes must be at most {}, not {}", kMaxInlineValueBytes,
         options_.max_inline_value_bytes);
  if (options_.max_node_entries < 2 || options_.max_node_entries > kMaxNodeArity)
    fail("OCDBT node entries must be in 2..{}, not {}", kMaxNodeArity, options_.max_node_entries);
}

OcdbtWriter::~OcdbtWriter() = default;

OcdbtWriter::DataFile* OcdbtWriter::acquire_data_file() {
  {
    std::lock_guard lock(mutex_);
    if (committed_) fail("cannot write to OCDBT {} after its commit", base_->location());
    ++held_files_;
    if (!idle_files_.empty()) {
      DataFile* f = idle_files_.back();
      idle_files_.pop_back();
      return f;
    }
  }
  auto file = std::make_unique<DataFile>();
  file->key = "d/" + random_data_file_name();
  try {
    file->sink = base_->write(file->key, {.durable = true});
  } catch (...) {
    std::lock_guard lock(mutex_);
    --held_files_;
    throw;
  }
  std::lock_guard lock(mutex_);
  file->number = static_cast<uint32_t>(files_.size());
  files_.push_back(std::move(file));
  return files_.back().get();
}

void OcdbtWriter::release_data_file(DataFile* file) {
  bool full = options_.target_data_file_size != 0 && file->size >= options_.target_data_file_size;
  std::exception_ptr error;
  if (full) {
    try {
      file->sink->close();  // outside the lock: fsync and rename
    } catch (...) {
      error = std::current_exception();
    }
    file->sink.reset();
  }
  std::lock_guard lock(mutex_);
  --held_files_;
  if (!full) idle_files_.push_back(file);
  if (error) {
    broken_ = true;
    std::rethrow_exception(error);
  }
}

void OcdbtWriter::add_value(const std::string& key, StoredValue value) {
  if (key.size() > kMaxKeyLength)
    fail("cannot write key '{}…' to OCDBT {}: keys are at most {} bytes, this one has {}",
         key.substr(0, 40), base_->location(), kMaxKeyLength, key.size());
  std::lock_guard lock(mutex_);
  if (committed_) fail("cannot write {} after the commit", describe(key));
  if (sealed_) fail("cannot write {} after its index was exported", describe(key));
  if (!index_.emplace(key, std::move(value)).second)
    fail("cannot write key '{}' to OCDBT {} twice", key, base_->location());
}

std::unique_ptr<ValueSink> OcdbtWriter::write(std::string_view key, WriteOptions) {
  return std::make_unique<WriterSink>(*this, std::string(key), describe(key));
}

uint64_t OcdbtWriter::copy_from(const KvStore& src, std::string_view src_key,
                                std::string_view dst_key) {
  if (auto* files = dynamic_cast<const FileStore*>(&src)) {
    // A file (a zarr folder's chunk) longer than an inline value: appended to a data file in
    // the kernel (copy_file_range), as the folder output copies its files.
    auto n = files->size(src_key);
    if (n && *n > options_.max_inline_value_bytes) {
      DataFile* file = acquire_data_file();
      const uint64_t offset = file->size;
      uint64_t length = 0;
      try {
        length = file->sink->append_file(files->path_of(src_key));
      } catch (...) {
        release_data_file(file);  // its partial bytes stay unreferenced, as an abandoned value's
        throw;
      }
      file->size += length;
      const uint32_t number = file->number;
      release_data_file(file);
      add_value(std::string(dst_key), IndirectValue{number, offset, length});
      return length;
    }
  }
  auto* ocdbt = dynamic_cast<const OcdbtStore*>(&src);
  const OcdbtStore::Entry* e = ocdbt ? ocdbt->find(src_key) : nullptr;
  if (!e) return KvStore::copy_from(src, src_key, dst_key);
  if (e->file == OcdbtStore::Entry::kInline && e->length <= options_.max_inline_value_bytes) {
    add_value(std::string(dst_key), e->inline_value);
    return e->length;
  }
  auto source = ocdbt->read(src_key);
  auto sink = write(dst_key);
  pump(*source, *sink);
  return sink->close();
}

namespace {

// export_index()'s form: the magic, then varints: the number of data files, each file's name
// (length, bytes); the number of keys, then per key (in key order) its length and bytes, 0 +
// length + bytes for an inline value or 1 + file number + offset + length for one in a data file.
constexpr std::string_view kIndexMagic = "te-ckpt OCDBT index 1\n";

void append_text(Bytes& out, std::string_view text) {
  append_varint(out, text.size());
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  out.insert(out.end(), p, p + text.size());
}

// Reads an exported index; every read is bounds-checked and names `from` when it fails.
class IndexReader {
 public:
  IndexReader(std::string_view data, std::string_view from, std::string location)
      : data_(std::as_bytes(std::span(data.data(), data.size()))),
        from_(from),
        where_(std::move(location)) {
    if (data.substr(0, kIndexMagic.size()) != kIndexMagic) bad("it does not start as one");
    pos_ = kIndexMagic.size();
  }
  uint64_t number() {
    auto v = decode_varint(data_.subspan(pos_), VarintWidth::k64);
    if (!v) bad(fmt::format("a number at byte {} is cut off or too long", pos_));
    pos_ += v->length;
    return v->value;
  }
  std::span<const std::byte> bytes() {
    uint64_t n = number();
    if (n > data_.size() - pos_) bad(fmt::format("{} bytes at byte {} run past its end", n, pos_));
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::string text() {
    auto b = bytes();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  bool at_end() const { return pos_ == data_.size(); }
  [[noreturn]] void bad(const std::string& why) const {
    fail("the OCDBT key index of {} for {} is malformed: {}", from_, where_, why);
  }

 private:
  std::span<const std::byte> data_;
  std::string from_, where_;
  size_t pos_ = 0;
};

}  // namespace

std::string OcdbtWriter::export_index() {
  {
    std::lock_guard lock(mutex_);
    if (committed_ || sealed_)
      fail("cannot export the index of OCDBT {}: it was already committed or exported",
           base_->location());
    if (held_files_ != 0)
      fail("cannot export the index of OCDBT {}: {} values are still being written",
           base_->location(), held_files_);
    if (broken_)
      fail("cannot export the index of OCDBT {}: a data file could not be written",
           base_->location());
    sealed_ = true;
  }
  // Every data file closed (fsync and rename) before its values are announced to another writer.
  for (auto& f : files_)
    if (f->sink) {
      f->sink->close();
      f->sink.reset();
    }
  Bytes out(reinterpret_cast<const std::byte*>(kIndexMagic.data()),
            reinterpret_cast<const std::byte*>(kIndexMagic.data()) + kIndexMagic.size());
  append_varint(out, files_.size());
  for (const auto& f : files_) append_text(out, f->key);
  append_varint(out, index_.size());
  for (const auto& [key, value] : index_) {
    append_text(out, key);
    if (const auto* inline_bytes = std::get_if<Bytes>(&value)) {
      append_varint(out, 0);
      append_varint(out, inline_bytes->size());
      out.insert(out.end(), inline_bytes->begin(), inline_bytes->end());
    } else {
      const auto& iv = std::get<IndirectValue>(value);
      append_varint(out, 1);
      append_varint(out, iv.file);
      append_varint(out, iv.offset);
      append_varint(out, iv.length);
    }
  }
  index_.clear();
  return std::string(reinterpret_cast<const char*>(out.data()), out.size());
}

void OcdbtWriter::import_index(std::string_view exported, std::string_view from) {
  IndexReader in(exported, from, base_->location());
  // Parsed whole before anything is added, so that a malformed index adds nothing.
  const uint64_t file_count = in.number();
  if (file_count > exported.size()) in.bad(fmt::format("{} data files", file_count));
  std::vector<std::string> names;
  for (uint64_t i = 0; i < file_count; ++i) {
    names.push_back(in.text());
    const std::string& n = names.back();
    if (n.size() != 34 || n.compare(0, 2, "d/") != 0 ||
        n.find_first_not_of("0123456789abcdef", 2) != std::string::npos)
      in.bad(fmt::format("data file name '{}' is not d/<32 hex digits>", printable_key(n)));
  }
  const uint64_t key_count = in.number();
  if (key_count > exported.size()) in.bad(fmt::format("{} keys", key_count));
  std::vector<std::pair<std::string, StoredValue>> values;
  values.reserve(key_count);
  for (uint64_t i = 0; i < key_count; ++i) {
    std::string key = in.text();
    if (key.size() > kMaxKeyLength) in.bad(fmt::format("a key of {} bytes", key.size()));
    if (!values.empty() && key <= values.back().first)
      in.bad(fmt::format("key '{}' is out of order", printable_key(key)));
    const uint64_t kind = in.number();
    if (kind == 0) {
      auto b = in.bytes();
      if (b.size() > options_.max_inline_value_bytes)
        in.bad(fmt::format("the inline value of '{}' has {} bytes (at most {})", printable_key(key),
                           b.size(), options_.max_inline_value_bytes));
      values.emplace_back(std::move(key), Bytes(b.begin(), b.end()));
    } else if (kind == 1) {
      const uint64_t file = in.number(), offset = in.number(), length = in.number();
      if (file >= file_count)
        in.bad(
            fmt::format("key '{}' names data file {} of {}", printable_key(key), file, file_count));
      values.emplace_back(std::move(key),
                          IndirectValue{static_cast<uint32_t>(file), offset, length});
    } else {
      in.bad(fmt::format("key '{}' has value kind {}", printable_key(key), kind));
    }
  }
  if (!in.at_end()) in.bad("bytes follow its last key");

  std::lock_guard lock(mutex_);
  if (committed_ || sealed_)
    fail("cannot add the index of {} to OCDBT {}: it was already committed or exported", from,
         base_->location());
  for (const auto& entry : values) {
    if (index_.count(entry.first))
      fail(
          "cannot add the index of {} to OCDBT {}: key '{}' was written twice, by {} and by "
          "another writer of the database (every key must be written by one writer)",
          from, base_->location(), printable_key(entry.first), from);
  }
  const auto first_file = static_cast<uint32_t>(files_.size());
  for (auto& name : names) {
    auto f = std::make_unique<DataFile>();
    f->number = static_cast<uint32_t>(files_.size());
    f->key = std::move(name);  // closed by its own writer: no sink
    files_.push_back(std::move(f));
  }
  for (auto& [key, value] : values) {
    if (auto* iv = std::get_if<IndirectValue>(&value)) iv->file += first_file;
    index_.emplace(std::move(key), std::move(value));
  }
}

std::optional<uint64_t> OcdbtWriter::size(std::string_view key) const {
  std::lock_guard lock(mutex_);
  if (reader_) return reader_->size(key);
  auto it = index_.find(std::string(key));
  if (it == index_.end()) return std::nullopt;
  if (auto* b = std::get_if<Bytes>(&it->second)) return b->size();
  return std::get<IndirectValue>(it->second).length;
}

std::unique_ptr<ByteSource> OcdbtWriter::read(std::string_view key, ByteRange range) const {
  std::shared_ptr<OcdbtStore> reader;
  {
    std::lock_guard lock(mutex_);
    reader = reader_;
  }
  if (!reader) fail("cannot read {} before the database is committed", describe(key));
  return reader->read(key, range);
}

std::vector<KeyEntry> OcdbtWriter::list(std::string_view prefix) const {
  std::lock_guard lock(mutex_);
  if (reader_) return reader_->list(prefix);
  std::vector<KeyEntry> out;
  for (auto it = index_.lower_bound(std::string(prefix));
       it != index_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    uint64_t n = std::holds_alternative<Bytes>(it->second)
                     ? std::get<Bytes>(it->second).size()
                     : std::get<IndirectValue>(it->second).length;
    out.push_back({it->first, n});
  }
  return out;
}

std::string OcdbtWriter::describe(std::string_view key) const {
  return fmt::format("OCDBT (being written) {} key '{}'", base_->location(), printable_key(key));
}

std::string OcdbtWriter::location() const {
  return "OCDBT (being written) " + base_->location();
}

const Manifest& OcdbtWriter::commit() {
  {
    std::lock_guard lock(mutex_);
    if (committed_) fail("OCDBT {} is already committed", base_->location());
    if (held_files_ != 0)
      fail("cannot commit OCDBT {}: {} values are still being written", base_->location(),
           held_files_);
    if (broken_)
      fail("cannot commit OCDBT {}: a data file could not be written", base_->location());
    if (sealed_)
      fail("cannot commit OCDBT {}: its index was exported to the writer that commits",
           base_->location());
    committed_ = true;
  }
  // Values are complete: close every data file still open.
  for (auto& f : files_)
    if (f->sink) {
      f->sink->close();
      f->sink.reset();
    }
  std::optional<int> level;
  if (options_.compress) level = options_.zstd_level;

  // Nodes go into data files of their own, opened as needed.
  DataFile nodes;
  auto write_node = [&](const BtreeNode& node) -> IndirectDataReference {
    Bytes object = encode_envelope(kBtreeNodeMagic, encode_btree_node(node), level);
    if (nodes.sink && options_.target_data_file_size != 0 &&
        nodes.size >= options_.target_data_file_size) {
      nodes.sink->close();
      nodes.sink.reset();
    }
    if (!nodes.sink) {
      nodes.key = "d/" + random_data_file_name();
      nodes.sink = base_->write(nodes.key, {.durable = true});
      nodes.size = 0;
    }
    IndirectDataReference ref{{"", nodes.key}, nodes.size, object.size()};
    nodes.append(object);
    return ref;
  };
  const uint64_t node_limit = options_.max_decoded_node_bytes;
  // Splits `count` items into groups within the entry and byte limits. An interior node holds at
  // least two entries whatever their size, so that every level is smaller than the one below.
  auto group = [&](size_t count, size_t min_entries, auto&& item_bytes) {
    std::vector<std::pair<size_t, size_t>> groups;  // [begin, end)
    size_t begin = 0, bytes = 64;
    for (size_t i = 0; i < count; ++i) {
      size_t b = item_bytes(i);
      if (i - begin >= min_entries &&
          (i - begin >= options_.max_node_entries || bytes + b > node_limit)) {
        groups.push_back({begin, i});
        begin = i;
        bytes = 64;
      }
      bytes += b;
    }
    if (count > begin) groups.push_back({begin, count});
    return groups;
  };

  std::vector<std::pair<const std::string*, const StoredValue*>> entries;
  entries.reserve(index_.size());
  for (auto& [k, v] : index_) entries.push_back({&k, &v});
  auto file_id = [&](uint32_t n) { return DataFileId{"", files_[n]->key}; };

  std::vector<ChildRef> level_refs;
  uint8_t height = 0;
  if (!entries.empty()) {
    auto leaf_bytes = [&](size_t i) -> size_t {
      const StoredValue& v = *entries[i].second;
      size_t b = entries[i].first->size() + 3 * 10 + 1;
      if (auto* bytes = std::get_if<Bytes>(&v)) return b + bytes->size();
      return b + 20 + files_[std::get<IndirectValue>(v).file]->key.size() + 12;
    };
    auto groups = group(entries.size(), 1, leaf_bytes);
    for (auto [begin, end] : groups) {
      const std::string& first = *entries[begin].first;
      const std::string& last = *entries[end - 1].first;
      size_t prefix = groups.size() == 1 ? 0 : common_prefix_length(first, last);
      BtreeNode node;
      node.height = 0;
      BtreeNodeStatistics stats;
      for (size_t i = begin; i < end; ++i) {
        LeafNodeEntry e;
        e.key = entries[i].first->substr(prefix);
        const StoredValue& v = *entries[i].second;
        if (auto* bytes = std::get_if<Bytes>(&v)) {
          e.value = *bytes;
        } else {
          auto& iv = std::get<IndirectValue>(v);
          e.value = IndirectDataReference{file_id(iv.file), iv.offset, iv.length};
          stats.num_indirect_value_bytes += iv.length;
        }
        node.leaf_entries.push_back(std::move(e));
      }
      stats.num_keys = end - begin;
      IndirectDataReference loc = write_node(node);
      stats.num_tree_bytes = loc.length;
      level_refs.push_back({first, last, prefix, {loc, stats}});
    }
    while (level_refs.size() > 1) {
      ++height;
      auto interior_bytes = [&](size_t i) -> size_t {
        return level_refs[i].first_key.size() + 9 * 10 +
               level_refs[i].ref.location.file.path().size();
      };
      auto groups = group(level_refs.size(), 2, interior_bytes);
      std::vector<ChildRef> next;
      for (auto [begin, end] : groups) {
        const std::string& first = level_refs[begin].first_key;
        const std::string& last = level_refs[end - 1].last_key;
        size_t prefix = groups.size() == 1 ? 0 : common_prefix_length(first, last);
        BtreeNode node;
        node.height = height;
        BtreeNodeStatistics stats;
        for (size_t i = begin; i < end; ++i) {
          const ChildRef& c = level_refs[i];
          InteriorNodeEntry e;
          e.key = c.first_key.substr(prefix);
          e.subtree_common_prefix_length = static_cast<uint16_t>(c.prefix_length - prefix);
          e.node = c.ref;
          stats.num_keys += c.ref.statistics.num_keys;
          stats.num_tree_bytes += c.ref.statistics.num_tree_bytes;
          stats.num_indirect_value_bytes += c.ref.statistics.num_indirect_value_bytes;
          node.interior_entries.push_back(std::move(e));
        }
        IndirectDataReference loc = write_node(node);
        stats.num_tree_bytes += loc.length;
        next.push_back({first, last, prefix, {loc, stats}});
      }
      level_refs = std::move(next);
    }
  }
  if (nodes.sink) nodes.sink->close();

  BtreeGenerationReference version;
  version.generation_number = 1;
  version.root_height = height;
  if (level_refs.empty()) {
    version.root.location = {{}, UINT64_MAX, UINT64_MAX};
  } else {
    version.root = level_refs.front().ref;
  }
  version.commit_time =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  manifest_.config.uuid = random_bytes16();
  manifest_.config.manifest_kind = ManifestKind::kSingle;
  manifest_.config.max_inline_value_bytes = options_.max_inline_value_bytes;
  manifest_.config.max_decoded_node_bytes = options_.max_decoded_node_bytes;
  manifest_.config.version_tree_arity_log2 = options_.version_tree_arity_log2;
  manifest_.config.zstd_level = level;
  manifest_.versions = {version};
  Bytes object = encode_manifest(manifest_);
  auto sink = base_->write("manifest.ocdbt", {.durable = true});
  sink->write(object);
  sink->close();
  auto reader = OcdbtStore::open(base_);
  std::lock_guard lock(mutex_);
  reader_ = std::move(reader);
  index_.clear();
  return manifest_;
}

}  // namespace te::kv
