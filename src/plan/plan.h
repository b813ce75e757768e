#pragma once
// A Plan is everything a conversion will do, decided and checked before a byte is written:
// one TransformJob per group of output arrays computed by a rule, one ArrayCopy per array kept
// (possibly under a new name), the files copied, the arrays left out, and the FP8 metadata to
// generate. `--dry-run` prints it; the executor runs it.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "plan/framework_profile.h"
#include "rules/fp8_format.h"
#include "rules/model_options.h"
#include "transform/rearrangement.h"
#include "zarr/codec.h"

namespace te::plan {

namespace fs = std::filesystem;

struct OutputArray {
  std::string name;  // folder name, or dotted path in an index
  zarr::ArrayMetadata metadata;
  bool is_inline = false;  // stored inside the index, like its source
};

struct TransformJob {
  std::string rule;  // "[a, b] e f -> e s f", for the plan listing
  std::vector<const checkpoint::ArrayEntry*> inputs;
  std::vector<OutputArray> outputs;
  transform::Rearrangement rearrangement;
  int fp8_gemm = -1;  // index into Plan::fp8_gemms fed with max|W| of outputs[0]
  // Every output chunk is one input chunk byte for byte (plan/chunk_copy.h): the executor copies
  // the stored chunk values under their new keys. Otherwise `reencode_reason` says why the chunks
  // are decoded and encoded again.
  bool chunk_copy = false;
  std::string reencode_reason;
};

struct ArrayCopy {
  const checkpoint::ArrayEntry* source;
  std::string target_name;
  int fp8_gemm = -1;  // index into Plan::fp8_gemms fed with max|W| of the copied array
  // Set when the output stores the array in another zarr version than its source (zarr v2 <->
  // zarr3): the same values, decoded chunk by chunk and re-encoded under this metadata, whose
  // chunk grid is the source's (see zarr_version.h). Unset: the stored bytes are copied.
  std::optional<zarr::ArrayMetadata> recode_to = std::nullopt;
  // Set when the output's index holds the array inline although its source stored it as a zarr
  // array (see zarr_version.h): the flax ext type it gets (1 ndarray, 3 numpy scalar).
  std::optional<int8_t> into_index = std::nullopt;

  // The metadata of the array as the output stores it.
  const zarr::ArrayMetadata& metadata() const { return recode_to ? *recode_to : source->metadata; }
};

// One TE GEMM whose FP8 metadata is generated (fw2te --gen-fp8-meta): max|W| of `kernel` is its
// kernel amax. Its arrays are those of the Fp8Module it belongs to.
struct Fp8Gemm {
  std::string root;    // the framework's FP8 root (FrameworkProfile::fp8_root)
  std::string module;  // TE module path, e.g. "lm.transformer....attention.qkv"
  int postfix = 0;     // GEMM index in the module (1: LayerNormMLP's wo)
  int64_t layers = 0;  // 0: no layer axis
  std::string kernel;  // the converted kernel whose max|W| is the GEMM's kernel amax
  std::shared_ptr<const zarr::Codec> codec;
};

// The FP8 metadata of one TE module in the output (one module holds G GEMMs; F17 stores them as
// rows of one set of arrays, F18/F23 as one set per GEMM): generated from Plan::fp8_gemms, or
// migrated from the source arrays of another format.
struct Fp8Module {
  std::string root;    // "mdl_vars." or "flax_mutables."
  std::string module;  // path below the collection
  int gemms = 1;
  int64_t layers = 0;  // 0: no layer axis
  std::shared_ptr<const zarr::Codec> codec;
  std::vector<int> generated_from;  // generation: indices into Plan::fp8_gemms, one per GEMM
  // Migration: the module's arrays in the source format, by leaf name.
  std::map<std::string, const checkpoint::ArrayEntry*> source;
};

// What FP8 metadata the output holds, in which format (te-fp8-format.md §9).
struct Fp8Output {
  rules::Fp8MetaFormat format = rules::Fp8MetaFormat::kTe18;
  rules::Fp8Recipe recipe;
  std::string collection = rules::kFp8MetasCollection;  // the collection written
  int64_t history_len = 0;
  std::optional<rules::Fp8MetaFormat> source_format;  // migration (te2te): the format read
  std::vector<Fp8Module> modules;

  // "<root><collection>.<module>.<leaf>" of every array written, module by module.
  std::vector<std::string> array_names() const;
  std::string array_name(const Fp8Module& m, const std::string& leaf) const;
};

struct PlanSettings {
  int64_t kernel_chunk_size = 0;             // 0: keep the derived chunking
  std::shared_ptr<const zarr::Codec> codec;  // nullptr: each output keeps its source's codec
  // Arrays under a converted layer that no rule consumes: false refuses them (the target layer
  // has no such parameter), true copies them unchanged under their own names with a warning.
  bool copy_unmapped = false;
  // false (--no-chunk-copy): every job decodes and encodes, even where its chunks could be copied.
  bool chunk_copy = true;
  // true (--output-chunking=copyable): an output whose chunks can equal its inputs' chunks gets
  // that chunking (chunk 1 along a new stack axis); false (merge): the derived chunking of
  // before (FrameworkProfile::merged_output_chunks).
  bool copyable_chunking = true;
};

struct Plan {
  rules::ModelOptions options;
  const checkpoint::Checkpoint* source = nullptr;
  std::vector<TransformJob> jobs;
  std::vector<ArrayCopy> copies;
  std::vector<fs::path> file_copies;  // relative to the source path
  std::vector<std::string> dropped;   // arrays left out of the output
  std::vector<Fp8Gemm> fp8_gemms;
  Fp8Output fp8;                      // modules empty: no FP8 metadata written
  std::vector<std::string> notes;     // information for the user
  std::vector<std::string> warnings;  // things the user should check (printed as warnings)

  // Names of every array the output will hold (transform outputs, copies, FP8 arrays).
  std::vector<std::string> output_names() const;
};

// Builds and checks the plan of converting `source`, a checkpoint of `profile`'s framework.
// Throws te::Error naming the array and what was expected when the checkpoint does not fit the
// options.
Plan make_plan(const checkpoint::Checkpoint& source, const rules::ModelOptions& options,
               const PlanSettings& settings, const FrameworkProfile& profile);

}  // namespace te::plan
