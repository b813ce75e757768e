#pragma once
// The zarr version of a plan's output arrays. An output container holds zarr v2 arrays (per-array
// folders, `--output-format=ocdbt`) or zarr3 arrays (`ocdbt-zarr3`, or a zarr3 Orbax input kept as
// it is). retarget_zarr_version() makes every array the plan writes that version: a job output
// gets the equivalent metadata of the other version (same shape, dtype, chunk grid and
// compression), and a copy of an array stored in the other version is re-encoded chunk by chunk
// (ArrayCopy::recode_to): values exact, stored bytes new. Arrays that stay inline in the
// framework's index are left alone (inline_in_index). Throws te::Error naming the array when it has
// no equivalent (zarr3: big-endian dtypes, zlib and bz2 compression).
//
// An output whose index holds arrays inline (inline_in_index) also takes into it the copied
// arrays its framework keeps there (ArrayCopy::into_index): rank-0 arrays (a step and optimizer
// counts, which the framework's own save keeps inline) and numpy leaves of an Orbax source
// (value_type np.ndarray, or scalar: ext type 3), little-endian. So an index that went into OCDBT
// comes back as it was.
#include "plan/plan.h"

namespace te::plan {

void retarget_zarr_version(Plan& plan, bool zarr3, bool inline_in_index);

}  // namespace te::plan
