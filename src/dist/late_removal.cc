#include "dist/late_removal.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/types.h>

#include <string>

extern char** environ;

namespace te::dist {

bool remove_later(const std::filesystem::path& folder) {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  if (posix_spawnattr_init(&attr) != 0) return false;
  if (posix_spawn_file_actions_init(&actions) != 0) {
    posix_spawnattr_destroy(&attr);
    return false;
  }
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  for (int fd = 0; fd <= 2; ++fd)
    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  std::string script = "sleep 2; rm -rf -- \"$0\"; sleep 3; rm -rf -- \"$0\"";
  std::string path = folder.string();
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, script.data(), path.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, sh, &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return rc == 0;
}

}  // namespace te::dist
