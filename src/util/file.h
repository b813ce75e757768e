#pragma once
// Files: whole-file reads and writes, a file source and sink (util/byte_stream.h), and byte-exact
// copies. Every failure throws te::Error naming the path and the system error.
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "util/byte_stream.h"
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

// Reads a file in pieces of `piece_size` bytes.
std::unique_ptr<ByteSource> open_file_source(const fs::path& path, size_t piece_size = 1 << 20);

// Writes a new file through a buffer; `close()` must be called to flush and check for errors
// (the destructor of an unclosed sink only closes the descriptor). Writeback of what reached the
// file is started (without waiting) every kWritebackStep bytes and at close, so that a long file
// (an OCDBT data file) is not left whole for its fsync or the commit's sync to write.
class FileSink : public ByteSink {
 public:
  explicit FileSink(const fs::path& path);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  static constexpr uint64_t kWritebackStep = uint64_t{8} << 20;

  void write(std::span<const std::byte> data) override;
  // Appends the whole content of `from` after what was written (copy_file_range, so the file
  // system may share extents); returns its bytes.
  uint64_t append_file(const fs::path& from);
  void close();
  const std::string& name() const override { return name_; }
  uint64_t bytes_written() const { return written_; }

 private:
  void flush();
  void write_to_file(std::span<const std::byte> data);
  void start_writeback_every_step();
  int fd_ = -1;
  std::string name_;
  Bytes buffer_;
  uint64_t written_ = 0;
  uint64_t in_file_ = 0;         // bytes handed to the file (written_ less the buffer)
  uint64_t writeback_from_ = 0;  // writeback started for [0, writeback_from_)
};

}  // namespace te
