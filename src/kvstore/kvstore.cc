#include "kvstore/kvstore.h"

#include "util/error.h"
#include "util/file.h"

namespace te::kv {

Bytes KvStore::read_all(std::string_view key, ByteRange range) const {
  auto source = read(key, range);
  Bytes out;
  if (range.length) out.reserve(static_cast<size_t>(*range.length));
  for (;;) {
    auto piece = source->next();
    if (piece.empty()) break;
    out.insert(out.end(), piece.begin(), piece.end());
  }
  return out;
}

std::unique_ptr<ValueSink> KvStore::write(std::string_view key, WriteOptions) {
  fail("cannot write {}: the store is read-only", describe(key));
}

uint64_t ValueSink::append_file(const std::filesystem::path& path) {
  auto source = open_file_source(path);
  uint64_t total = 0;
  for (auto piece = source->next(); !piece.empty(); piece = source->next()) {
    write(piece);
    total += piece.size();
  }
  return total;
}

uint64_t KvStore::copy_from(const KvStore& src, std::string_view src_key,
                            std::string_view dst_key) {
  auto source = src.read(src_key);
  auto sink = write(dst_key);
  pump(*source, *sink);
  return sink->close();
}

std::string printable_key(std::string_view key) {
  std::string out;
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\')
      out += c;
    else
      out += fmt::format("\\x{:02x}", u);
  }
  return out;
}

uint64_t pump(ByteSource& source, ByteSink& sink) {
  uint64_t total = 0;
  for (;;) {
    auto piece = source.next();
    if (piece.empty()) return total;
    sink.write(piece);
    total += piece.size();
  }
}

}  // namespace te::kv
