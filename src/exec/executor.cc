#include "exec/executor.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "exec/amax.h"
#include "exec/block_runner.h"
#include "exec/chunk_copier.h"
#include "exec/container_profile.h"
#include "exec/fp8_arrays.h"
#include "exec/job_grid.h"
#include "exec/orbax_metadata_from_scratch.h"
#include "exec/orbax_output.h"
#include "exec/worker_pool.h"
#include "kvstore/file/copy_tree.h"
#include "kvstore/file/file_store.h"
#include "kvstore/memory/memory_store.h"
#include "kvstore/ocdbt/ocdbt_writer.h"
#include "util/error.h"
#include "util/file.h"
#include "util/strided_copy.h"
#include "zarr/chunk_payload.h"

namespace te::exec {
namespace {

// Where output arrays go: `array_root / name` (the container's array root), through a file store
// at the array root, or for an Orbax checkpoint into one new OCDBT database at the item folder
// (`database`, committed once every array is in it); arrays that stay inline in the index go to
// a memory store (only when the container's index holds arrays inline: in OCDBT every array is a
// zarr array).
struct Output {
  Output(fs::path d, fs::path root, bool ocdbt, bool index_holds_inline)
      : dir(std::move(d)), array_root(std::move(root)), inline_in_index(index_holds_inline) {
    fs::create_directories(array_root);
    if (ocdbt) {
      database = std::make_shared<kv::OcdbtWriter>(std::make_shared<kv::FileStore>(array_root));
      store = database;
    } else {
      store = std::make_shared<kv::FileStore>(array_root);
    }
  }
  fs::path dir;
  fs::path array_root;
  bool inline_in_index;
  std::shared_ptr<kv::OcdbtWriter> database;
  std::shared_ptr<kv::KvStore> store;
  std::shared_ptr<kv::MemoryStore> inline_store =
      std::make_shared<kv::MemoryStore>("inline arrays of the output index");
  fs::path folder(const std::string& name) const { return array_root / name; }
  zarr::ZarrArray create(const plan::OutputArray& spec, bool write_metadata = true) const {
    std::shared_ptr<kv::KvStore> target = spec.is_inline && inline_in_index
                                              ? std::shared_ptr<kv::KvStore>(inline_store)
                                              : std::shared_ptr<kv::KvStore>(store);
    return zarr::ZarrArray::create(std::move(target), spec.name + "/", spec.metadata,
                                   write_metadata);
  }
};

}  // namespace

RecodeCounts recode_array(const checkpoint::ArrayEntry& array, const zarr::ZarrArray& to) {
  const zarr::ZarrArray from = array.open();
  const Shape& shape = from.metadata().shape;
  const Shape& chunks = from.metadata().chunks;
  if (to.metadata().chunks != chunks || to.metadata().shape != shape) {
    fail("internal error: {} is re-encoded into a different chunk grid", array.name);
  }
  const bool move_payloads = !zarr::payload_obstacle(from.metadata(), to.metadata());
  RecodeCounts counts;
  Shape grid(shape.size()), index(shape.size(), 0);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return counts;  // no element, no chunk
    grid[d] = (shape[d] + chunks[d] - 1) / chunks[d];
  }
  for (;;) {
    std::optional<Bytes> payload;
    if (move_payloads) payload = from.read_payload(index);
    if (payload) {
      counts.moved_bytes += to.write_payload(index, *payload);
      ++counts.moved_chunks;
    } else {
      const Bytes chunk = from.read_chunk(index);
      to.write_chunk(index, chunk);
      counts.decoded_bytes += chunk.size();
    }
    size_t d = shape.size();
    while (d > 0 && ++index[d - 1] == grid[d - 1]) index[--d] = 0;
    if (d == 0) return counts;
  }
}

uint64_t copy_array_keys(const checkpoint::ArrayEntry& array, kv::KvStore& to,
                         const std::string& to_prefix) {
  uint64_t total = 0;
  for (const auto& entry : array.store->list(array.prefix)) {
    total +=
        to.copy_from(*array.store, entry.key, to_prefix + entry.key.substr(array.prefix.size()));
  }
  return total;
}

