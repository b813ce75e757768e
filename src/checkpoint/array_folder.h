#pragma once
// A zarr array in a local folder of its own: the array of a file store rooted at the folder
// (key prefix ""), for callers that name arrays by path (zarr-cat, zarr-write, generators).
#include <filesystem>

#include "zarr/array.h"

namespace te::checkpoint {

// Opens the array in `dir` (reads `dir/.zarray`).
zarr::ZarrArray open_array_folder(const std::filesystem::path& dir);
// Writes `dir/.zarray` (creating `dir`) for a new array; chunks follow through the writers.
zarr::ZarrArray create_array_folder(const std::filesystem::path& dir, zarr::ArrayMetadata metadata);

}  // namespace te::checkpoint
