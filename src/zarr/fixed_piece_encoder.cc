#include "zarr/fixed_piece_encoder.h"

#include <algorithm>
#include <cstring>

#include "util/error.h"

namespace te::zarr {
namespace {

class FixedPieceEncoder : public ChunkEncoder {
 public:
  FixedPieceEncoder(std::unique_ptr<ChunkEncoder> inner, size_t decoded_size)
      : inner_(std::move(inner)), capacity_(std::min(kEncoderPieceBytes, decoded_size)) {}

  void write(std::span<const std::byte> data) override {
    if (staged_ > 0) {
      size_t n = std::min(data.size(), kEncoderPieceBytes - staged_);
      if (staged_ + n > capacity_) overflow();
      std::memcpy(piece_.get() + staged_, data.data(), n);
      staged_ += n;
      data = data.subspan(n);
      if (staged_ < kEncoderPieceBytes) return;
      inner_->write({piece_.get(), staged_});
      staged_ = 0;
    }
    while (data.size() >= kEncoderPieceBytes) {
      inner_->write(data.first(kEncoderPieceBytes));
      data = data.subspan(kEncoderPieceBytes);
    }
    if (!data.empty()) {
      if (data.size() > capacity_) overflow();
      // A chunk smaller than a piece never stages more than the chunk.
      if (!piece_) piece_.reset(new std::byte[capacity_]);
      std::memcpy(piece_.get(), data.data(), data.size());
      staged_ = data.size();
    }
  }

  void finish() override {
    if (staged_ > 0) inner_->write({piece_.get(), staged_});
    staged_ = 0;
    inner_->finish();
  }

 private:
  [[noreturn]] static void overflow() {
    fail("internal error: more bytes written to a chunk encoder than the chunk holds");
  }

  std::unique_ptr<ChunkEncoder> inner_;
  size_t capacity_;
  std::unique_ptr<std::byte[]> piece_;
  size_t staged_ = 0;
};

}  // namespace

std::unique_ptr<ChunkEncoder> fixed_piece_encoder(const Codec& codec, ByteSink& sink,
                                                  size_t decoded_size, size_t itemsize) {
  return std::make_unique<FixedPieceEncoder>(codec.encoder(sink, decoded_size, itemsize),
                                             decoded_size);
}

}  // namespace te::zarr
