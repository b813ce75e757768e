#pragma once
// The te-ckpt subcommands. Each registers its flags on a CLI11 app and returns a runner; the
// runner returns the process exit code. Errors are thrown as te::Error and printed by main().
#include <CLI/CLI.hpp>
#include <functional>

namespace te::cli {

using Runner = std::function<int()>;

// `convert` (and `plan`, which is `convert --dry-run`): the seed's flags, same names.
Runner add_convert_command(CLI::App& app, bool dry_run_only);
// `inspect PATH [--json]`.
Runner add_inspect_command(CLI::App& app);
// `example`: writes a small synthetic checkpoint (README, benchmark).
Runner add_example_command(CLI::App& app);
// `zarr-cat ARRAY` / `zarr-write ARRAY`: raw element bytes out of / into one zarr array.
Runner add_zarr_cat_command(CLI::App& app);
Runner add_zarr_write_command(CLI::App& app);
// `verify SOURCE CONVERTED [--json]`: CONVERTED is SOURCE's conversion, bit for bit.
Runner add_verify_command(CLI::App& app);
// `kv ls|get|copy`: keys and values of a plain folder or an OCDBT database.
Runner add_kv_command(CLI::App& app);

}  // namespace te::cli
