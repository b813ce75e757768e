#pragma once
// How te-ckpt ends: the exit statuses (documented in --help and the README) and the one-line
// report of a command line that could not be parsed.
#include <CLI/CLI.hpp>

namespace te::cli {

inline constexpr int kExitUsage = 2;

inline constexpr const char* kExitStatusHelp =
    "Exit status: 0 success; 1 the work failed (bad input, bad flag value, I/O error; nothing "
    "is left behind); 2 usage error (unknown or missing flag, value not among a flag's choices; "
    "inspect: "
    "also when it lists problems); 130 interrupted (SIGINT, SIGTERM or SIGHUP; the partial "
    "output is removed).";

// Prints `te-ckpt: error: <what CLI11 found>` on one line to stderr; returns kExitUsage.
int report_usage_error(const CLI::ParseError& error);

}  // namespace te::cli
