#include "exec/executor.h"

#include <cstring>
#include <map>
#include <mutex>

#include "checkpoint/pax_metadata.h"
#include "exec/amax.h"
#include "exec/block_runner.h"
#include "exec/worker_pool.h"
#include "util/error.h"
#include "util/file.h"
#include "util/strided_copy.h"

namespace te::exec {
namespace {

using checkpoint::ArrayEntry;
using checkpoint::Format;

struct Output {
  const plan::Plan& plan;
  fs::path dir;
  fs::path array_root;

  // The folder of an output array: its name, or (for a T5X array copied under its own name)
  // the folder the source index points at.
  fs::path folder(const std::string& name) const { return array_root / name; }
};

Bytes float32_bytes(const std::vector<float>& values) {
  Bytes b(values.size() * 4);
  std::memcpy(b.data(), values.data(), b.size());
  return b;
}

std::string fp8_name(const plan::Fp8Gemm& g, const char* kind, const char* tensor) {
  return fmt::format("{}{}_{}_{}", g.prefix, kind, tensor, g.postfix);
}

// Streams a stored array chunk by chunk, row by row, into `amax` (FP8 metadata of a kernel that is
// copied unchanged).
void observe_stored(const ArrayEntry& entry, AmaxAccumulator& amax) {
  const auto& m = entry.metadata;
  if (entry.inline_array) {
    int64_t rows = m.rank() > 0 ? m.shape[0] : 1;
    amax.observe(entry.inline_array->data, m.dtype, 0, rows);
    return;
  }
  auto array = zarr::ZarrArray::open_with_metadata(*entry.folder, m);
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

}  // namespace

uint64_t copy_tree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  auto status = fs::status(from, ec);
  if (ec) fail("cannot read {}: {}", from.string(), ec.message());
  if (fs::is_directory(status)) {
    fs::create_directories(to);
    uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(from))
      total += copy_tree(e.path(), to / e.path().filename());
    return total;
  }
  if (!fs::is_regular_file(status))
    fail("{}: not a regular file or folder; refusing to copy it", from.string());
  return copy_file_bytes(from, to);
}

