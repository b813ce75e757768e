#include "exec/chunk_copier.h"

#include <algorithm>

#include "plan/chunk_copy.h"

namespace te::exec {
namespace {

// The index-th chunk of `grid` in C order.
Shape chunk_at(const Shape& grid, uint64_t index) {
  Shape chunk(grid.size());
  for (size_t d = grid.size(); d-- > 0;) {
    chunk[d] = static_cast<int64_t>(index % static_cast<uint64_t>(grid[d]));
    index /= static_cast<uint64_t>(grid[d]);
  }
  return chunk;
}

void copy_chunk(const plan::TransformJob& job, const JobArrays& arrays, kv::KvStore& out_store,
                size_t output, const Shape& chunk, AmaxAccumulator* amax,
                ChunkCopyCounters& counters) {
  const zarr::ZarrArray& out = arrays.outputs[output];
  const plan::ChunkSource src = plan::source_chunk(job.rearrangement, output, chunk);
  const zarr::ZarrArray& in = arrays.inputs[src.input];
  const zarr::Box box = zarr::chunk_box(out.metadata(), chunk);
  const uint64_t elements_bytes =
      static_cast<uint64_t>(num_elements(box.size)) * out.metadata().dtype.itemsize;
  if (amax && output == 0) {
    // The same elements in the same order as the output chunk's box (identical layouts).
    Bytes data(static_cast<size_t>(elements_bytes));
    in.read_region(zarr::chunk_box(in.metadata(), src.chunk), data);
    amax->observe(data, out.metadata().dtype, box.start.empty() ? 0 : box.start[0],
                  box.size.empty() ? 1 : box.size[0]);
  }
  if (in.metadata().is_zarr3() || out.metadata().is_zarr3()) {
    // An inner chunk of a shard, or into a shard of its own: the compressed bytes, through memory.
    if (auto payload = in.read_payload(src.chunk)) {
      counters.stored_bytes += out.write_payload(chunk, *payload);
      counters.chunks += 1;
    }
  } else if (const std::string from = in.chunk_key(src.chunk); in.store().size(from)) {
    counters.stored_bytes += out_store.copy_from(in.store(), from, out.chunk_key(chunk));
    counters.chunks += 1;
  }
  counters.decoded_bytes += elements_bytes;
}

}  // namespace

std::vector<TaskGroup> chunk_copy_tasks(const plan::TransformJob& job, const JobArrays& arrays,
                                        kv::KvStore& out_store, AmaxAccumulator* amax,
                                        ChunkCopyCounters& counters) {
  std::vector<TaskGroup> groups;
  for (size_t o = 0; o < job.outputs.size(); ++o) {
    const zarr::ArrayMetadata& m = job.outputs[o].metadata;
    const Shape grid = m.grid_shape();
    const int64_t count = num_elements(grid);
    if (count <= 0) continue;
    // A copy holds no chunk in memory (unless decoded for max|W|, or a zarr3 payload, at most a
    // chunk's bytes) and costs far less per byte than decoding and encoding.
    bool zarr3 = m.is_zarr3();
    for (const auto* in : job.inputs) zarr3 = zarr3 || in->metadata.is_zarr3();
    const uint64_t held = (amax && o == 0) || zarr3 ? m.chunk_bytes() : 0;
    const uint64_t cost = m.chunk_bytes() / 8;
    auto make = [&job, &arrays, &out_store, amax, &counters, o, grid, held, cost](uint64_t index) {
      return Task{held, cost, [&job, &arrays, &out_store, amax, &counters, o, grid, index] {
                    copy_chunk(job, arrays, out_store, o, chunk_at(grid, index), amax, counters);
                  }};
    };
    groups.push_back({static_cast<uint64_t>(count), cost, std::move(make)});
  }
  return groups;
}

}  // namespace te::exec
