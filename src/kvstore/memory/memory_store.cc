#include "kvstore/memory/memory_store.h"

#include <mutex>

#include "util/error.h"

namespace te::kv {
namespace {

// Serves a range of a shared value, keeping the value alive.
class SharedBytesSource : public ByteSource {
 public:
  SharedBytesSource(std::shared_ptr<const Bytes> value, uint64_t offset, uint64_t length,
                    std::string name)
      : value_(std::move(value)),
        piece_(value_->data() + offset, static_cast<size_t>(length)),
        name_(std::move(name)) {}
  std::span<const std::byte> next() override {
    auto p = piece_;
    piece_ = {};
    return p;
  }
  const std::string& name() const override { return name_; }

 private:
  std::shared_ptr<const Bytes> value_;
  std::span<const std::byte> piece_;
  std::string name_;
};

class MemoryValueSink : public ValueSink {
 public:
  MemoryValueSink(MemoryStore& store, std::string key, std::string name)
      : store_(store), key_(std::move(key)), name_(std::move(name)) {}
  void write(std::span<const std::byte> data) override {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  const std::string& name() const override { return name_; }
  uint64_t close() override {
    uint64_t n = bytes_.size();
    store_.put(key_, std::move(bytes_));
    return n;
  }

 private:
  MemoryStore& store_;
  std::string key_, name_;
  Bytes bytes_;
};

}  // namespace

std::shared_ptr<const Bytes> MemoryStore::find(std::string_view key) const {
  std::shared_lock lock(mutex_);
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : it->second;
}

std::optional<uint64_t> MemoryStore::size(std::string_view key) const {
  auto value = find(key);
  if (!value) return std::nullopt;
  return value->size();
}

std::unique_ptr<ByteSource> MemoryStore::read(std::string_view key, ByteRange range) const {
  auto value = find(key);
  if (!value) fail("{} not found", describe(key));
  uint64_t size = value->size();
  uint64_t length = range.length ? *range.length : size - std::min(range.offset, size);
  if (range.offset > size || length > size - range.offset)
    fail("{} is {} bytes, too short for the range [{}, {}+{})", describe(key), size, range.offset,
         range.offset, length);
  return std::make_unique<SharedBytesSource>(std::move(value), range.offset, length, describe(key));
}

std::vector<KeyEntry> MemoryStore::list(std::string_view prefix) const {
  std::shared_lock lock(mutex_);
  std::vector<KeyEntry> out;
  for (auto it = values_.lower_bound(prefix);
       it != values_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    out.push_back({it->first, it->second->size()});
  return out;
}

std::unique_ptr<ValueSink> MemoryStore::write(std::string_view key, WriteOptions) {
  return std::make_unique<MemoryValueSink>(*this, std::string(key), describe(key));
}

void MemoryStore::put(std::string_view key, Bytes value) {
  auto shared = std::make_shared<const Bytes>(std::move(value));
  std::unique_lock lock(mutex_);
  values_.insert_or_assign(std::string(key), std::move(shared));
}

bool MemoryStore::erase(std::string_view key) {
  std::unique_lock lock(mutex_);
  auto it = values_.find(key);
  if (it == values_.end()) return false;
  values_.erase(it);
  return true;
}

std::string MemoryStore::describe(std::string_view key) const {
  return fmt::format("{} key '{}'", name_, printable_key(key));
}

}  // namespace te::kv