ExecResult execute(const plan::Plan& plan, const fs::path& out_dir, const ExecSettings& settings) {
  const checkpoint::Checkpoint& src = *plan.source;
  const OutputContainer& container = settings.container;
  if (!container.profile) fail("internal error: the output container has no profile");
  const ContainerProfile& profile = *container.profile;
  Output out(out_dir, out_dir / container.array_root, container.ocdbt,
             profile.index_holds_inline_arrays(container));
  if (settings.wrap_array_store) out.store = settings.wrap_array_store(out.store);
  ExecResult result;
  std::atomic<bool> never_cancel{false};
  const std::atomic<bool>& cancel = settings.cancel ? *settings.cancel : never_cancel;

  // FP8 accumulators, one per generated GEMM.
  std::vector<std::unique_ptr<AmaxAccumulator>> amax;
  for (const auto& g : plan.fp8_gemms)
    amax.push_back(std::make_unique<AmaxAccumulator>(g.kernel, g.layers));

  // Arrays of every job, opened or created up front (creating writes .zarray).
  std::vector<JobArrays> job_arrays(plan.jobs.size());
  BlockCounters counters;
  counters.cancel = &cancel;
  ChunkCopyCounters chunk_copies;
  std::mutex ticker_mu;
  std::condition_variable ticker_cv;
  std::atomic<uint64_t> copied_bytes{0};   // stored bytes of arrays copied (progress)
  std::atomic<uint64_t> recoded_bytes{0};  // decoded bytes of copies re-encoded (zarr version)
  std::atomic<uint64_t> moved_bytes{0};    // payloads of copies moved into the other zarr version
  std::atomic<uint64_t> moved_chunks{0};
  std::atomic<uint64_t> file_bytes{0};  // bytes of other files copied (not in progress)
  uint64_t total = 0;

  std::vector<Task> tasks;
  // One group per job, its blocks made as the workers need them (then one per other task).
  std::vector<TaskGroup> block_groups;
  for (size_t j = 0; j < plan.jobs.size(); ++j) {
    const auto& job = plan.jobs[j];
    AmaxAccumulator* acc =
        job.fp8_gemm >= 0 ? amax[static_cast<size_t>(job.fp8_gemm)].get() : nullptr;
    for (const auto* in : job.inputs) {
      result.bytes_read += in->stored_bytes;
      total +=
          static_cast<uint64_t>(num_elements(in->metadata.shape)) * in->metadata.dtype.itemsize;
    }
    result.arrays_converted += job.outputs.size();
    if (is_small_job(job)) {
      if (settings.share && !settings.share->small_jobs) continue;
      // Small arrays (inline in an index): rearranged whole, in memory.
      tasks.push_back({0, 0, [&, acc, j] {
                         const auto& job = plan.jobs[j];
                         const auto& r = job.rearrangement;
                         std::vector<Bytes> in_data;
                         for (const auto* in : job.inputs) in_data.push_back(in->open().read_all());
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
                           out.create(spec).write_all(data);
                         }
                         for (const auto& d : in_data) counters.decoded_bytes += d.size();
                       }});
      continue;
    }
    transform::BlockGrid grid = job_block_grid(job);
    uint64_t first = 0, end = static_cast<uint64_t>(grid.size());
    if (settings.share) std::tie(first, end) = settings.share->job_blocks.at(j);
    // The output arrays (their .zarray) are created where blocks of them run, and by the process
    // that runs the small jobs when the array has no block at all.
    const bool mine =
        first < end || (grid.size() == 0 && (!settings.share || settings.share->small_jobs));
    if (!mine) continue;
    for (const auto* in : job.inputs) job_arrays[j].inputs.push_back(in->open());
    // One process writes the metadata (an OCDBT database takes each key once): the one with the
    // job's first block, or with no block the one that runs the small jobs.
    for (const auto& o : job.outputs) job_arrays[j].outputs.push_back(out.create(o, first == 0));
    if (job.chunk_copy) {
      // A chunk-copied job is not split across processes: the one that holds its first block
      // copies every chunk.
      if (first == 0) {
        for (auto& g : chunk_copy_tasks(job, job_arrays[j], *out.store, acc, chunk_copies))
          block_groups.push_back(std::move(g));
      }
      continue;
    }
    if (first >= end) continue;
    auto make = [&, acc, j, grid, first](uint64_t index) {
      transform::VBox block = grid.at(static_cast<int64_t>(first + index));
      return Task{block_memory(plan.jobs[j], block, settings.stream_slabs),
                  block_cost(plan.jobs[j], block), [&, acc, j, block] {
                    run_block(plan.jobs[j], job_arrays[j], block, acc, counters,
                              settings.stream_slabs);
                  }};
    };
    block_groups.push_back(
        {end - first, block_cost(job, grid.at(static_cast<int64_t>(first))), std::move(make)});
  }
  for (size_t c = 0; c < plan.copies.size(); ++c) {
    const auto& copy = plan.copies[c];
    AmaxAccumulator* acc =
        copy.fp8_gemm >= 0 ? amax[static_cast<size_t>(copy.fp8_gemm)].get() : nullptr;
    result.arrays_copied++;
    result.bytes_read += copy.source->stored_bytes;
    // An inline array stays in the index: it is counted with the index, not as a copy.
    const uint64_t copy_bytes = copy.source->is_inline() ? 0 : copy.source->stored_bytes;
    total += copy_bytes;
    // Kept in (or taken into) the index.
    if ((copy.source->is_inline() || copy.into_index) && !acc && out.inline_in_index) continue;
    if (settings.share && !settings.share->copies.at(c)) continue;
    // A copy holds no chunk (copy_file_range; FP8 amax reads row by row) and costs far less per
    // byte than decoding and encoding.
    tasks.push_back(
        {0, copy.source->stored_bytes / 8, [&, acc, copy, copy_bytes] {
           if (copy.recode_to) {
             // Stored in the other zarr version: re-encoded chunk by chunk.
             const RecodeCounts c =
                 recode_array(*copy.source, out.create({copy.target_name, *copy.recode_to, false}));
             recoded_bytes += c.decoded_bytes;
             moved_bytes += c.moved_bytes;
             moved_chunks += c.moved_chunks;
           } else if (copy.source->is_inline() && !out.inline_in_index) {
             // Out of the input's index into the output's store: a zarr array now.
             out.create({copy.target_name, copy.source->metadata, false})
                 .write_all(copy.source->open().read_all());
           } else if (copy.source->folder && !out.database && !settings.wrap_array_store) {
             fs::path target =
                 copy.target_name == copy.source->name
                     ? out.array_root / fs::relative(*copy.source->folder, src.array_root)
                     : out.folder(copy.target_name);
             kv::copy_tree(*copy.source->folder, target, src.path);
           } else if (!copy.source->is_inline()) {
             // An array in another store (an OCDBT database), or any array into the
             // output's database: its keys, one by one (KvStore::copy_from copies
             // the stored bytes: zarr v2 folder <-> OCDBT is a byte copy).
             copy_array_keys(*copy.source, *out.store, copy.target_name + "/");
           }
           if (acc) observe_array(*copy.source, *acc);
           copied_bytes += copy_bytes;
         }});
  }
  for (size_t i = 0; i < plan.file_copies.size(); ++i) {
    const auto& f = plan.file_copies[i];
    if (!keeps_file(container, f)) continue;
    result.files_copied++;
    if (settings.share && !settings.share->file_copies.at(i)) continue;
    tasks.push_back(
        {0, 0, [&, f] { file_bytes += kv::copy_tree(src.path / f, out_dir / f, src.path); }});
  }

  // Progress (decoded bytes of converted arrays plus stored bytes of copied arrays; other files
  // and the index are not counted), reported five times a second while the workers run, so that
  // one huge array still shows movement. When every task has run, done equals total.
  std::atomic<bool> finished{false};
  std::thread ticker;
  if (settings.progress) {
    ticker = std::thread([&] {
      while (!finished) {
        settings.progress(counters.decoded_bytes + chunk_copies.decoded_bytes + copied_bytes,
                          total);
        std::unique_lock lock(ticker_mu);
        ticker_cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return finished.load(); });
      }
      settings.progress(counters.decoded_bytes + chunk_copies.decoded_bytes + copied_bytes, total);
    });
  }
  auto stop_ticker = [&] {
    {
      std::lock_guard lock(ticker_mu);
      finished = true;
    }
    ticker_cv.notify_all();
    if (ticker.joinable()) ticker.join();
  };
  try {
    for (auto& t : tasks) block_groups.push_back(single_task(std::move(t)));
    result.peak_task_bytes =
        run_tasks(std::move(block_groups), settings.threads, settings.memory_limit, cancel);
  } catch (...) {
    stop_ticker();
    throw;
  }
  stop_ticker();
  result.bytes_written +=
      counters.stored_bytes + chunk_copies.stored_bytes + file_bytes + copied_bytes;
  result.bytes_processed = counters.decoded_bytes + chunk_copies.decoded_bytes + copied_bytes;
  result.bytes_reencoded = counters.decoded_bytes + recoded_bytes;
  result.bytes_chunk_copied = chunk_copies.stored_bytes + moved_bytes;
  result.chunks_copied = chunk_copies.chunks + moved_chunks;
  for (const auto& job : plan.jobs) result.jobs_chunk_copied += job.chunk_copy ? 1 : 0;
  result.bytes_total = total;
  const bool writes_index = !settings.before_index || settings.before_index();
  if (!amax.empty() && settings.combine_amax) combine_amax(amax, settings.combine_amax);
  if (out.database && settings.combine_database) settings.combine_database(*out.database);
  if (!writes_index) return result;

  // FP8 metadata: arrays of the output's store like any other (into the database before it is
  // committed), then listed in every index below.
  auto fp8_arrays = write_fp8_arrays(plan, amax, out.store, container.zarr3, result.warnings);
  result.fp8_arrays = fp8_arrays.size();
  for (const auto& a : fp8_arrays) {
    for (const auto& e : out.store->list(a.first + "/")) {
      const std::string key = e.key.substr(a.first.size() + 1);
      if (key != ".zarray" && key != "zarr.json") result.bytes_written += e.size;
    }
  }
  const IndexOutput index{plan, out_dir, container, out.inline_store, fp8_arrays};
  if (out.database) {
    // The database exists only once committed; its values were counted as they were written.
    // Orbax metadata and the framework's files beside it are not counted.
    out.database->commit();
    if (container.orbax_from_scratch) {
      write_orbax_metadata_from_scratch(plan, out_dir, container.array_root,
                                        profile.orbax_tree_style(container), fp8_arrays);
    } else {
      write_orbax_metadata(plan, out_dir, fp8_arrays);
    }
    profile.write_index(index);
    return result;
  }
  if (container.orbax_per_array_folders) {
    write_orbax_folders_index(plan, out_dir, fp8_arrays);
    return result;
  }
  result.bytes_written += profile.write_index(index);
  return result;
}

}  // namespace te::exec
