#pragma once
// Helpers shared by the unit tests: temporary folders, byte buffers, running the te-ckpt binary and
// /usr/bin/python3 (the independent oracle: numpy, numcodecs, msgpack), and error-message checks.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/error.h"

namespace te::testing {

namespace fs = std::filesystem;

// The real T5X files kept in the repository (tests/fixtures/t5x, see its NOTICE.md).
inline const fs::path kFixtureRoot = TE_CKPT_FIXTURES_DIR;
inline const fs::path kFixtures = kFixtureRoot / "t5x";
inline const std::string kBinary = TE_CKPT_BINARY;

// `count` little-endian int32 values 1, 8, 15, ... (i * 7 + 1): distinct, so a misplaced element
// shows.
inline Bytes int32_ramp(size_t count) {
  Bytes b(count * 4);
  for (size_t i = 0; i < count; ++i) {
    int32_t v = static_cast<int32_t>(i * 7 + 1);
    std::memcpy(b.data() + 4 * i, &v, 4);
  }
  return b;
}

// A fresh folder under the system temp folder, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "te-ckpt-unit-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline Bytes bytes_of(std::initializer_list<int> values) {
  Bytes b;
  for (int v : values) b.push_back(static_cast<std::byte>(v));
  return b;
}

inline Bytes bytes_of(const std::string& s) {
  Bytes b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

template <typename T>
Bytes bytes_of_values(const std::vector<T>& values) {
  Bytes b(values.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), values.data(), b.size());
  return b;
}

inline std::string hex(std::span<const std::byte> data) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(data.size() * 2);
  for (std::byte b : data) {
    s += digits[static_cast<unsigned>(b) >> 4];
    s += digits[static_cast<unsigned>(b) & 15];
  }
  return s;
}

inline Bytes unhex(const std::string& text) {
  Bytes b;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i + 1 < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) throw std::runtime_error("bad hex: " + text);
    b.push_back(static_cast<std::byte>(hi * 16 + lo));
  }
  return b;
}

// Deterministic pseudo-random bytes.
inline Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::byte>(rng() & 0xff);
  return b;
}

// Bytes that compress well but are not trivial (small alphabet, runs).
inline Bytes compressible_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (size_t i = 0; i < n; ++i)
    b[i] = static_cast<std::byte>((i / 7 + (rng() % 4 == 0 ? rng() % 5 : 0)) & 0x1f);
  return b;
}

inline Bytes read_bytes(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path.string());
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return bytes_of(s);
}

inline void write_bytes(const fs::path& path, std::span<const std::byte> data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

inline void write_text(const fs::path& path, const std::string& text) {
  write_bytes(path, as_bytes(text));
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a shell command line; captures stdout and stderr.
inline RunResult run_shell(const std::string& command) {
  TempDir tmp;
  fs::path out = tmp / "stdout", err = tmp / "stderr";
  std::string full = command;
  full += " >";
  full += shell_quote(out.string());
  full += " 2>";
  full += shell_quote(err.string());
  int status = std::system(full.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = to_string(read_bytes(out));
  r.err = to_string(read_bytes(err));
  return r;
}

// Runs a Python program under /usr/bin/python3 (with argv[1:] = args); returns its stdout.
// Fails the calling test (and returns "") when Python exits non-zero.
inline std::string run_python(const std::string& program,
                              const std::vector<std::string>& args = {}) {
  TempDir tmp;
  fs::path script = tmp / "script.py";
  write_text(script, program);
  std::string cmd = "/usr/bin/python3 ";
  cmd += shell_quote(script.string());
  for (const auto& a : args) {
    cmd += " ";
    cmd += shell_quote(a);
  }
  RunResult r = run_shell(cmd);
  EXPECT_EQ(r.exit_code, 0) << "python failed:\n" << r.err;
  return r.exit_code == 0 ? r.out : std::string();
}

// Runs the te-ckpt binary with already quoted arguments.
inline RunResult run_te(const std::string& args) {
  std::string cmd = shell_quote(kBinary);
  cmd += " ";
  cmd += args;
  return run_shell(cmd);
}

// Expects `statement` to throw te::Error whose message contains every one of `parts`.
#define EXPECT_TE_ERROR(statement, ...)                                             \
  do {                                                                              \
    try {                                                                           \
      statement;                                                                    \
      ADD_FAILURE() << "expected te::Error from: " #statement;                      \
    } catch (const te::Error& e__) {                                                \
      for (const std::string& part__ : std::vector<std::string>{__VA_ARGS__}) {     \
        EXPECT_NE(std::string(e__.what()).find(part__), std::string::npos)          \
            << "message \"" << e__.what() << "\" lacks \"" << part__ << "\"";       \
      }                                                                             \
    } catch (const std::exception& e__) {                                           \
      ADD_FAILURE() << "expected te::Error, got another exception: " << e__.what(); \
    }                                                                               \
  } while (0)

}  // namespace te::testing
