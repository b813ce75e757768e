// bz2 chunks (one bzip2 stream), streaming through libbz2. Only met in foreign files.
#include <bzlib.h>

#include <algorithm>
#include <climits>

#include "util/error.h"
#include "zarr/codec.h"

namespace te::zarr {
namespace {

constexpr size_t kOutPiece = 256 << 10;

class Bz2Decoder : public ChunkDecoder {
 public:
  Bz2Decoder(ByteSource& source, size_t decoded_size) : source_(source), expected_(decoded_size) {
    if (BZ2_bzDecompressInit(&stream_, 0, 0) != BZ_OK) fail("{}: bz2 init failed", source.name());
  }
  ~Bz2Decoder() override { BZ2_bzDecompressEnd(&stream_); }

  void read(std::span<std::byte> out) override {
    if (produced_ + out.size() > expected_) {
      fail("{}: read past the expected decoded size of {} bytes", source_.name(), expected_);
    }
    while (!out.empty()) {
      if (done_) {
        fail("{}: bz2 chunk decodes to {} bytes, but should be {} bytes", source_.name(), produced_,
             expected_);
      }
      size_t n = step(out.data(), std::min<size_t>(out.size(), UINT_MAX));
      produced_ += n;
      out = out.subspan(n);
    }
  }

  void finish() override {
    char scratch[1];
    while (!done_) {
      if (step(reinterpret_cast<std::byte*>(scratch), 1) != 0) {
        fail("{}: bz2 chunk decodes to more than the expected {} bytes", source_.name(), expected_);
      }
    }
    if (stream_.avail_in != 0 || !source_.next().empty()) {
      fail("{}: unexpected data after the end of the bz2 stream", source_.name());
    }
  }

 private:
  size_t step(std::byte* out, size_t size) {
    if (stream_.avail_in == 0 && !input_done_) {
      auto piece = source_.next();
      if (piece.empty()) input_done_ = true;
      stream_.next_in = const_cast<char*>(reinterpret_cast<const char*>(piece.data()));
      stream_.avail_in = static_cast<unsigned>(piece.size());
    }
    stream_.next_out = reinterpret_cast<char*>(out);
    stream_.avail_out = static_cast<unsigned>(size);
    unsigned in_before = stream_.avail_in;
    int rc = BZ2_bzDecompress(&stream_);
    if (rc == BZ_STREAM_END) {
      done_ = true;
    } else if (rc != BZ_OK) {
      fail("{}: corrupt bz2 chunk (error {})", source_.name(), rc);
    }
    size_t n = size - stream_.avail_out;
    if (!done_ && input_done_ && n == 0 && stream_.avail_in == in_before) {
      fail("{}: bz2 chunk is truncated (decoded {} of {} bytes)", source_.name(), produced_,
           expected_);
    }
    return n;
  }

  ByteSource& source_;
  size_t expected_;
  size_t produced_ = 0;
  bool input_done_ = false, done_ = false;
  bz_stream stream_{};
};

class Bz2Encoder : public ChunkEncoder {
 public:
  Bz2Encoder(ByteSink& sink, int level) : sink_(sink), out_(kOutPiece) {
    if (BZ2_bzCompressInit(&stream_, level, 0, 0) != BZ_OK)
      fail("{}: bz2 init failed", sink.name());
  }
  ~Bz2Encoder() override { BZ2_bzCompressEnd(&stream_); }

  void write(std::span<const std::byte> data) override {
    while (!data.empty()) {
      size_t n = std::min<size_t>(data.size(), UINT_MAX);
      stream_.next_in = const_cast<char*>(reinterpret_cast<const char*>(data.data()));
      stream_.avail_in = static_cast<unsigned>(n);
      while (stream_.avail_in > 0) step(BZ_RUN);
      data = data.subspan(n);
    }
  }
  void finish() override {
    while (step(BZ_FINISH) != BZ_STREAM_END) {
    }
  }

 private:
  int step(int action) {
    stream_.next_out = reinterpret_cast<char*>(out_.data());
    stream_.avail_out = static_cast<unsigned>(out_.size());
    int rc = BZ2_bzCompress(&stream_, action);
    if (rc < 0) fail("{}: bz2 compression failed (error {})", sink_.name(), rc);
    size_t n = out_.size() - stream_.avail_out;
    if (n > 0) sink_.write({out_.data(), n});
    return rc;
  }

  ByteSink& sink_;
  bz_stream stream_{};
  Bytes out_;
};

class Bz2Codec : public Codec {
 public:
  explicit Bz2Codec(int level) : level_(level) {}
  nlohmann::json to_json() const override { return {{"id", "bz2"}, {"level", level_}}; }
  std::string id() const override { return "bz2"; }
  std::unique_ptr<ChunkDecoder> decoder(ByteSource& source, size_t decoded_size) const override {
    return std::make_unique<Bz2Decoder>(source, decoded_size);
  }
  std::unique_ptr<ChunkEncoder> encoder(ByteSink& sink, size_t, size_t) const override {
    return std::make_unique<Bz2Encoder>(sink, level_);
  }

 private:
  int level_;
};

}  // namespace

std::shared_ptr<const Codec> make_bz2_codec(int level) {
  return std::make_shared<Bz2Codec>(level);
}

}  // namespace te::zarr
