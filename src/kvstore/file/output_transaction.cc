#include "kvstore/file/output_transaction.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace te::kv {
namespace {

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

bool empty_folder(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec) && fs::is_empty(p, ec);
}

fs::path normal_output(const fs::path& output) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(fs::absolute(output), ec);
  if (out.filename().empty()) out = out.parent_path();
  return out;
}

}  // namespace

void check_output_path(const fs::path& input, const fs::path& output, bool overwrite) {
  std::error_code ec;
  fs::path in = fs::weakly_canonical(fs::absolute(input), ec);
  fs::path out = normal_output(output);
  if (out == in)
    fail("--output-path {} is the input; te-ckpt never writes into its input", output.string());
  if (is_within(out, in)) {
    fail("--output-path {} is inside the input {}; te-ckpt never writes into its input",
         output.string(), input.string());
  }
  if (is_within(in, out)) {
    fail("--output-path {} contains the input {}; choose another output", output.string(),
         input.string());
  }
  auto status = fs::status(out, ec);
  if (fs::exists(status) && !fs::is_directory(status)) {
    fail(
        "--output-path {} exists and is a file, not a folder; choose another output (--overwrite "
        "replaces folders only)",
        output.string());
  }
  if (fs::exists(status) && !empty_folder(out) && !overwrite) {
    fail("--output-path {} exists and is not empty; pass --overwrite to replace it",
         output.string());
  }
}

OutputTransaction::OutputTransaction(const fs::path& input, const fs::path& output,
                                     bool overwrite) {
  check_output_path(input, output, overwrite);
  std::error_code ec;
  output_ = normal_output(output);
  fs::path parent = output_.parent_path();
  for (fs::path p = parent; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    created_parents_.push_back(p);
    if (p == p.parent_path()) break;
  }
  fs::create_directories(parent, ec);
  if (ec) fail("cannot create {}: {}", parent.string(), ec.message());
  std::string name = output_.filename().string();

  // One run per output at a time. The lock file is unlinked by its holder at the end, so after
  // locking, check that the path still names the locked file.
  lock_path_ = parent / ("." + name + ".te-ckpt-lock");
  for (;;) {
    lock_fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) fail("cannot create {}: {}", lock_path_.string(), std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd_);
      lock_fd_ = -1;
      fail("another te-ckpt run is writing {} (lock {} is held)", output_.string(),
           lock_path_.string());
    }
    struct stat a {
    }, b{};
    if (::fstat(lock_fd_, &a) == 0 && ::stat(lock_path_.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      break;
    }
    ::close(lock_fd_);
  }

  // Temporary folders of interrupted runs for this output (we hold the lock, so none is live).
  std::string stale_prefix = name + kTempMarker;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    if (e.path().filename().string().rfind(stale_prefix, 0) == 0) fs::remove_all(e.path(), ec);
  }
  temp_ = parent / (stale_prefix + std::to_string(::getpid()));
  fs::create_directory(temp_, ec);
  if (ec) fail("cannot create {}: {}", temp_.string(), ec.message());
}

OutputTransaction::~OutputTransaction() {
  std::error_code ec;
  if (!committed_ && !temp_.empty()) fs::remove_all(temp_, ec);
  if (lock_fd_ >= 0) {
    ::unlink(lock_path_.c_str());
    ::close(lock_fd_);
  }
  // A failed run leaves no folder it created: rmdir removes each only while it is empty (another
  // process may have put something there meanwhile).
  if (!committed_) {
    for (const auto& p : created_parents_) ::rmdir(p.c_str());
  }
}

void OutputTransaction::commit() {
  int fd = ::open(temp_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    if (::syncfs(fd) != 0) {
      int e = errno;
      ::close(fd);
      fail("cannot sync {}: {}", temp_.string(), std::strerror(e));
    }
    ::close(fd);
  }
  std::error_code ec;
  if (fs::exists(output_, ec) && !empty_folder(output_)) {
    // --overwrite: swap atomically, then delete the old content (now under the temporary name).
    if (::syscall(SYS_renameat2, AT_FDCWD, temp_.c_str(), AT_FDCWD, output_.c_str(),
                  RENAME_EXCHANGE) != 0) {
      fail("cannot replace {}: {}", output_.string(), std::strerror(errno));
    }
    committed_ = true;
    fs::remove_all(temp_, ec);
    return;
  }
  if (::rename(temp_.c_str(), output_.c_str()) != 0) {
    fail("cannot rename {} to {}: {}", temp_.string(), output_.string(), std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace te::kv