ExecResult execute(const plan::Plan& plan, const fs::path& out_dir, const ExecSettings& settings) {
  const checkpoint::Checkpoint& src = *plan.source;
  Output out{plan, out_dir, src.format == Format::kPaxLayout1 ? out_dir / "state" : out_dir};
  fs::create_directories(out.array_root);
  ExecResult result;
  std::atomic<bool> never_cancel{false};
  const std::atomic<bool>& cancel = settings.cancel ? *settings.cancel : never_cancel;

  // FP8 accumulators, one per generated GEMM.
  std::vector<std::unique_ptr<AmaxAccumulator>> amax;
  for (const auto& g : plan.fp8_gemms)
    amax.push_back(std::make_unique<AmaxAccumulator>(g.kernel, g.layers));

  // Arrays of every job, opened or created up front (creating writes .zarray).
  std::vector<JobArrays> job_arrays(plan.jobs.size());
  std::map<std::string, checkpoint::InlineArray> inline_results;
  std::mutex inline_mu;
  BlockCounters counters;
  std::atomic<uint64_t> copied_bytes{0};
  uint64_t total = 0;

  std::vector<Task> tasks;
  for (size_t j = 0; j < plan.jobs.size(); ++j) {
    const auto& job = plan.jobs[j];
    AmaxAccumulator* acc =
        job.fp8_gemm >= 0 ? amax[static_cast<size_t>(job.fp8_gemm)].get() : nullptr;
    bool small = job.outputs[0].is_inline;
    for (const auto* in : job.inputs) {
      small |= in->inline_array.has_value();
      result.bytes_read += in->stored_bytes;
      total +=
          static_cast<uint64_t>(num_elements(in->metadata.shape)) * in->metadata.dtype.itemsize;
    }
    result.arrays_converted += job.outputs.size();
    if (small) {
      // Inline arrays (T5X models without partitioning): rearranged whole, in memory.
      tasks.push_back(
          {0, [&, acc, j] {
             const auto& job = plan.jobs[j];
             const auto& r = job.rearrangement;
             std::vector<Bytes> in_data;
             for (const auto* in : job.inputs) {
               in_data.push_back(
                   in->inline_array
                       ? in->inline_array->data
                       : zarr::ZarrArray::open_with_metadata(*in->folder, in->metadata).read_all());
             }
             auto box = r.full_box();
             for (size_t o = 0; o < job.outputs.size(); ++o) {
               const auto& spec = job.outputs[o];
               Bytes data(static_cast<size_t>(num_elements(spec.metadata.shape)) *
                          spec.metadata.dtype.itemsize);
               for (size_t i = 0; i < in_data.size(); ++i) {
                 r.copy(r.inputs[i], in_data[i].data(), r.outputs[o], data.data(), box,
                        spec.metadata.dtype.itemsize);
               }
               if (acc && o == 0)
                 acc->observe(data, spec.metadata.dtype, 0,
                              spec.metadata.rank() ? spec.metadata.shape[0] : 1);
               if (spec.is_inline) {
                 std::lock_guard lock(inline_mu);
                 inline_results[spec.name] = {spec.metadata.shape, spec.metadata.dtype,
                                              std::move(data), 1};
               } else {
                 zarr::ZarrArray::create(out.folder(spec.name), spec.metadata).write_all(data);
               }
             }
             for (const auto& d : in_data) counters.decoded_bytes += d.size();
           }});
      continue;
    }
    for (const auto* in : job.inputs) {
      job_arrays[j].inputs.push_back(
          zarr::ZarrArray::open_with_metadata(*in->folder, in->metadata));
    }
    for (const auto& o : job.outputs) {
      job_arrays[j].outputs.push_back(zarr::ZarrArray::create(out.folder(o.name), o.metadata));
    }
    std::vector<Shape> in_chunks, out_chunks;
    for (const auto* in : job.inputs) in_chunks.push_back(in->metadata.chunks);
    for (const auto& o : job.outputs) out_chunks.push_back(o.metadata.chunks);
    for (const auto& block : job.rearrangement.plan_blocks(in_chunks, out_chunks)) {
      tasks.push_back({block_memory(job, block, settings.stream_slabs), [&, acc, j, block] {
                         run_block(plan.jobs[j], job_arrays[j], block, acc, counters,
                                   settings.stream_slabs);
                       }});
    }
  }
  for (const auto& copy : plan.copies) {
    AmaxAccumulator* acc =
        copy.fp8_gemm >= 0 ? amax[static_cast<size_t>(copy.fp8_gemm)].get() : nullptr;
    result.arrays_copied++;
    result.bytes_read += copy.source->stored_bytes;
    result.bytes_written += copy.source->inline_array ? 0 : copy.source->stored_bytes;
    total += copy.source->stored_bytes;
    if (copy.source->inline_array && !acc) continue;  // kept in the index
    tasks.push_back({copy.source->metadata.chunk_bytes(), [&, acc, copy] {
                       if (!copy.source->inline_array) {
                         fs::path target = copy.target_name == copy.source->name
                                               ? out.array_root / fs::relative(*copy.source->folder,
                                                                               src.array_root)
                                               : out.folder(copy.target_name);
                         copy_tree(*copy.source->folder, target);
                       }
                       if (acc) observe_stored(*copy.source, *acc);
                       copied_bytes += copy.source->stored_bytes;
                     }});
  }
  for (const auto& f : plan.file_copies) {
    tasks.push_back({0, [&, f] { copied_bytes += copy_tree(src.path / f, out_dir / f); }});
    result.files_copied++;
  }

  // Progress: decoded bytes of converted arrays plus stored bytes of copies.
  std::vector<Task> wrapped;
  for (auto& t : tasks) {
    wrapped.push_back({t.bytes, [&, run = std::move(t.run)] {
                         if (cancel) throw Error("interrupted");
                         run();
                         if (settings.progress)
                           settings.progress(counters.decoded_bytes + copied_bytes, total);
                       }});
  }
  result.peak_task_bytes =
      run_tasks(std::move(wrapped), settings.threads, settings.memory_limit, cancel);
  result.bytes_written += counters.stored_bytes;

  // FP8 metadata arrays.
  for (size_t g = 0; g < plan.fp8_gemms.size(); ++g) {
    const auto& gemm = plan.fp8_gemms[g];
    int64_t layers = std::max<int64_t>(gemm.layers, 1);
    int64_t hist = plan.amax_history_len;
    auto f32 = zarr::parse_zarr_dtype("<f4", "fp8");
    for (const char* t : {"i", "w", "g"}) {
      std::vector<float> a(static_cast<size_t>(layers * hist), 0.0f),
          s(static_cast<size_t>(layers), 1.0f);
      if (std::string(t) == "w") {
        for (int64_t l = 0; l < layers; ++l)
          a[static_cast<size_t>(l * hist)] = amax[g]->amax()[static_cast<size_t>(l)];
      }
      Shape amax_shape = gemm.layers > 0 ? Shape{gemm.layers, hist} : Shape{hist};
      Shape scale_shape = gemm.layers > 0 ? Shape{gemm.layers, 1} : Shape{1};
      for (auto [kind, shape, values] :
           {std::tuple{"amax", amax_shape, &a}, std::tuple{"scale", scale_shape, &s}}) {
        std::string name = fp8_name(gemm, kind, t);
        auto array = zarr::ZarrArray::create(
            out.folder(name), zarr::ArrayMetadata::make(shape, shape, f32, gemm.codec));
        array.write_all(float32_bytes(*values));
        result.fp8_arrays++;
      }
    }
  }

  // The checkpoint's own index.
  if (src.format == Format::kT5x) {
    checkpoint::T5xIndex index = *src.t5x_index;
    for (const auto& job : plan.jobs) {
      for (const auto* in : job.inputs) index.remove(in->name);
    }
    for (const auto& d : plan.dropped) index.remove(d);
    for (const auto& c : plan.copies) {
      if (c.target_name != c.source->name) index.remove(c.source->name);
    }
    for (const auto& job : plan.jobs) {
      for (const auto& o : job.outputs) {
        index.set(o.name, o.is_inline ? checkpoint::encode_inline_array(inline_results.at(o.name))
                                      : checkpoint::T5xIndex::make_spec_leaf(o.name, o.metadata));
      }
    }
    for (const auto& c : plan.copies) {
      if (c.target_name == c.source->name) continue;
      index.set(c.target_name,
                c.source->inline_array
                    ? checkpoint::encode_inline_array(*c.source->inline_array)
                    : checkpoint::T5xIndex::make_spec_leaf(c.target_name, c.source->metadata));
    }
    for (const auto& gemm : plan.fp8_gemms) {
      for (const char* kind : {"amax", "scale"}) {
        for (const char* t : {"i", "w", "g"}) {
          std::string name = fp8_name(gemm, kind, t);
          index.set(name, checkpoint::T5xIndex::make_spec_leaf(
                              name, zarr::ZarrArray::open(out.folder(name)).metadata()));
        }
      }
    }
    index.sort_keys();
    write_file(out_dir / "checkpoint", index.encode());
  } else if (src.format == Format::kPaxLayout1) {
    fs::create_directories(out_dir / "metadata");
    const auto& source_md = *src.pax_metadata;
    if (source_md.contains("train_state_metadata")) {
      std::map<std::string, checkpoint::PaxMetadataLeaf> source_leaves;
      for (auto& leaf : checkpoint::pax_metadata_leaves(source_md)) source_leaves[leaf.name] = leaf;
      std::vector<checkpoint::PaxMetadataLeaf> leaves;
      auto add = [&](const std::string& name, const zarr::ArrayMetadata& m,
                     const std::string& from) {
        checkpoint::PaxMetadataLeaf leaf{name, m.dtype.name(), m.shape, false};
        if (auto it = source_leaves.find(from); it != source_leaves.end()) {
          leaf.dtype = it->second.dtype;
          leaf.masked = it->second.masked;
        }
        leaves.push_back(leaf);
      };
      for (const auto& job : plan.jobs) {
        for (const auto& o : job.outputs) add(o.name, o.metadata, job.inputs[0]->name);
      }
      for (const auto& c : plan.copies) add(c.target_name, c.source->metadata, c.source->name);
      for (const auto& gemm : plan.fp8_gemms) {
        for (const char* kind : {"amax", "scale"}) {
          for (const char* t : {"i", "w", "g"}) {
            std::string name = fp8_name(gemm, kind, t);
            add(name, zarr::ZarrArray::open(out.folder(name)).metadata(), "");
          }
        }
      }
      std::sort(leaves.begin(), leaves.end(),
                [](const auto& a, const auto& b) { return a.name < b.name; });
      write_text_file(
          out_dir / "metadata" / "metadata",
          checkpoint::python_json_dumps(checkpoint::make_pax_metadata(source_md, leaves)));
    } else {
      copy_file_bytes(src.path / "metadata" / "metadata", out_dir / "metadata" / "metadata");
    }
  }
  return result;
}

}  // namespace te::exec
