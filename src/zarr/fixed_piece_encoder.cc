#include "zarr/fixed_piece_encoder.h"

#include <algorithm>
#include <cstring>

namespace te::zarr {
namespace {

class FixedPieceEncoder : public ChunkEncoder {
 public:
  explicit FixedPieceEncoder(std::unique_ptr<ChunkEncoder> inner) : inner_(std::move(inner)) {}

  void write(std::span<const std::byte> data) override {
    if (staged_ > 0) {
      size_t n = std::min(data.size(), kEncoderPieceBytes - staged_);
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
      if (!piece_) piece_.reset(new std::byte[kEncoderPieceBytes]);
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
  std::unique_ptr<ChunkEncoder> inner_;
  std::unique_ptr<std::byte[]> piece_;
  size_t staged_ = 0;
};

}  // namespace

std::unique_ptr<ChunkEncoder> fixed_piece_encoder(const Codec& codec, ByteSink& sink,
                                                  size_t decoded_size, size_t itemsize) {
  return std::make_unique<FixedPieceEncoder>(codec.encoder(sink, decoded_size, itemsize));
}

}  // namespace te::zarr
