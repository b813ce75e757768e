#include "zarr/array.h"

#include <cstring>
#include <functional>

#include "util/error.h"
#include "util/strided_copy.h"
#include "zarr/fixed_piece_encoder.h"
#include "zarr/v3_array_metadata.h"
#include "zarr/v3_chunk_io.h"
#include "zarr/v3_metadata.h"

namespace te::zarr {
namespace {

class StoredChunkReader : public ChunkReader {
 public:
  StoredChunkReader(std::unique_ptr<ByteSource> source, const Codec& codec, size_t size)
      : source_(std::move(source)), decoder_(codec.decoder(*source_, size)) {}
  void read(std::span<std::byte> out) override { decoder_->read(out); }
  void finish() override { decoder_->finish(); }

 private:
  std::unique_ptr<ByteSource> source_;
  std::unique_ptr<ChunkDecoder> decoder_;
};

class FillChunkReader : public ChunkReader {
 public:
  explicit FillChunkReader(Bytes fill) : fill_(std::move(fill)) {}
  void read(std::span<std::byte> out) override {
    bool zero =
        std::all_of(fill_.begin(), fill_.end(), [](std::byte b) { return b == std::byte{0}; });
    if (zero) {
      std::memset(out.data(), 0, out.size());
      return;
    }
    for (size_t i = 0; i < out.size(); ++i) out[i] = fill_[(offset_ + i) % fill_.size()];
    offset_ += out.size();
  }
  void finish() override {}

 private:
  Bytes fill_;
  size_t offset_ = 0;
};

// Serves an already decoded chunk (Fortran-order chunks are decoded whole and transposed).
class MemoryChunkReader : public ChunkReader {
 public:
  MemoryChunkReader(Bytes data, std::string name)
      : data_(std::move(data)), name_(std::move(name)) {}
  void read(std::span<std::byte> out) override {
    if (offset_ + out.size() > data_.size()) fail("{}: read past the end of the chunk", name_);
    std::memcpy(out.data(), data_.data() + offset_, out.size());
    offset_ += out.size();
  }
  void finish() override {}

 private:
  Bytes data_;
  std::string name_;
  size_t offset_ = 0;
};

class StoreChunkWriter : public ChunkWriter {
 public:
  StoreChunkWriter(std::unique_ptr<kv::ValueSink> sink, const Codec& codec, size_t size,
                   size_t itemsize)
      : sink_(std::move(sink)),
        encoder_(fixed_piece_encoder(codec, *sink_, size, itemsize)),
        expected_(size) {}
  void write(std::span<const std::byte> data) override {
    written_ += data.size();
    encoder_->write(data);
  }
  uint64_t finish() override {
    if (written_ != expected_) {
      fail("{}: internal error: {} bytes written to a {}-byte chunk", sink_->name(), written_,
           expected_);
    }
    encoder_->finish();
    return sink_->close();
  }

 private:
  std::unique_ptr<kv::ValueSink> sink_;
  std::unique_ptr<ChunkEncoder> encoder_;
  size_t expected_;
  size_t written_ = 0;
};

// Collects one zarr3 executor chunk and stores it encoded as one value when finished (zarr3
// codecs encode whole chunks; memory is one decoded chunk plus its encoded form).
class V3ChunkWriter : public ChunkWriter {
 public:
  V3ChunkWriter(std::unique_ptr<kv::ValueSink> sink, const ArrayMetadata& metadata)
      : sink_(std::move(sink)), metadata_(metadata) {
    data_.reserve(metadata_.chunk_bytes());
  }
  void write(std::span<const std::byte> data) override {
    if (data_.size() + data.size() > metadata_.chunk_bytes()) {
      fail("{}: internal error: more than {} bytes written to a chunk", sink_->name(),
           metadata_.chunk_bytes());
    }
    data_.insert(data_.end(), data.begin(), data.end());
  }
  uint64_t finish() override {
    if (data_.size() != metadata_.chunk_bytes()) {
      fail("{}: internal error: {} bytes written to a {}-byte chunk", sink_->name(), data_.size(),
           metadata_.chunk_bytes());
    }
    Bytes value = v3::encode_v3_chunk(metadata_, data_, sink_->name());
    Bytes().swap(data_);
    sink_->write(value);
    return sink_->close();
  }

