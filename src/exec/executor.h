#pragma once
// Runs a Plan into an empty output folder: every block of every TransformJob, every array and
// file copy, on a worker pool under a memory budget; then the FP8 metadata arrays, the Orbax
// metadata of an Orbax container, and the checkpoint's own index (the container's profile writes
// it: exec/container_profile.h). The caller owns
// the folder's lifetime (a temporary folder renamed into place on success).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "exec/output_container.h"
#include "kvstore/kvstore.h"
#include "kvstore/ocdbt/ocdbt_writer.h"
#include "plan/plan.h"

namespace te::exec {

namespace fs = std::filesystem;

// The part of a plan one process of a multi-process run executes (src/dist/ computes it); every
// process makes the same plan, so indices name the same tasks everywhere.
struct WorkShare {
  // Per plan job: the blocks [first, second) of its block grid (C order) run here. A job small
  // enough to be rearranged whole in memory (inline arrays) runs where `small_jobs` is set.
  std::vector<std::pair<uint64_t, uint64_t>> job_blocks;
  std::vector<bool> copies;       // per Plan::copies
  std::vector<bool> file_copies;  // per Plan::file_copies
  bool small_jobs = true;
};

struct ExecSettings {
  int threads = 1;
  uint64_t memory_limit = UINT64_MAX;  // bytes in flight
  // Called from worker threads with (bytes done, bytes total); may be empty.
  std::function<void(uint64_t, uint64_t)> progress;
  const std::atomic<bool>* cancel = nullptr;
  bool stream_slabs = true;  // false: decode whole chunks (reference path for tests)
  // The container written (choose_output_container for --output-format; its profile set).
  OutputContainer container;
  // Null: this process runs every task. Else only the share's tasks; bytes_processed and
  // bytes_written count this process's own work (plus the index where it writes it).
  const WorkShare* share = nullptr;
  // Called once every task of this process has run, before the FP8 arrays and the index are
  // written; returns whether this process writes them (false: execute returns at once). May
  // throw (then execute throws it).
  std::function<bool()> before_index;
  // Multi-process runs: called on every process once before_index has returned (every process
  // has then run its tasks), in this order, before the database commit, the FP8 arrays and the
  // index are written (by the process whose before_index returned true). May throw; the
  // database's is last, so that a failure there (on the process that commits) leaves no other
  // process waiting in a later hook.
  // With FP8 metadata (plan.fp8_gemms): this process's amax of every generated GEMM, the GEMMs in
  // plan order and each one's values in order, as the IEEE bit patterns of the floats (they are
  // non-negative, so they order as their bits); returns the element-wise maxima over every
  // process, which the FP8 arrays are then made from.
  std::function<std::vector<uint64_t>(const std::vector<uint64_t>&)> combine_amax;
  // With OCDBT output: this process's writer of the output database (its values written, not
  // committed); the caller hands every other process's values to the one that commits.
  std::function<void(kv::OcdbtWriter&)> combine_database;
  // Null: the arrays go into the container's store. Else every value of the output's arrays
  // (metadata and chunks; copied arrays too, key by key) goes through the store this returns for
  // the container's own one, which decides what reaches it (te-ckpt verify compares the chunks
  // there instead of storing them: exec/comparing_store.h).
  std::function<std::shared_ptr<kv::KvStore>(std::shared_ptr<kv::KvStore>)> wrap_array_store;
};

struct ExecResult {
  size_t arrays_converted = 0;  // arrays written by transform jobs
  size_t arrays_copied = 0;
  size_t fp8_arrays = 0;
  size_t files_copied = 0;
  uint64_t bytes_read = 0;  // stored bytes of the arrays read
  // Bytes written to the output: chunk files, copied files and the index (not .zarray files).
  uint64_t bytes_written = 0;
  // What the progress bar counts: decoded bytes of converted arrays' inputs plus stored bytes of
  // copied arrays. After a complete run bytes_processed == bytes_total.
  uint64_t bytes_processed = 0;
  uint64_t bytes_total = 0;
  // Of the converted arrays: decoded bytes of the inputs decoded and encoded again, and stored
  // bytes of the chunk values copied (jobs whose chunks stay intact, plan/chunk_copy.h).
  uint64_t bytes_reencoded = 0;
  uint64_t bytes_chunk_copied = 0;
  uint64_t chunks_copied = 0;
  size_t jobs_chunk_copied = 0;
  uint64_t peak_task_bytes = 0;       // most bytes the scheduler had in flight
  std::vector<std::string> warnings;  // found while writing (FP8 migration), for the user
};

ExecResult execute(const plan::Plan& plan, const fs::path& out_dir, const ExecSettings& settings);

// Writes every chunk of `array` into `to`, an array of the same shape and chunk grid in another
// stored form (zarr v2 <-> zarr3), one chunk at a time: as its payload, without decoding, where
// zarr::payload_obstacle() allows (the same compressor on both sides), otherwise decoded and
// re-encoded (a missing chunk always so: `to` then stores the fill value).
struct RecodeCounts {
  uint64_t decoded_bytes = 0;  // padded chunks decoded and re-encoded
  uint64_t moved_bytes = 0;    // payload bytes moved without decoding
  uint64_t moved_chunks = 0;
};
RecodeCounts recode_array(const checkpoint::ArrayEntry& array, const zarr::ZarrArray& to);

// Copies every value of `array` (its .zarray and chunks) into `to` under `to_prefix`, value by
// value through the stores (their fast paths apply). Returns the bytes copied.
uint64_t copy_array_keys(const checkpoint::ArrayEntry& array, kv::KvStore& to,
                         const std::string& to_prefix);

}  // namespace te::exec
