#pragma once
// Byte streams: the sequential source and sink interfaces that codecs read from and write to, and
// their in-memory implementations. Nothing here touches files; util/file.h and the key-value
// stores (kvstore/) provide the file-backed ones.
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "util/bytes.h"

namespace te {

// A sequential reader of bytes. `next()` returns the next piece (empty at the end).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::span<const std::byte> next() = 0;
  // Where the bytes come from, for error messages.
  virtual const std::string& name() const = 0;
};

// A sequential writer of bytes.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::span<const std::byte> data) = 0;
  virtual const std::string& name() const = 0;
};

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

}  // namespace te
