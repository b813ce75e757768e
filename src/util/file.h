#pragma once
// Files: whole-file reads and writes, streaming sources and sinks for chunk codecs, and byte-exact
// copies. Every failure throws te::Error naming the path and the system error.
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "util/bytes.h"

namespace te {

namespace fs = std::filesystem;

Bytes read_file(const fs::path& path);
std::string read_text_file(const fs::path& path);

// Creates (or truncates) `path` and writes `data`; parent folders must exist.
void write_file(const fs::path& path, std::span<const std::byte> data);
void write_text_file(const fs::path& path, const std::string& text);

// Copies a regular file byte for byte into a new file (copy_file_range, so the file system may
// share extents; never a hard or symbolic link). Returns the bytes copied.
uint64_t copy_file_bytes(const fs::path& from, const fs::path& to);

// A sequential reader of compressed bytes. `next()` returns the next piece (empty at the end).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::span<const std::byte> next() = 0;
  // Where the bytes come from, for error messages.
  virtual const std::string& name() const = 0;
};

// A sequential writer of compressed bytes.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::span<const std::byte> data) = 0;
  virtual const std::string& name() const = 0;
};

// Reads a file in pieces of `piece_size` bytes.
std::unique_ptr<ByteSource> open_file_source(const fs::path& path, size_t piece_size = 1 << 20);

// Serves a memory buffer (which must outlive the source) as one piece.
class MemorySource : public ByteSource {
 public:
  MemorySource(std::span<const std::byte> data, std::string name)
      : data_(data), name_(std::move(name)) {}
  std::span<const std::byte> next() override {
    auto piece = data_;
    data_ = {};
    return piece;
  }
  const std::string& name() const override { return name_; }

 private:
  std::span<const std::byte> data_;
  std::string name_;
};

// Appends to a memory buffer.
class MemorySink : public ByteSink {
 public:
  explicit MemorySink(std::string name) : name_(std::move(name)) {}
  void write(std::span<const std::byte> data) override {
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  const std::string& name() const override { return name_; }
  Bytes bytes;

 private:
  std::string name_;
};

// Writes a new file through a buffer; `close()` must be called to flush and check for errors
// (the destructor of an unclosed sink only closes the descriptor).
class FileSink : public ByteSink {
 public:
  explicit FileSink(const fs::path& path);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  void write(std::span<const std::byte> data) override;
  void close();
  const std::string& name() const override { return name_; }
  uint64_t bytes_written() const { return written_; }

 private:
  void flush();
  int fd_ = -1;
  std::string name_;
  Bytes buffer_;
  uint64_t written_ = 0;
};

}  // namespace te
