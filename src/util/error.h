#pragma once
// te::Error: the one error type of te-ckpt. Its message is complete and user-facing: it names the
// file or array and what was expected versus found. The library never prints; the CLI prints
// `what()` on one line and exits non-zero.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace te {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A command line that cannot mean anything (a flag value of the wrong type): the CLI reports it
// like every other error but exits with the usage status (2) instead of 1.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Throws te::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace te
