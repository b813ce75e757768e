// A chunk's encoded bytes depend on its decoded bytes only, never on how the caller split its
// writes (zarr/fixed_piece_encoder.h): every codec, write patterns that straddle the encoder's
// piece boundary in every way, and the result still decodes (by Python's numcodecs elsewhere; here
// by te-ckpt's own decoder, for the round trip).
#include "zarr/fixed_piece_encoder.h"

#include <vector>

#include "test_util.h"

namespace te::zarr {
namespace {

using namespace te::testing;

Bytes encode_in_writes(const Codec& codec, const Bytes& data, const std::vector<size_t>& sizes) {
  MemorySink sink("memory");
  auto encoder = fixed_piece_encoder(codec, sink, data.size(), 4);
  size_t offset = 0, turn = 0;
  while (offset < data.size()) {
    size_t n = std::min(sizes[turn++ % sizes.size()], data.size() - offset);
    encoder->write({data.data() + offset, n});
    offset += n;
  }
  encoder->finish();
  return std::move(sink.bytes);
}

TEST(FixedPieceEncoder, BytesDoNotDependOnWriteSizes) {
  const size_t size = 3 * kEncoderPieceBytes + 12345;
  Bytes data = compressible_bytes(size, 7);
  const std::vector<std::vector<size_t>> patterns = {
      {size},
      {1},
      {kEncoderPieceBytes},
      {kEncoderPieceBytes - 1},
      {kEncoderPieceBytes + 1},
      {4096, 65536 * 3 + 7, 100},
      {2 * kEncoderPieceBytes + 5, 3},
  };
  for (auto codec : {make_deflate_codec(true, 1), make_deflate_codec(false, 5),
                     make_deflate_codec(true, 9), make_zstd_codec(3), make_null_codec()}) {
    Bytes reference = encode_in_writes(*codec, data, patterns[0]);
    for (const auto& p : patterns) {
      EXPECT_EQ(encode_in_writes(*codec, data, p), reference)
          << codec->to_json().dump() << " with writes of " << p[0];
    }
    EXPECT_EQ(codec->decode(reference, data.size(), "reference"), data);
    EXPECT_EQ(codec->encode(data, 4), reference) << "Codec::encode feeds the same pieces";
  }
}

TEST(FixedPieceEncoder, EmptyAndShortChunks) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, kEncoderPieceBytes}) {
    Bytes data = random_bytes(n, 3);
    auto codec = make_deflate_codec(true, 1);
    Bytes whole = encode_in_writes(*codec, data, {std::max<size_t>(n, 1)});
    EXPECT_EQ(encode_in_writes(*codec, data, {7}), whole) << n;
    EXPECT_EQ(codec->decode(whole, n, "short"), data) << n;
  }
}

}  // namespace
}  // namespace te::zarr
