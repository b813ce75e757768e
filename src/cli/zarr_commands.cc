// `te-ckpt zarr-cat ARRAY` and `te-ckpt zarr-write ARRAY ...`: raw access to one zarr array, for
// tests against independent implementations and for debugging. zarr-cat writes the array's
// decoded elements (C order, stored byte order) to stdout; zarr-write reads them from stdin.
#include <unistd.h>

#include <cstdio>

#include "checkpoint/array_folder.h"
#include "checkpoint/store_arrays.h"
#include "cli/commands.h"
#include "kvstore/open_spec.h"
#include "util/checked_math.h"
#include "util/error.h"
#include "util/file.h"
#include "util/parse_number.h"
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

// Dimensions from the command line, each at least `min`; a single "" or "[]" means rank 0.
Shape dims(const std::vector<std::string>& values, const char* flag, int64_t min) {
  Shape out;
  if (values.empty() || (values.size() == 1 && (values[0].empty() || values[0] == "[]")))
    return out;
  for (const auto& v : values) {
    out.push_back(parse_int_flag(v, flag, min, zarr::ArrayMetadata::kMaxArrayBytes));
  }
  return out;
}

// Writes the array's elements in C order, one row of chunks along axis 0 at a time, so that
// memory holds at most one such slab, never the whole array.
void write_array_to_stdout(const zarr::ZarrArray& array) {
  const auto& m = array.metadata();
  if (m.rank() == 0) return write_stdout(array.read_all());
  for (int64_t start = 0; start < m.shape[0]; start += m.chunks[0]) {
    zarr::Box box{Shape(m.shape.size(), 0), m.shape};
    box.start[0] = start;
    box.size[0] = std::min(m.chunks[0], m.shape[0] - start);
    auto bytes = checked_product(box.size, static_cast<int64_t>(m.dtype.itemsize));
    if (!bytes) fail("{}: internal error: slab size overflows", array.describe());
    Bytes slab(static_cast<size_t>(*bytes));
    array.read_region(box, slab);
    write_stdout(slab);
  }
}

// The array zarr-cat names: a folder holding .zarray (or zarr.json), or DB/NAME (zarr v2 or zarr3),
// the array NAME inside the OCDBT database folder DB (the longest leading folder of the path
// holding manifest.ocdbt).
zarr::ZarrArray open_cat_array(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(fs::path(path) / ".zarray", ec)) {
    if (auto split = checkpoint::split_ocdbt_array_path(path)) {
      const auto& [db, name] = *split;
      auto store = kv::open_local_store(db);
      return zarr::ZarrArray::open(store, name + "/");
    }
  }
  return checkpoint::open_array_folder(path);
}

}  // namespace

Runner add_zarr_cat_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("array", *path,
                 "zarr array folder, or DB/NAME: the array NAME inside the OCDBT database folder "
                 "DB (the longest leading folder that holds manifest.ocdbt), e.g. "
                 "step/state/params.w")
      ->required();
  return [path] {
    write_array_to_stdout(open_cat_array(*path));
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
    std::error_code ec;
    if (fs::exists(a->path, ec) && (!fs::is_directory(a->path, ec) || !fs::is_empty(a->path, ec))) {
      fail("{}: exists and is not an empty folder; zarr-write only creates new arrays", a->path);
    }
    auto codec = zarr::codec_from_json(nlohmann::json::parse(a->compressor), "--compressor");
    Shape shape = dims(a->shape, "--shape", 0), chunks = dims(a->chunks, "--chunks", 1);
    if (shape.size() != chunks.size()) {
      fail("--shape {} has rank {} but --chunks {} has rank {}", shape_string(shape), shape.size(),
           shape_string(chunks), chunks.size());
    }
    auto meta = zarr::ArrayMetadata::make(shape, chunks,
                                          zarr::parse_zarr_dtype(a->dtype, "--dtype"), codec);
    meta.check_sizes("--shape/--chunks");
    Bytes data = read_stdin();
    if (data.size() != static_cast<size_t>(num_elements(meta.shape)) * meta.dtype.itemsize) {
      fail("standard input holds {} bytes, expected {} for {} {}", data.size(),
           num_elements(meta.shape) * static_cast<int64_t>(meta.dtype.itemsize), a->dtype,
           shape_string(meta.shape));
    }
    checkpoint::create_array_folder(a->path, meta).write_all(data);
    return 0;
  };
}

}  // namespace te::cli
