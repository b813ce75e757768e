#include "exec/amax.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "util/error.h"
#include "util/strided_copy.h"
#include "zarr/array.h"

namespace te::exec {
namespace {

template <typename Bits>
Bits load(const std::byte* p, bool swap) {
  Bits v;
  std::memcpy(&v, p, sizeof v);
  if (swap) {
    if constexpr (sizeof(Bits) == 2) v = static_cast<Bits>(__builtin_bswap16(v));
    if constexpr (sizeof(Bits) == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof(Bits) == 8) v = __builtin_bswap64(v);
  }
  return v;
}

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) return (sign ? -1.0f : 1.0f) * std::ldexp(static_cast<float>(mant), -24);
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

}  // namespace

float max_abs(std::span<const std::byte> data, const zarr::DType& dtype, const std::string& what) {
  bool swap = dtype.endian == zarr::Endian::kBig;
  size_t n = data.size() / dtype.itemsize;
  float m = 0.0f;
  bool finite = true;
  auto fold = [&](float v) {
    float a = std::fabs(v);
    finite &= std::isfinite(a);
    m = a > m ? a : m;
  };
  if (dtype.zarr == "bfloat16") {
    for (size_t i = 0; i < n; ++i)
      fold(std::bit_cast<float>(uint32_t{load<uint16_t>(&data[2 * i], false)} << 16));
  } else if (dtype.kind == 'f' && dtype.itemsize == 4) {
    for (size_t i = 0; i < n; ++i) fold(std::bit_cast<float>(load<uint32_t>(&data[4 * i], swap)));
  } else if (dtype.kind == 'f' && dtype.itemsize == 2 && dtype.zarr.size() == 3) {
    for (size_t i = 0; i < n; ++i) fold(half_to_float(load<uint16_t>(&data[2 * i], swap)));
  } else if (dtype.kind == 'f' && dtype.itemsize == 8 && dtype.zarr.size() == 3) {
    for (size_t i = 0; i < n; ++i) {
      double d = std::fabs(std::bit_cast<double>(load<uint64_t>(&data[8 * i], swap)));
      finite &= std::isfinite(d);
      m = std::max(m, static_cast<float>(d));
    }
  } else {
    fail("{}: cannot compute FP8 amax of dtype {} (expected a floating-point kernel)", what,
         dtype.name());
  }
  if (!finite) fail("{}: the kernel holds NaN or Inf, so its FP8 amax is undefined", what);
  return m;
}

void AmaxAccumulator::observe(std::span<const std::byte> data, const zarr::DType& dtype,
                              int64_t first_row, int64_t rows) {
  if (rows <= 0) return;
  if (layers_ == 0) {
    float m = max_abs(data, dtype, kernel_);
    std::lock_guard lock(mu_);
    amax_[0] = std::max(amax_[0], m);
    return;
  }
  size_t row_bytes = data.size() / static_cast<size_t>(rows);
  for (int64_t r = 0; r < rows; ++r) {
    float m = max_abs(data.subspan(static_cast<size_t>(r) * row_bytes, row_bytes), dtype, kernel_);
    std::lock_guard lock(mu_);
    float& slot = amax_[static_cast<size_t>(first_row + r)];
    slot = std::max(slot, m);
  }
}

void AmaxAccumulator::fold_in(const std::vector<float>& other) {
  std::lock_guard lock(mu_);
  if (other.size() != amax_.size())
    fail("internal error: {}: {} amax values folded into {}", kernel_, other.size(), amax_.size());
  for (size_t i = 0; i < other.size(); ++i) amax_[i] = std::max(amax_[i], other[i]);
}

void observe_array(const checkpoint::ArrayEntry& entry, AmaxAccumulator& amax) {
  const auto& m = entry.metadata;
  auto array = entry.open();
  if (entry.is_inline()) {  // small: one chunk in memory, observed whole
    int64_t rows = m.rank() > 0 ? m.shape[0] : 1;
    amax.observe(array.read_all(), m.dtype, 0, rows);
    return;
  }
  zarr::for_each_chunk_in_box(m, zarr::Box{Shape(m.rank(), 0), m.shape}, [&](const Shape& index) {
    auto reader = array.open_chunk(index);
    size_t item = m.dtype.itemsize;
    int64_t inner = 1;
    for (int d = 1; d < m.rank(); ++d) inner *= m.chunks[d];
    Bytes row(static_cast<size_t>(inner) * item), valid;
    Shape extent(m.chunks.begin() + 1, m.chunks.end());
    for (int d = 1; d < m.rank(); ++d)
      extent[d - 1] = std::min(m.chunks[d], m.shape[d] - index[d] * m.chunks[d]);
    valid.resize(static_cast<size_t>(num_elements(extent)) * item);
    for (int64_t r = 0; r < m.chunks[0]; ++r) {
      reader->read(row);
      int64_t global = index[0] * m.chunks[0] + r;
      if (global >= m.shape[0]) continue;
      Shape inner_chunks(m.chunks.begin() + 1, m.chunks.end());
      strided_copy(row.data(), c_order_strides(inner_chunks, item), valid.data(),
                   c_order_strides(extent, item), extent, item);
      amax.observe(valid, m.dtype, global, 1);
    }
    reader->finish();
  });
}

void combine_amax(std::vector<std::unique_ptr<AmaxAccumulator>>& amax,
                  const std::function<std::vector<uint64_t>(const std::vector<uint64_t>&)>&
                      maximum_over_processes) {
  std::vector<uint64_t> bits;
  for (const auto& a : amax)
    for (float v : a->amax()) bits.push_back(std::bit_cast<uint32_t>(v));
  const std::vector<uint64_t> maxima = maximum_over_processes(bits);
  if (maxima.size() != bits.size())
    fail("internal error: {} amax values combined into {}", bits.size(), maxima.size());
  size_t next = 0;
  for (auto& a : amax) {
    std::vector<float> combined;
    for (size_t i = 0; i < a->amax().size(); ++i)
      combined.push_back(std::bit_cast<float>(static_cast<uint32_t>(maxima[next++])));
    a->fold_in(combined);
  }
}

}  // namespace te::exec
