#include "kvstore/file/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/file.h"

namespace te::kv {
namespace fs = std::filesystem;
namespace {

constexpr size_t kPieceSize = 1 << 20;

// Streams [offset, offset + length) of an open file with pread; owns the descriptor.
class FileRangeSource : public ByteSource {
 public:
  FileRangeSource(int fd, uint64_t offset, uint64_t length, std::string name)
      : fd_(fd),
        offset_(offset),
        left_(length),
        name_(std::move(name)),
        buffer_(static_cast<size_t>(std::min<uint64_t>(length, kPieceSize))) {}
  ~FileRangeSource() override { ::close(fd_); }
  std::span<const std::byte> next() override {
    if (left_ == 0) return {};
    size_t want = static_cast<size_t>(std::min<uint64_t>(left_, buffer_.size()));
    for (;;) {
      ssize_t n = ::pread(fd_, buffer_.data(), want, static_cast<off_t>(offset_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("cannot read {}: {}", name_, std::strerror(errno));
      if (n == 0)
        fail("cannot read {}: the file ended at byte {}, {} bytes early", name_, offset_, left_);
      offset_ += static_cast<uint64_t>(n);
      left_ -= static_cast<uint64_t>(n);
      return {buffer_.data(), static_cast<size_t>(n)};
    }
  }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  uint64_t offset_, left_;
  std::string name_;
  Bytes buffer_;
};

void fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail("cannot open {} to sync it: {}", path.string(), std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) fail("cannot sync {}: {}", path.string(), std::strerror(saved));
}

std::string temp_name_for(const fs::path& path) {
  static std::atomic<uint64_t> counter{0};
  return path.string() + ".te-ckpt-part-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++);
}

// Writes through util/file.h's FileSink (buffered, early writeback). Durable: into a temporary
// name, then fsync, rename and fsync of the folder. An unclosed sink removes what it wrote.
class FileValueSink : public ValueSink {
 public:
  FileValueSink(fs::path path, bool durable)
      : final_(std::move(path)),
        durable_(durable),
        written_path_(durable ? fs::path(temp_name_for(final_)) : final_),
        sink_(std::make_unique<FileSink>(written_path_)) {}
  ~FileValueSink() override {
    if (sink_) {
      sink_.reset();
      std::error_code ec;
      fs::remove(written_path_, ec);
    }
  }
  void write(std::span<const std::byte> data) override { sink_->write(data); }
  uint64_t append_file(const fs::path& path) override { return sink_->append_file(path); }
  const std::string& name() const override { return sink_->name(); }
  uint64_t close() override {
    sink_->close();
    uint64_t n = sink_->bytes_written();
    if (durable_) {
      fsync_path(written_path_, O_RDONLY);
      if (::rename(written_path_.c_str(), final_.c_str()) != 0)
        fail("cannot rename {} to {}: {}", written_path_.string(), final_.string(),
             std::strerror(errno));
      fsync_path(final_.parent_path(), O_RDONLY | O_DIRECTORY);
    }
    sink_.reset();
    return n;
  }

 private:
  fs::path final_;
  bool durable_;
  fs::path written_path_;
  std::unique_ptr<FileSink> sink_;
};

void make_parent_folders(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) fail("cannot create folder {}: {}", path.parent_path().string(), ec.message());
}

}  // namespace

FileStore::FileStore(fs::path root) : root_(std::move(root)) {}

fs::path FileStore::path_of(std::string_view key) const {
  auto bad = [&](const char* why) -> fs::path {
    fail("key '{}' of local folder {} is not a relative file path: {}", printable_key(key),
         root_.string(), why);
  };
  if (key.empty()) return bad("it is empty");
  if (key.find('\0') != std::string_view::npos) return bad("it contains a NUL byte");
  if (key.front() == '/') return bad("it starts with '/'");
  size_t start = 0;
  for (;;) {
    size_t end = key.find('/', start);
    std::string_view part =
        key.substr(start, end == std::string_view::npos ? key.npos : end - start);
    if (part.empty()) return bad("it has an empty path component");
    if (part == "." || part == "..") return bad("it has a '.' or '..' component");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return root_ / std::string(key);
}

std::optional<uint64_t> FileStore::size(std::string_view key) const {
  fs::path path = path_of(key);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    fail("cannot stat {}: {}", describe(key), std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

std::unique_ptr<ByteSource> FileStore::read(std::string_view key, ByteRange range) const {
  fs::path path = path_of(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) fail("{} not found", describe(key));
    fail("cannot open {}: {}", describe(key), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{} is not a regular file", describe(key));
  }
  uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint64_t length = range.length ? *range.length : file_size - std::min(range.offset, file_size);
  if (range.offset > file_size || length > file_size - range.offset) {
    ::close(fd);
    fail("{} is {} bytes, too short for the range [{}, {}+{})", describe(key), file_size,
         range.offset, range.offset, length);
  }
  return std::make_unique<FileRangeSource>(fd, range.offset, length, describe(key));
}

std::vector<KeyEntry> FileStore::list(std::string_view prefix) const {
  std::vector<KeyEntry> out;
  // Walk only the folder that can hold the prefix.
  std::string_view folder =
      prefix.substr(0, prefix.rfind('/') == prefix.npos ? 0 : prefix.rfind('/'));
  fs::path start = folder.empty() ? root_ : root_ / std::string(folder);
  std::error_code ec;
  if (!fs::is_directory(start, ec)) return out;
  fs::recursive_directory_iterator it(start, ec), end;
  if (ec) fail("cannot list {}: {}", start.string(), ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) fail("cannot list {}: {}", start.string(), ec.message());
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    std::string key = it->path().lexically_relative(root_).generic_string();
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    out.push_back({std::move(key), static_cast<uint64_t>(it->file_size(type_ec))});
  }
  if (ec) fail("cannot list {}: {}", start.string(), ec.message());
  std::sort(out.begin(), out.end(),
            [](const KeyEntry& a, const KeyEntry& b) { return a.key < b.key; });
  return out;
}

std::unique_ptr<ValueSink> FileStore::write(std::string_view key, WriteOptions options) {
  fs::path path = path_of(key);
  make_parent_folders(path);
  return std::make_unique<FileValueSink>(path, options.durable);
}

uint64_t FileStore::copy_from(const KvStore& src, std::string_view src_key,
                              std::string_view dst_key) {
  auto* files = dynamic_cast<const FileStore*>(&src);
  if (!files) return KvStore::copy_from(src, src_key, dst_key);
  fs::path from = files->path_of(src_key), to = path_of(dst_key);
  if (!files->size(src_key)) fail("{} not found", files->describe(src_key));
  make_parent_folders(to);
  std::error_code ec;
  fs::remove(to, ec);  // copy_file_bytes creates a new file
  return copy_file_bytes(from, to);
}

std::string FileStore::describe(std::string_view key) const {
  return "local file " + (root_ / std::string(key)).string();
}

std::string FileStore::location() const {
  return "local folder " + root_.string();
}

}  // namespace te::kv
