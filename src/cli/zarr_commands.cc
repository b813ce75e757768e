// `te-ckpt zarr-cat ARRAY` and `te-ckpt zarr-write ARRAY ...`: raw access to one zarr array, for
// tests against independent implementations and for debugging. zarr-cat writes the array's
// decoded elements (C order, stored byte order) to stdout; zarr-write reads them from stdin.
#include <unistd.h>

#include <cstdio>

#include "cli/commands.h"
#include "util/error.h"
#include "zarr/array.h"

namespace te::cli {
namespace {

void write_stdout(const Bytes& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(STDOUT_FILENO, data.data() + done, data.size() - done);
    if (n <= 0) fail("cannot write to standard output");
    done += static_cast<size_t>(n);
  }
}

Bytes read_stdin() {
  Bytes data;
  std::byte buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) fail("cannot read standard input");
    if (n == 0) return data;
    data.insert(data.end(), buf, buf + n);
  }
}

// Dimensions from the command line; a single "" or "[]" means rank 0.
Shape dims(const std::vector<std::string>& values, const char* flag) {
  Shape out;
  if (values.empty() || (values.size() == 1 && (values[0].empty() || values[0] == "[]")))
    return out;
  for (const auto& v : values) {
    try {
      size_t used = 0;
      long long d = std::stoll(v, &used);
      if (used == v.size() && d >= 0) {
        out.push_back(d);
        continue;
      }
    } catch (const std::exception&) {
    }
    fail("{}: \"{}\" is not a non-negative integer", flag, v);
  }
  return out;
}

}  // namespace

Runner add_zarr_cat_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("array", *path, "zarr array folder")->required();
  return [path] {
    write_stdout(zarr::ZarrArray::open(*path).read_all());
    return 0;
  };
}

Runner add_zarr_write_command(CLI::App& app) {
  struct Args {
    std::string path, dtype, compressor = "null";
    std::vector<std::string> shape, chunks;
  };
  auto a = std::make_shared<Args>();
  app.add_option("array", a->path, "zarr array folder to create")->required();
  app.add_option("--shape", a->shape, "dimensions (\"\" or [] for rank 0)")
      ->required()
      ->expected(0, -1);
  app.add_option("--chunks", a->chunks, "chunk dimensions (\"\" or [] for rank 0)")
      ->required()
      ->expected(0, -1);
  app.add_option("--dtype", a->dtype, "zarr dtype string, e.g. <f4 or bfloat16")->required();
  app.add_option("--compressor", a->compressor,
                 "compressor JSON, e.g. {\"id\":\"zstd\",\"level\":1}");
  return [a] {
    auto codec = zarr::codec_from_json(nlohmann::json::parse(a->compressor), "--compressor");
    auto meta = zarr::ArrayMetadata::make(dims(a->shape, "--shape"), dims(a->chunks, "--chunks"),
                                          zarr::parse_zarr_dtype(a->dtype, "--dtype"), codec);
    Bytes data = read_stdin();
    if (data.size() != static_cast<size_t>(num_elements(meta.shape)) * meta.dtype.itemsize) {
      fail("standard input holds {} bytes, expected {} for {} {}", data.size(),
           num_elements(meta.shape) * static_cast<int64_t>(meta.dtype.itemsize), a->dtype,
           shape_string(meta.shape));
    }
    zarr::ZarrArray::create(a->path, meta).write_all(data);
    return 0;
  };
}

}  // namespace te::cli
