// blosc chunks: the c-blosc v1 container TensorStore writes (Debian's libblosc). The container has
// no streaming form, so the decoder and encoder hold one whole chunk; blosc is only met in foreign
// files (no JAX tool writes it).
#include <blosc.h>

#include <cstring>

#include "util/error.h"
#include "zarr/codec.h"

namespace te::zarr {
namespace {

Bytes read_all(ByteSource& source) {
  Bytes data;
  for (auto piece = source.next(); !piece.empty(); piece = source.next()) {
    data.insert(data.end(), piece.begin(), piece.end());
  }
  return data;
}

class BloscDecoder : public ChunkDecoder {
 public:
  BloscDecoder(ByteSource& source, size_t decoded_size)
      : source_(source), expected_(decoded_size) {}

  void read(std::span<std::byte> out) override {
    if (!decoded_) decode_all();
    if (offset_ + out.size() > data_.size()) {
      fail("{}: read past the expected decoded size of {} bytes", source_.name(), expected_);
    }
    std::memcpy(out.data(), data_.data() + offset_, out.size());
    offset_ += out.size();
  }
  void finish() override {
    if (!decoded_) decode_all();
  }

 private:
  void decode_all() {
    decoded_ = true;
    Bytes compressed = read_all(source_);
    size_t nbytes = 0;
    if (compressed.size() < BLOSC_MIN_HEADER_LENGTH ||
        blosc_cbuffer_validate(compressed.data(), compressed.size(), &nbytes) != 0) {
      fail("{}: corrupt blosc chunk (invalid header)", source_.name());
    }
    size_t cbytes = 0, blocksize = 0;
    blosc_cbuffer_sizes(compressed.data(), &nbytes, &cbytes, &blocksize);
    if (cbytes != compressed.size()) {
      fail("{}: blosc chunk is {} bytes but its header says {}", source_.name(), compressed.size(),
           cbytes);
    }
    if (nbytes != expected_) {
      fail("{}: blosc chunk decodes to {} bytes, but should be {} bytes", source_.name(), nbytes,
           expected_);
    }
    data_.resize(expected_);
    int n = blosc_decompress_ctx(compressed.data(), data_.data(), data_.size(), 1);
    if (n < 0 || static_cast<size_t>(n) != expected_) {
      fail("{}: corrupt blosc chunk (decompression failed)", source_.name());
    }
  }

  ByteSource& source_;
  size_t expected_;
  bool decoded_ = false;
  Bytes data_;
  size_t offset_ = 0;
};

class BloscEncoder : public ChunkEncoder {
 public:
  BloscEncoder(ByteSink& sink, size_t decoded_size, size_t itemsize, std::string cname, int clevel,
               int shuffle, int blocksize)
      : sink_(sink),
        itemsize_(itemsize),
        cname_(std::move(cname)),
        clevel_(clevel),
        shuffle_(shuffle),
        blocksize_(blocksize) {
    data_.reserve(decoded_size);
  }
  void write(std::span<const std::byte> data) override {
    data_.insert(data_.end(), data.begin(), data.end());
  }
  void finish() override {
    // TensorStore's automatic shuffle (-1): bit-shuffle for 1-byte elements, else byte-shuffle.
    int shuffle = shuffle_ >= 0 ? shuffle_ : (itemsize_ == 1 ? BLOSC_BITSHUFFLE : BLOSC_SHUFFLE);
    Bytes out(data_.size() + BLOSC_MAX_OVERHEAD);
    int n = blosc_compress_ctx(clevel_, shuffle, itemsize_, data_.size(), data_.data(), out.data(),
                               out.size(), cname_.c_str(), static_cast<size_t>(blocksize_), 1);
    if (n <= 0) fail("{}: blosc compression failed", sink_.name());
    sink_.write({out.data(), static_cast<size_t>(n)});
  }

 private:
  ByteSink& sink_;
  size_t itemsize_;
  std::string cname_;
  int clevel_, shuffle_, blocksize_;
  Bytes data_;
};

class BloscCodec : public Codec {
 public:
  BloscCodec(std::string cname, int clevel, int shuffle, int blocksize)
      : cname_(std::move(cname)), clevel_(clevel), shuffle_(shuffle), blocksize_(blocksize) {}
  nlohmann::json to_json() const override {
    return {{"blocksize", blocksize_},
            {"clevel", clevel_},
            {"cname", cname_},
            {"id", "blosc"},
            {"shuffle", shuffle_}};
  }
  std::string id() const override { return "blosc"; }
  std::unique_ptr<ChunkDecoder> decoder(ByteSource& source, size_t decoded_size) const override {
    return std::make_unique<BloscDecoder>(source, decoded_size);
  }
  std::unique_ptr<ChunkEncoder> encoder(ByteSink& sink, size_t decoded_size,
                                        size_t itemsize) const override {
    return std::make_unique<BloscEncoder>(sink, decoded_size, itemsize, cname_, clevel_, shuffle_,
                                          blocksize_);
  }

 private:
  std::string cname_;
  int clevel_, shuffle_, blocksize_;
};

}  // namespace

std::shared_ptr<const Codec> make_blosc_codec(const std::string& cname, int clevel, int shuffle,
                                              int blocksize) {
  return std::make_shared<BloscCodec>(cname, clevel, shuffle, blocksize);
}

}  // namespace te::zarr
