// zstd chunks (one frame). Decoding streams and never trusts the frame's content size, which
// TensorStore before v0.1.85 did not record; encoding pledges the chunk size so that every frame
// records it and older numcodecs can read it too.
#include <zstd.h>

#include <algorithm>

#include "util/error.h"
#include "zarr/codec.h"

namespace te::zarr {
namespace {

constexpr size_t kOutPiece = 256 << 10;

class ZstdDecoder : public ChunkDecoder {
 public:
  ZstdDecoder(ByteSource& source, size_t decoded_size)
      : source_(source), expected_(decoded_size), dctx_(ZSTD_createDStream(), ZSTD_freeDStream) {
    if (!dctx_) fail("{}: out of memory creating a zstd decoder", source.name());
  }

  void read(std::span<std::byte> out) override {
    if (produced_ + out.size() > expected_) {
      fail("{}: read past the expected decoded size of {} bytes", source_.name(), expected_);
    }
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    while (ob.pos < ob.size) {
      if (frame_done_) {
        fail("{}: zstd chunk decodes to {} bytes, but should be {} bytes", source_.name(),
             produced_ + ob.pos, expected_);
      }
      step(ob);
    }
    produced_ += ob.pos;
  }

  void finish() override {
    std::byte scratch[1];
    while (!frame_done_) {
      ZSTD_outBuffer ob{scratch, 1, 0};
      step(ob);
      if (ob.pos != 0) {
        fail("{}: zstd chunk decodes to more than the expected {} bytes", source_.name(),
             expected_);
      }
    }
    if (in_.pos != in_.size || !source_.next().empty()) {
      fail("{}: unexpected data after the end of the zstd frame", source_.name());
    }
  }

 private:
  void step(ZSTD_outBuffer& ob) {
    if (in_.pos == in_.size && !input_done_) {
      auto piece = source_.next();
      if (piece.empty()) input_done_ = true;
      in_ = {piece.data(), piece.size(), 0};
    }
    size_t in_before = in_.pos, out_before = ob.pos;
    size_t rc = ZSTD_decompressStream(dctx_.get(), &ob, &in_);
    if (ZSTD_isError(rc)) {
      fail("{}: corrupt zstd chunk ({})", source_.name(), ZSTD_getErrorName(rc));
    }
    if (rc == 0) frame_done_ = true;
    if (!frame_done_ && input_done_ && in_.pos == in_before && ob.pos == out_before) {
      fail("{}: zstd chunk is truncated (decoded {} of {} bytes)", source_.name(),
           produced_ + ob.pos, expected_);
    }
  }

  ByteSource& source_;
  size_t expected_;
  size_t produced_ = 0;
  bool input_done_ = false;
  bool frame_done_ = false;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> dctx_;
};

class ZstdEncoder : public ChunkEncoder {
 public:
  ZstdEncoder(ByteSink& sink, size_t decoded_size, int level)
      : sink_(sink), cctx_(ZSTD_createCCtx(), ZSTD_freeCCtx), out_(kOutPiece) {
    if (!cctx_) fail("{}: out of memory creating a zstd encoder", sink.name());
    check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, level));
    check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_contentSizeFlag, 1));
    check(ZSTD_CCtx_setPledgedSrcSize(cctx_.get(), decoded_size));
  }

  void write(std::span<const std::byte> data) override {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (in.pos < in.size) drain(ZSTD_e_continue, in);
  }

  void finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (drain(ZSTD_e_end, in) != 0) {
    }
  }

 private:
  size_t drain(ZSTD_EndDirective mode, ZSTD_inBuffer& in) {
    ZSTD_outBuffer ob{out_.data(), out_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx_.get(), &ob, &in, mode);
    check(rc);
    if (ob.pos > 0) sink_.write({out_.data(), ob.pos});
    return rc;
  }
  void check(size_t rc) {
    if (ZSTD_isError(rc))
      fail("{}: zstd compression failed ({})", sink_.name(), ZSTD_getErrorName(rc));
  }

  ByteSink& sink_;
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx_;
  Bytes out_;
};

class ZstdCodec : public Codec {
 public:
  explicit ZstdCodec(int level) : level_(level) {}
  nlohmann::json to_json() const override { return {{"id", "zstd"}, {"level", level_}}; }
  std::string id() const override { return "zstd"; }
  std::unique_ptr<ChunkDecoder> decoder(ByteSource& source, size_t decoded_size) const override {
    return std::make_unique<ZstdDecoder>(source, decoded_size);
  }
  std::unique_ptr<ChunkEncoder> encoder(ByteSink& sink, size_t decoded_size,
                                        size_t) const override {
    return std::make_unique<ZstdEncoder>(sink, decoded_size, level_);
  }

 private:
  int level_;
};

}  // namespace

std::pair<int, int> zstd_level_range() {
  return {ZSTD_minCLevel(), ZSTD_maxCLevel()};
}

std::shared_ptr<const Codec> make_zstd_codec(int level) {
  return std::make_shared<ZstdCodec>(level);
}

}  // namespace te::zarr
