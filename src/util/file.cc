#include "util/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace te {
namespace {

[[noreturn]] void fail_errno(const char* what, const fs::path& path) {
  fail("cannot {} {}: {}", what, path.string(), std::strerror(errno));
}

int open_or_fail(const fs::path& path, int flags, const char* what) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno(what, path);
  return fd;
}

void write_all(int fd, std::span<const std::byte> data, const std::string& name) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write {}: {}", name, std::strerror(errno));
    }
    data = data.subspan(static_cast<size_t>(n));
  }
}

class FileSource : public ByteSource {
 public:
  FileSource(const fs::path& path, size_t piece_size)
      : fd_(open_or_fail(path, O_RDONLY, "open")), name_(path.string()), buffer_(piece_size) {}
  ~FileSource() override { ::close(fd_); }
  std::span<const std::byte> next() override {
    for (;;) {
      ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
      if (n >= 0) return {buffer_.data(), static_cast<size_t>(n)};
      if (errno != EINTR) fail("cannot read {}: {}", name_, std::strerror(errno));
    }
  }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  std::string name_;
  Bytes buffer_;
};

}  // namespace

Bytes read_file(const fs::path& path) {
  int fd = open_or_fail(path, O_RDONLY, "open");
  Bytes data;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  std::byte buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      errno = saved;
      fail_errno("read", path);
    }
    if (n == 0) break;
    data.insert(data.end(), buf, buf + n);
  }
  ::close(fd);
  return data;
}

std::string read_text_file(const fs::path& path) {
  return to_string(read_file(path));
}

void write_file(const fs::path& path, std::span<const std::byte> data) {
  FileSink sink(path);
  sink.write(data);
  sink.close();
}

void write_text_file(const fs::path& path, const std::string& text) {
  write_file(path, as_bytes(text));
}

uint64_t copy_file_bytes(const fs::path& from, const fs::path& to) {
  int in = open_or_fail(from, O_RDONLY, "open");
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    int saved = errno;
    ::close(in);
    errno = saved;
    fail_errno("create", to);
  }
  uint64_t total = 0;
  bool use_copy_range = true;
  std::byte buf[1 << 16];
  for (;;) {
    ssize_t n;
    if (use_copy_range) {
      n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        use_copy_range = false;
        continue;
      }
    } else {
      n = ::read(in, buf, sizeof buf);
      if (n > 0) {
        try {
          write_all(out, {buf, static_cast<size_t>(n)}, to.string());
        } catch (...) {
          ::close(in);
          ::close(out);
          throw;
        }
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(in);
      ::close(out);
      errno = saved;
      fail_errno("copy into", to);
    }
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
  }
  ::close(in);
  ::sync_file_range(out, 0, 0, SYNC_FILE_RANGE_WRITE);  // start writeback early, as FileSink does
  if (::close(out) != 0) fail_errno("close", to);
  return total;
}

std::unique_ptr<ByteSource> open_file_source(const fs::path& path, size_t piece_size) {
  return std::make_unique<FileSource>(path, piece_size);
}

FileSink::FileSink(const fs::path& path)
    : fd_(open_or_fail(path, O_WRONLY | O_CREAT | O_TRUNC, "create")), name_(path.string()) {
  buffer_.reserve(1 << 20);
}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSink::write(std::span<const std::byte> data) {
  written_ += data.size();
  if (buffer_.size() + data.size() > buffer_.capacity()) flush();
  if (data.size() >= buffer_.capacity()) {
    write_to_file(data);
  } else {
    buffer_.insert(buffer_.end(), data.begin(), data.end());
  }
}

void FileSink::flush() {
  write_to_file(buffer_);
  buffer_.clear();
}

uint64_t FileSink::append_file(const fs::path& from) {
  flush();
  int in = open_or_fail(from, O_RDONLY, "open");
  uint64_t total = 0;
  bool use_copy_range = true;
  std::byte buf[1 << 16];
  try {
    for (;;) {
      ssize_t n;
      if (use_copy_range) {
        n = ::copy_file_range(in, nullptr, fd_, nullptr, 1 << 30, 0);
        if (n < 0 &&
            (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
          use_copy_range = false;
          continue;
        }
      } else {
        n = ::read(in, buf, sizeof buf);
        if (n > 0) write_all(fd_, {buf, static_cast<size_t>(n)}, name_);
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        fail_errno("copy into", name_);
      }
      if (n == 0) break;
      total += static_cast<uint64_t>(n);
    }
  } catch (...) {
    ::close(in);
    throw;
  }
  ::close(in);
  written_ += total;
  in_file_ += total;
  start_writeback_every_step();
  return total;
}

void FileSink::start_writeback_every_step() {
  if (in_file_ - writeback_from_ >= kWritebackStep) {
    ::sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                      static_cast<off_t>(in_file_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
    writeback_from_ = in_file_;
  }
}

void FileSink::write_to_file(std::span<const std::byte> data) {
  write_all(fd_, data, name_);
  in_file_ += data.size();
  start_writeback_every_step();
}

void FileSink::close() {
  flush();
  // Start writeback now, without waiting, so the commit's final sync finds little left to do.
  ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot write {}: {}", name_, std::strerror(errno));
}

}  // namespace te
