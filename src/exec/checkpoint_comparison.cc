#include "exec/checkpoint_comparison.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <map>
#include <set>

#include "util/error.h"
#include "util/file.h"
#include "zarr/array.h"

namespace te::exec {
namespace {

using checkpoint::ArrayEntry;
using checkpoint::Checkpoint;

// The decoded bytes of `box` of an array (an inline array is a zarr array in a memory store).
Bytes read_box(const ArrayEntry& a, const zarr::Box& box) {
  int64_t n = 1;
  for (int64_t s : box.size) n *= s;
  Bytes out(static_cast<size_t>(n) * a.metadata.dtype.itemsize);
  a.open().read_region(box, out);
  return out;
}

std::string bits(const std::byte* p, size_t n) {
  std::string s = "0x";
  for (size_t i = n; i-- > 0;) s += fmt::format("{:02x}", static_cast<unsigned>(p[i]));
  return s;
}

// Compares one array, except the chunks in `skip`; returns a problem line or "".
std::string compare_array(const ArrayEntry& e, const ArrayEntry& a, const std::set<Shape>* skip,
                          uint64_t& bytes) {
  if (e.metadata.dtype.zarr != a.metadata.dtype.zarr) {
    return fmt::format("{}: dtype {} ({}), expected {} ({})", e.name, a.metadata.dtype.name(),
                       a.metadata.dtype.zarr, e.metadata.dtype.name(), e.metadata.dtype.zarr);
  }
  if (e.metadata.shape != a.metadata.shape) {
    return fmt::format("{}: shape {}, expected {}", e.name, shape_string(a.metadata.shape),
                       shape_string(e.metadata.shape));
  }
  const Shape& shape = e.metadata.shape;
  // One box per chunk of the expected array (the whole array when it is inline).
  std::vector<zarr::Box> boxes;
  if (e.is_inline() || shape.empty()) {
    if (!skip || !skip->count(Shape(shape.size(), 0)))
      boxes.push_back({Shape(shape.size(), 0), shape});
  } else {
    zarr::for_each_chunk_in_box(e.metadata, {Shape(shape.size(), 0), shape}, [&](const Shape& c) {
      if (!skip || !skip->count(c)) boxes.push_back(zarr::chunk_box(e.metadata, c));
    });
  }
  for (const auto& box : boxes) {
    Bytes want = read_box(e, box), got = read_box(a, box);
    bytes += want.size();
    std::string problem = first_difference(e.name, box, want, got, e.metadata.dtype.itemsize);
    if (!problem.empty()) return problem;
  }
  return "";
}

}  // namespace

std::string first_difference(const std::string& name, const zarr::Box& box,
                             std::span<const std::byte> want, std::span<const std::byte> got,
                             size_t itemsize, size_t first_element) {
  if (want.size() == got.size() && std::equal(want.begin(), want.end(), got.begin())) return "";
  size_t off = 0;
  while (off < want.size() && off < got.size() && want[off] == got[off]) ++off;
  size_t element = first_element + off / itemsize;
  Shape index(box.size.size());
  for (size_t d = box.size.size(); d-- > 0;) {
    index[d] = box.start[d] + static_cast<int64_t>(element % static_cast<size_t>(box.size[d]));
    element /= static_cast<size_t>(box.size[d]);
  }
  const size_t at = (off / itemsize) * itemsize;
  return fmt::format("{}: element {} differs: {}, expected {}", name, shape_string(index),
                     bits(got.data() + at, itemsize), bits(want.data() + at, itemsize));
}

ComparisonReport compare_checkpoints(const Checkpoint& expected, const Checkpoint& actual,
                                     const ContainerProfile& profile,
                                     const ComparedChunks& compared) {
  ComparisonReport r;
  r.bytes_compared = compared.bytes;
  for (const auto& p : actual.problems) r.problems.push_back("index: " + p);
  std::map<std::string, const ArrayEntry*> got;
  for (const auto& a : actual.arrays) got[a.name] = &a;
  std::set<std::string> wanted;
  for (const auto& e : expected.arrays) {
    wanted.insert(e.name);
    auto it = got.find(e.name);
    if (it == got.end()) {
      r.problems.push_back(fmt::format("{}: missing (expected {} {})", e.name,
                                       e.metadata.dtype.name(), shape_string(e.metadata.shape)));
      continue;
    }
    auto found = compared.problems.find(e.name);
    auto skip = compared.chunks.find(e.name);
    std::string p =
        found != compared.problems.end()
            ? found->second
            : compare_array(e, *it->second, skip == compared.chunks.end() ? nullptr : &skip->second,
                            r.bytes_compared);
    if (!p.empty()) r.problems.push_back(p);
    ++r.arrays_compared;
  }
  for (const auto& a : actual.arrays) {
    if (!wanted.count(a.name)) {
      r.problems.push_back(fmt::format("{}: unexpected array ({} {})", a.name,
                                       a.metadata.dtype.name(), shape_string(a.metadata.shape)));
    }
  }
  // Other files, byte for byte.
  std::set<fs::path> files(actual.other_entries.begin(), actual.other_entries.end());
  for (const auto& f : expected.other_entries) {
    if (!files.erase(f)) {
      r.problems.push_back(fmt::format("{}: missing file", f.string()));
      continue;
    }
    std::error_code ec;
    if (fs::is_regular_file(expected.path / f, ec) &&
        read_file(expected.path / f) != read_file(actual.path / f)) {
      r.problems.push_back(fmt::format("{}: file differs", f.string()));
    }
  }
  for (const auto& f : files) r.problems.push_back(fmt::format("{}: unexpected file", f.string()));
  // Index entries: the profile's business.
  for (auto& p : profile.compare_indexes(expected, actual)) r.problems.push_back(std::move(p));
  return r;
}

}  // namespace te::exec
