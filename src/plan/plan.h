#pragma once
// A Plan is everything a conversion will do, decided and checked before a byte is written:
// one TransformJob per group of output arrays computed by a rule, one ArrayCopy per array kept
// (possibly under a new name), the files copied, the arrays left out, and the FP8 metadata to
// generate. `--dry-run` prints it; the executor runs it.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "rules/model_options.h"
#include "transform/rearrangement.h"
#include "zarr/codec.h"

namespace te::plan {

namespace fs = std::filesystem;

struct OutputArray {
  std::string name;  // folder name (Pax), dotted index path (T5X)
  zarr::ArrayMetadata metadata;
  bool is_inline = false;  // T5X: stored inside the index, like its source
};

struct TransformJob {
  std::string rule;  // "[a, b] e f -> e s f", for the plan listing
  std::vector<const checkpoint::ArrayEntry*> inputs;
  std::vector<OutputArray> outputs;
  transform::Rearrangement rearrangement;
  int fp8_gemm = -1;  // index into Plan::fp8_gemms fed with max|W| of outputs[0]
};

struct ArrayCopy {
  const checkpoint::ArrayEntry* source;
  std::string target_name;
  int fp8_gemm = -1;  // index into Plan::fp8_gemms fed with max|W| of the copied array
};

// The FP8 metadata of one TE GEMM: amax_{i,w,g}_<postfix> [hist] and scale_{i,w,g}_<postfix> [1],
// with a leading [layers] axis for a repeat stack.
struct Fp8Gemm {
  std::string
      prefix;  // full name prefix ending in '.', e.g. "mdl_vars.fp8_metas.lm....attention.qkv."
  int postfix = 0;
  int64_t layers = 0;  // 0: no layer axis
  std::string kernel;  // the converted kernel whose max|W| goes into amax_w_<postfix>[0]
  std::shared_ptr<const zarr::Codec> codec;

  // "<prefix><amax|scale>_<i|w|g>_<postfix>".
  std::string array_name(const std::string& kind, const std::string& tensor) const;
  // The six arrays, amax_{i,w,g} then scale_{i,w,g}.
  std::vector<std::string> array_names() const;
};

struct PlanSettings {
  int64_t kernel_chunk_size = 0;             // 0: keep the derived chunking
  std::shared_ptr<const zarr::Codec> codec;  // nullptr: each output keeps its source's codec
  // Arrays under a converted layer that no rule consumes: false refuses them (the target layer
  // has no such parameter), true copies them unchanged under their own names with a warning.
  bool copy_unmapped = false;
};

struct Plan {
  rules::ModelOptions options;
  const checkpoint::Checkpoint* source = nullptr;
  std::vector<TransformJob> jobs;
  std::vector<ArrayCopy> copies;
  std::vector<fs::path> file_copies;  // relative to the source path
  std::vector<std::string> dropped;   // arrays left out of the output
  std::vector<Fp8Gemm> fp8_gemms;
  int64_t amax_history_len = 0;
  std::vector<std::string> notes;     // information for the user
  std::vector<std::string> warnings;  // things the user should check (printed as warnings)

  // Names of every array the output will hold (transform outputs, copies, FP8 arrays).
  std::vector<std::string> output_names() const;
};

// Builds and checks the plan. Throws te::Error naming the array and what was expected when the
// checkpoint does not fit the options.
Plan make_plan(const checkpoint::Checkpoint& source, const rules::ModelOptions& options,
               const PlanSettings& settings);

// The plan as text: every job (sources -> targets, shapes, pattern, dtype, chunks) and every copy.
std::string describe(const Plan& plan);

// T5X's _choose_chunk_shape: the largest chunk of at most `max_elements` that evenly divides
// `shape`, shrinking the largest dimension's divisor first.
Shape t5x_chunk_shape(const Shape& shape, int64_t max_elements);

}  // namespace te::plan
