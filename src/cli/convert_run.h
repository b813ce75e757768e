#pragma once
// What `te-ckpt convert` shares between its single-process run (convert_command.cc) and its
// distributed run (distributed_run.cc): the flags, the prepared run and the steps around it.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "checkpoint/checkpoint.h"
#include "exec/executor.h"
#include "exec/output_container.h"
#include "plan/plan.h"
#include "rules/model_options.h"

namespace te::cli {

// Set by SIGINT, SIGTERM and SIGHUP once catch_termination_signals() ran.
extern std::atomic<bool> g_cancel;

// Integer flags are kept as text and parsed strictly by to_model_flags() (CLI11 would read "010" as
// octal and clamp 99999999999999999999 to INT64_MAX without a word).
struct ConvertFlags {
  std::string input, output, fw, direction;
  std::string output_format = "keep";
  std::string layers, heads, head_dim, mlp_dim;  // empty: not given (read from the checkpoint)
  std::string embed_dim = "None", kernel_chunk_size = "None", gqa_groups = "None";
  bool weight_only = false, skip_ln = false, skip_bias = false, gated = false, pax_repeat = false;
  bool pax_split_qkv = false, t5x_fuse_qkv = false, mqa_drop_head_axis = false;
  std::string qkv_layout = "qkv_packed", gated_order = "linear_first";
  bool gen_fp8_meta = false;
  std::string amax_history_len = "1024";
  std::string fp8_meta_format = "te1.8", fp8_format = "hybrid", fp8_margin = "0";
  std::string fp8_collection = rules::kFp8MetasCollection;
  std::set<std::string> fp8_flags_given;  // the FP8 flags (and --amax-history-len) on the line
  // A flag on the line that describes or converts the model: any flag but the container and run
  // flags (kContainerFlags). Without one, --output-format alone is a format-only conversion.
  bool conversion_flag_given = false;
  bool dry_run = false, overwrite = false, quiet = false, no_streaming = false;
  bool copy_unmapped = false;
  bool no_chunk_copy = false;
  std::string output_chunking = "copyable";
  std::string jobs = "0";
  std::string memory_limit = "0", compressor = "keep";
  std::string compression_level;  // empty: not given
};

// What a conversion runs: the checked plan and what the summary prints. The checkpoint is held by
// pointer so that the plan's references into it survive moves.
struct PreparedRun {
  std::unique_ptr<checkpoint::Checkpoint> source;
  plan::Plan plan;
  exec::OutputContainer container;
  std::string model_line;
  std::string direction_text;
  uint64_t limit = 0;
  int jobs = 0;
  std::chrono::steady_clock::time_point start;
  bool dry_run_done = false;  // --dry-run: the plan was printed, nothing more to do
};

// Everything up to the lock: flags, checkpoint, model, plan, output path checks (and the dry
// run's listing). Notes and warnings are printed where `speak` (rank 0 of a distributed run).
PreparedRun prepare_run(const ConvertFlags& f, const std::set<std::string>& explicit_flags,
                        bool qkv_layout_given, bool speak);

// SIGINT, SIGTERM and SIGHUP set g_cancel.
void catch_termination_signals();

// The executor's settings for `run` (threads, memory limit, cancel flag, container).
exec::ExecSettings exec_settings_of(const ConvertFlags& f, const PreparedRun& run);

// The progress bar, redrawn in place on stderr.
void print_progress(std::chrono::steady_clock::time_point start, uint64_t done, uint64_t total);

// The summary on stdout (nothing with --quiet).
void print_summary(const ConvertFlags& f, const PreparedRun& run, const exec::ExecResult& r,
                   uint64_t peak_rss);

// This process's peak resident memory.
uint64_t peak_rss_bytes();

}  // namespace te::cli
