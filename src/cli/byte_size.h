#pragma once
// Byte sizes as users write them on the command line: plain bytes ("65536") or a number with a
// unit, case-insensitive, with an optional "B" or "iB": K, KB, KiB, M, MB, MiB, G, GB, GiB, T, TB,
// TiB ("4g", "4G", "4GB", "4GiB", "512MiB", "1.5G"). Every unit is a power of 1024 (a memory cap,
// as ulimit and container runtimes read them).
#include <cstdint>
#include <string>

namespace te::cli {

// The spellings, for --help.
inline constexpr const char* kByteSizeSpellings =
    "bytes, or a number with K, M, G or T (any case, optionally followed by B or iB; powers of "
    "1024), e.g. 512M, 4g, 4GB, 4GiB";

// Parses `text` as a byte size; "0" (or empty) gives 0. Throws te::Error naming `flag` and the
// accepted spellings for anything else (negative, unknown unit, overflow).
uint64_t parse_byte_size(const std::string& text, const char* flag);

}  // namespace te::cli