 private:
  std::unique_ptr<kv::ValueSink> sink_;
  ArrayMetadata metadata_;
  Bytes data_;
};

}  // namespace

Box chunk_box(const ArrayMetadata& m, const Shape& chunk_index) {
  Box box{Shape(chunk_index.size()), Shape(chunk_index.size())};
  for (size_t d = 0; d < chunk_index.size(); ++d) {
    box.start[d] = chunk_index[d] * m.chunks[d];
    box.size[d] = std::min(m.chunks[d], m.shape[d] - box.start[d]);
  }
  return box;
}

void for_each_chunk_in_box(const ArrayMetadata& m, const Box& box,
                           const std::function<void(const Shape&)>& visit) {
  size_t rank = m.shape.size();
  Shape first(rank), last(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (box.size[i] == 0) return;
    first[i] = box.start[i] / m.chunks[i];
    last[i] = (box.start[i] + box.size[i] - 1) / m.chunks[i];
  }
  Shape index = first;
  for (;;) {
    visit(index);
    size_t i = rank;
    for (;;) {
      if (i == 0) return;
      --i;
      if (++index[i] <= last[i]) break;
      index[i] = first[i];
    }
  }
}

ZarrArray ZarrArray::open(std::shared_ptr<const kv::KvStore> store, std::string prefix) {
  std::string key = prefix + ".zarray";
  if (!store->size(key)) {
    const std::string v3_key = prefix + "zarr.json";
    if (store->size(v3_key)) {
      const std::string where = store->describe(v3_key);
      auto metadata = v3::array_metadata_of(
          v3::parse_v3_metadata(to_string(store->read_all(v3_key)), where), where);
      return ZarrArray(std::move(store), nullptr, std::move(prefix), std::move(metadata));
    }
    fail("{}: not a zarr array (no .zarray or zarr.json file)",
         prefix.empty() ? store->location() : store->describe(prefix));
  }
  Bytes text = store->read_all(key);
  auto metadata = ArrayMetadata::parse(to_string(text), store->describe(key));
  return ZarrArray(std::move(store), nullptr, std::move(prefix), std::move(metadata));
}

ZarrArray ZarrArray::open_with_metadata(std::shared_ptr<const kv::KvStore> store,
                                        std::string prefix, ArrayMetadata metadata) {
  return ZarrArray(std::move(store), nullptr, std::move(prefix), std::move(metadata));
}

ZarrArray ZarrArray::create(std::shared_ptr<kv::KvStore> store, std::string prefix,
                            ArrayMetadata metadata, bool write_metadata) {
  if (metadata.v3) {
    // A zarr3 array: its zarr.json as TensorStore writes it (v3_array_metadata.h made it).
    const std::string key = prefix + "zarr.json";
    metadata.check_sizes(store->describe(key));
    if (write_metadata) {
      const std::string text = metadata.v3->to_text();
      auto sink = store->write(key);
      sink->write(std::as_bytes(std::span(text)));
      sink->close();
    }
    std::shared_ptr<const kv::KvStore> reader = store;
    return ZarrArray(std::move(reader), std::move(store), std::move(prefix), std::move(metadata));
  }
  // New arrays always take TensorStore's form: C order, "." keys, null fill (every chunk is
  // written, so the fill value is never needed).
  metadata.order = 'C';
  metadata.dimension_separator = '.';
  metadata.fill_value_is_null = true;
  metadata.fill_value.assign(metadata.dtype.itemsize, std::byte{0});
  std::string key = prefix + ".zarray";
  metadata.check_sizes(store->describe(key));
  if (write_metadata) {
    std::string text = metadata.to_json_string();
    auto sink = store->write(key);
    sink->write(std::as_bytes(std::span(text)));
    sink->close();
  }
  std::shared_ptr<const kv::KvStore> reader = store;
  return ZarrArray(std::move(reader), std::move(store), std::move(prefix), std::move(metadata));
}

std::string ZarrArray::chunk_key(const Shape& chunk_index) const {
  if (metadata_.v3) return v3::stored_value_key(metadata_, prefix_, chunk_index);
  return prefix_ + metadata_.chunk_key(chunk_index);
}

std::string ZarrArray::describe() const {
  return prefix_.empty() ? store_->location() : store_->describe(prefix_);
}

std::unique_ptr<ChunkReader> ZarrArray::stored_chunk_reader(const std::string& key) const {
  if (!store_->size(key)) return std::make_unique<FillChunkReader>(metadata_.fill_value);
  return std::make_unique<StoredChunkReader>(store_->read(key), *metadata_.codec,
                                             metadata_.chunk_bytes());
}

std::unique_ptr<ChunkReader> ZarrArray::open_chunk(const Shape& chunk_index) const {
  if (metadata_.v3) {
    return std::make_unique<MemoryChunkReader>(read_chunk(chunk_index),
                                               store_->describe(chunk_key(chunk_index)));
  }
  if (metadata_.order == 'F' && metadata_.rank() > 1) {
    return std::make_unique<MemoryChunkReader>(read_chunk(chunk_index),
                                               store_->describe(chunk_key(chunk_index)));
  }
  return stored_chunk_reader(chunk_key(chunk_index));
}

Bytes ZarrArray::read_chunk(const Shape& chunk_index) const {
  if (metadata_.v3) return v3::read_v3_chunk(*store_, prefix_, metadata_, chunk_index);
  Bytes data(metadata_.chunk_bytes());
  std::unique_ptr<ChunkReader> reader = stored_chunk_reader(chunk_key(chunk_index));
  reader->read(data);
  reader->finish();
  if (metadata_.order == 'F' && metadata_.rank() > 1) {
    // Fortran order: the first dimension varies fastest. Transpose into C order.
    size_t item = metadata_.dtype.itemsize;
    std::vector<int64_t> f_strides(metadata_.chunks.size());
    int64_t s = static_cast<int64_t>(item);
    for (size_t i = 0; i < f_strides.size(); ++i) {
      f_strides[i] = s;
      s *= metadata_.chunks[i];
    }
    Bytes c(data.size());
    strided_copy(data.data(), f_strides, c.data(), c_order_strides(metadata_.chunks, item),
                 metadata_.chunks, item);
    return c;
  }
  return data;
}

void ZarrArray::read_region(const Box& box, std::span<std::byte> out) const {
  const auto& m = metadata_;
  size_t item = m.dtype.itemsize;
  if (out.size() != static_cast<size_t>(num_elements(box.size)) * item) {
    fail("{}: internal error: region buffer has the wrong size", describe());
  }
  auto out_strides = c_order_strides(box.size, item);
  auto chunk_strides = c_order_strides(m.chunks, item);
  for_each_chunk_in_box(m, box, [&](const Shape& ci) {
    Bytes chunk = read_chunk(ci);
    Shape lo(ci.size()), extent(ci.size());
    int64_t src_off = 0, dst_off = 0;
    for (size_t i = 0; i < ci.size(); ++i) {
      int64_t chunk_lo = ci[i] * m.chunks[i];
      lo[i] = std::max(chunk_lo, box.start[i]);
      int64_t hi = std::min(chunk_lo + m.chunks[i], box.start[i] + box.size[i]);
      extent[i] = hi - lo[i];
      src_off += (lo[i] - chunk_lo) * chunk_strides[i];
      dst_off += (lo[i] - box.start[i]) * out_strides[i];
    }
    strided_copy(chunk.data() + src_off, chunk_strides, out.data() + dst_off, out_strides, extent,
                 item);
  });
}

Bytes ZarrArray::read_all() const {
  Bytes out(static_cast<size_t>(num_elements(metadata_.shape)) * metadata_.dtype.itemsize);
  read_region(Box{Shape(metadata_.shape.size(), 0), metadata_.shape}, out);
  return out;
}

std::unique_ptr<ChunkWriter> ZarrArray::open_chunk_writer(const Shape& chunk_index) const {
  std::string key = chunk_key(chunk_index);
  if (!writable_) fail("cannot write {}: the array was opened for reading", store_->describe(key));
  if (metadata_.v3) return std::make_unique<V3ChunkWriter>(writable_->write(key), metadata_);
  return std::make_unique<StoreChunkWriter>(writable_->write(key), *metadata_.codec,
                                            metadata_.chunk_bytes(), metadata_.dtype.itemsize);
}

uint64_t ZarrArray::write_chunk(const Shape& chunk_index, std::span<const std::byte> data) const {
  auto writer = open_chunk_writer(chunk_index);
  writer->write(data);
  return writer->finish();
}

std::optional<Bytes> ZarrArray::read_payload(const Shape& chunk_index) const {
  if (metadata_.v3) return v3::read_v3_payload(*store_, prefix_, metadata_, chunk_index);
  const std::string key = chunk_key(chunk_index);
  if (!store_->size(key)) return std::nullopt;
  return store_->read_all(key);
}

uint64_t ZarrArray::write_payload(const Shape& chunk_index,
                                  std::span<const std::byte> payload) const {
  const std::string key = chunk_key(chunk_index);
  if (!writable_) fail("cannot write {}: the array was opened for reading", store_->describe(key));
  Bytes value = metadata_.v3 ? v3::v3_value_of_payload(metadata_, payload, store_->describe(key))
                             : Bytes(payload.begin(), payload.end());
  auto sink = writable_->write(key);
  sink->write(value);
  sink->close();
  return value.size();
}

void ZarrArray::write_all(std::span<const std::byte> data) const {
  const auto& m = metadata_;
  size_t item = m.dtype.itemsize;
  auto src_strides = c_order_strides(m.shape, item);
  auto chunk_strides = c_order_strides(m.chunks, item);
  for_each_chunk_in_box(m, Box{Shape(m.shape.size(), 0), m.shape}, [&](const Shape& ci) {
    Bytes chunk(m.chunk_bytes(), std::byte{0});
    Shape extent(ci.size());
    int64_t src_off = 0;
    for (size_t i = 0; i < ci.size(); ++i) {
      int64_t lo = ci[i] * m.chunks[i];
      extent[i] = std::min(m.chunks[i], m.shape[i] - lo);
      src_off += lo * src_strides[i];
    }
    strided_copy(data.data() + src_off, src_strides, chunk.data(), chunk_strides, extent, item);
    write_chunk(ci, chunk);
  });
}

}  // namespace te::zarr
