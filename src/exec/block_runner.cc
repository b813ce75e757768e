#include "exec/block_runner.h"

#include <cstring>
#include <map>

#include "util/checked_math.h"
#include "util/error.h"
#include "util/strided_copy.h"

namespace te::exec {
namespace {

constexpr uint64_t kSlabTargetBytes = 16 << 20;
constexpr size_t kZeroPiece = 1 << 20;

using transform::VBox;

int64_t inner_elements(const Shape& shape) {
  int64_t n = 1;
  for (size_t d = 1; d < shape.size(); ++d) n *= shape[d];
  return n;
}

// A reusable buffer that is never zero-filled (unlike std::vector).
class ScratchBuffer {
 public:
  std::byte* get(size_t bytes) {
    if (bytes > capacity_) {
      data_.reset(new std::byte[bytes]);
      capacity_ = bytes;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<std::byte[]> data_;
  size_t capacity_ = 0;
};

// One array's part of a block: its region, and the chunk streams open across slabs.
class RegionStream {
 public:
  RegionStream(const zarr::ZarrArray& array, Shape start, Shape size)
      : array_(array), m_(array.metadata()), start_(std::move(start)), size_(std::move(size)) {
    if (m_.rank() == 0)
      fail("{}: internal error: rank-0 arrays are copied, not rearranged", array.describe());
  }

  const Shape& start() const { return start_; }
  const Shape& size() const { return size_; }
  size_t row_bytes() const {
    return static_cast<size_t>(inner_elements(size_)) * m_.dtype.itemsize;
  }

  // Reads rows [lo, hi) of axis 0 (array coordinates) into `out`, dense over the region.
  void read_rows(int64_t lo, int64_t hi, std::byte* out) {
    visit_rows(lo, hi,
               [&](const Shape& index, int64_t rows, const Shape& extent, int64_t dst_off,
                   bool last_rows) {
                 auto& reader = readers_[index];
                 if (!reader) reader = array_.open_chunk(index);
                 size_t bytes = static_cast<size_t>(rows) * chunk_row_bytes();
                 if (rows_match_region(extent)) {  // the chunk's rows are the region's rows
                   reader->read({out + dst_off, bytes});
                 } else {
                   std::byte* tmp = scratch_.get(bytes);
                   reader->read({tmp, bytes});
                   strided_copy(tmp, chunk_strides(), out + dst_off, region_strides(), extent,
                                m_.dtype.itemsize);
                 }
                 if (last_rows) {
                   discard(*reader, padding_rows(index[0]) * chunk_row_bytes());
                   reader->finish();
                   readers_.erase(index);
                 }
               });
  }

  // Writes rows [lo, hi) of axis 0 from `in` (dense over the region). Returns bytes stored by
  // chunks completed in this call.
  uint64_t write_rows(int64_t lo, int64_t hi, const std::byte* in) {
    uint64_t stored = 0;
    visit_rows(lo, hi,
               [&](const Shape& index, int64_t rows, const Shape& extent, int64_t src_off,
                   bool last_rows) {
                 auto& writer = writers_[index];
                 if (!writer) writer = array_.open_chunk_writer(index);
                 size_t bytes = static_cast<size_t>(rows) * chunk_row_bytes();
                 if (rows_match_region(extent)) {
                   writer->write({in + src_off, bytes});
                 } else {
                   std::byte* tmp = scratch_.get(bytes);
                   std::memset(tmp, 0, bytes);  // edge chunks are padded with zeros
                   strided_copy(in + src_off, region_strides(), tmp, chunk_strides(), extent,
                                m_.dtype.itemsize);
                   writer->write({tmp, bytes});
                 }
                 if (last_rows) {
                   write_zeros(*writer, padding_rows(index[0]) * chunk_row_bytes());
                   stored += writer->finish();
                   writers_.erase(index);
                 }
               });
    return stored;
  }

 private:
  // True when a chunk's rows (all dimensions but the first) are laid out exactly as the region's
  // rows, so chunk bytes can go straight to or from the region buffer.
  bool rows_match_region(const Shape& extent) const {
    for (size_t d = 1; d < extent.size(); ++d) {
      if (extent[d] != m_.chunks[d] || size_[d] != m_.chunks[d]) return false;
    }
    return true;
  }

  size_t chunk_row_bytes() const {
    return static_cast<size_t>(inner_elements(m_.chunks)) * m_.dtype.itemsize;
  }
  std::vector<int64_t> chunk_strides() const {
    return c_order_strides(m_.chunks, m_.dtype.itemsize);
  }
  std::vector<int64_t> region_strides() const { return c_order_strides(size_, m_.dtype.itemsize); }
  // Rows of chunk `k` along axis 0 that lie beyond the array (stored as padding): only the last
  // chunk along axis 0 has any.
  size_t padding_rows(int64_t k) const {
    int64_t c0 = m_.chunks[0];
    return static_cast<size_t>((k + 1) * c0 - std::min((k + 1) * c0, m_.shape[0]));
  }

  // Calls visit(chunk index, rows, valid extent, offset in region buffer, last rows of chunk) for
  // every chunk overlapping rows [lo, hi), split at chunk boundaries along axis 0.
  template <typename Visit>
  void visit_rows(int64_t lo, int64_t hi, Visit&& visit) {
    const int64_t c0 = m_.chunks[0];
    const auto region_stride = region_strides();
    for (int64_t k = lo / c0; k * c0 < hi; ++k) {
      int64_t klo = std::max(lo, k * c0), khi = std::min(hi, (k + 1) * c0);
      bool last_rows = khi == std::min((k + 1) * c0, m_.shape[0]);
      Shape box_start = start_, box_size = size_;
      box_start[0] = klo;
      box_size[0] = khi - klo;
      zarr::for_each_chunk_in_box(m_, zarr::Box{box_start, box_size}, [&](const Shape& index) {
        if ((klo - index[0] * c0) != 0 && !readers_.count(index) && !writers_.count(index)) {
          fail("internal error: {} chunk streamed out of order", array_.describe());
        }
        Shape extent(index.size());
        extent[0] = khi - klo;
        int64_t offset = (klo - lo) * region_stride[0];
        for (size_t d = 1; d < index.size(); ++d) {
          int64_t chunk_lo = index[d] * m_.chunks[d];
          int64_t region_hi = start_[d] + size_[d];
          extent[d] = std::min(chunk_lo + m_.chunks[d], region_hi) - chunk_lo;
          offset += (chunk_lo - start_[d]) * region_stride[d];
        }
        visit(index, khi - klo, extent, offset, last_rows);
      });
    }
  }

  static void discard(zarr::ChunkReader& reader, size_t bytes) {
    Bytes sink(std::min(bytes, kZeroPiece));
    while (bytes > 0) {
      size_t n = std::min(bytes, sink.size());
      reader.read({sink.data(), n});
      bytes -= n;
    }
  }
  static void write_zeros(zarr::ChunkWriter& writer, size_t bytes) {
    Bytes zeros(std::min(bytes, kZeroPiece), std::byte{0});
    while (bytes > 0) {
      size_t n = std::min(bytes, zeros.size());
      writer.write({zeros.data(), n});
      bytes -= n;
    }
  }

  const zarr::ZarrArray& array_;
  const zarr::ArrayMetadata& m_;
  Shape start_, size_;
  std::map<Shape, std::unique_ptr<zarr::ChunkReader>> readers_;
  std::map<Shape, std::unique_ptr<zarr::ChunkWriter>> writers_;
  ScratchBuffer scratch_;
};

struct Slot {
  const transform::ArrayView* view;
  std::unique_ptr<RegionStream> stream;
  ScratchBuffer buffer;
  size_t size = 0;
  std::byte* data() { return buffer.get(size); }
};

std::vector<Slot> make_slots(const transform::Rearrangement& r,
                             const std::vector<transform::ArrayView>& views,
                             const std::vector<zarr::ZarrArray>& arrays, const VBox& block) {
  std::vector<Slot> slots;
  for (size_t i = 0; i < views.size(); ++i) {
    if (!r.touches(views[i], block)) continue;
    Shape start, size;
    r.region(views[i], block, start, size);
    slots.push_back({&views[i], std::make_unique<RegionStream>(arrays[i], start, size), {}});
  }
  return slots;
}

// Rows per slab for a slab-streamed block.
int64_t slab_rows(const std::vector<const RegionStream*>& streams) {
  uint64_t row_bytes = 0;
  for (const auto* s : streams) row_bytes += s->row_bytes();
  return static_cast<int64_t>(
      std::max<uint64_t>(1, kSlabTargetBytes / std::max<uint64_t>(row_bytes, 1)));
}

}  // namespace

namespace {

// The sizes that decide a block's memory and cost, summed over the arrays it touches.
struct BlockSizes {
  uint64_t region_bytes = 0;  // decoded bytes of every array's region
  uint64_t row_bytes = 0;     // one row (along zarr axis 0) of every region
  uint64_t chunk_bytes = 0;   // the largest decoded chunk
};

BlockSizes measure(const plan::TransformJob& job, const VBox& block) {
  const auto& r = job.rearrangement;
  BlockSizes sizes;
  auto add = [&](const transform::ArrayView& view, const zarr::ArrayMetadata& m) {
    if (!r.touches(view, block)) return;
    Shape start, size;
    r.region(view, block, start, size);
    // A region lies inside its array, whose size ArrayMetadata::check_sizes bounded.
    sizes.region_bytes += static_cast<uint64_t>(
        checked_product(size, static_cast<int64_t>(m.dtype.itemsize)).value_or(INT64_MAX));
    sizes.row_bytes += static_cast<uint64_t>(inner_elements(size)) * m.dtype.itemsize;
    sizes.chunk_bytes = std::max<uint64_t>(sizes.chunk_bytes, m.chunk_bytes());
  };
  for (size_t i = 0; i < job.inputs.size(); ++i) add(r.inputs[i], job.inputs[i]->metadata);
  for (size_t i = 0; i < job.outputs.size(); ++i) add(r.outputs[i], job.outputs[i].metadata);
  return sizes;
}

}  // namespace

uint64_t block_memory(const plan::TransformJob& job, const VBox& block, bool stream_slabs) {
  BlockSizes s = measure(job, block);
  if (stream_slabs && job.rearrangement.slab_axis() >= 0) {
    uint64_t rows = std::max<uint64_t>(1, kSlabTargetBytes / std::max<uint64_t>(s.row_bytes, 1));
    // Each slab holds its region rows plus one chunk-row copy per array.
    return std::min(s.region_bytes, rows * s.row_bytes) * 2;
  }
  return s.region_bytes + s.chunk_bytes;
}

uint64_t block_cost(const plan::TransformJob& job, const VBox& block) {
  return measure(job, block).region_bytes;
}

void run_block(const plan::TransformJob& job, const JobArrays& arrays, const VBox& block,
               AmaxAccumulator* amax, BlockCounters& counters, bool stream_slabs) {
  const auto& r = job.rearrangement;
  const size_t item = job.outputs[0].metadata.dtype.itemsize;
  auto ins = make_slots(r, r.inputs, arrays.inputs, block);
  auto outs = make_slots(r, r.outputs, arrays.outputs, block);

  // Processes `box` whose rows along every array's axis 0 are given by rows(stream).
  auto process = [&](const VBox& box, auto rows_of) {
    if (counters.cancel && *counters.cancel) fail("interrupted");
    uint64_t decoded = 0;
    for (auto& s : ins) {
      auto [lo, hi] = rows_of(*s.stream);
      s.size = static_cast<size_t>(hi - lo) * s.stream->row_bytes();
      s.stream->read_rows(lo, hi, s.data());
      decoded += s.size;
    }
    for (auto& o : outs) {
      auto [lo, hi] = rows_of(*o.stream);
      o.size = static_cast<size_t>(hi - lo) * o.stream->row_bytes();
      for (auto& s : ins) r.copy(*s.view, s.data(), *o.view, o.data(), box, item);
    }
    if (amax && !outs.empty() && outs[0].view == &r.outputs[0]) {
      auto [lo, hi] = rows_of(*outs[0].stream);
      amax->observe({outs[0].data(), outs[0].size}, job.outputs[0].metadata.dtype, lo, hi - lo);
    }
    uint64_t stored = 0;
    for (auto& o : outs) {
      auto [lo, hi] = rows_of(*o.stream);
      stored += o.stream->write_rows(lo, hi, o.data());
    }
    counters.decoded_bytes += decoded;
    counters.stored_bytes += stored;
  };

  int a = stream_slabs ? r.slab_axis() : -1;
  if (a < 0) {
    process(block, [](const RegionStream& s) {
      return std::pair<int64_t, int64_t>{s.start()[0], s.start()[0] + s.size()[0]};
    });
    return;
  }
  std::vector<const RegionStream*> streams;
  for (auto& s : ins) streams.push_back(s.stream.get());
  for (auto& o : outs) streams.push_back(o.stream.get());
  const int64_t per_slab = slab_rows(streams);
  const int64_t end = block.start[a] + block.size[a];
  for (int64_t lo = block.start[a]; lo < end;) {
    int64_t hi = std::min(end, lo + per_slab);
    // Slabs never straddle a chunk boundary along axis 0 of any array.
    for (const auto& view_arrays : {&arrays.inputs, &arrays.outputs}) {
      for (const auto& arr : *view_arrays) {
        int64_t c0 = arr.metadata().chunks[0];
        hi = std::min(hi, (lo / c0 + 1) * c0);
      }
    }
    VBox slab = block;
    slab.start[a] = lo;
    slab.size[a] = hi - lo;
    process(slab, [lo, hi](const RegionStream&) { return std::pair<int64_t, int64_t>{lo, hi}; });
    lo = hi;
  }
}

}  // namespace te::exec
