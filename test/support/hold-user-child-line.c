/*
 * LD_PRELOAD for a test sshd (see late-child-line-sshd.ts): while the file "$JIT_HOLD_DIR/hold" exists, the
 * monitor's "User child is on pid N" line waits before it goes to the log, so the user child's own lines (its
 * tunnel line) reach the log first: the order a loaded machine sometimes gives, made certain. Every other line,
 * and this one once the file is gone (or after 60 s), is logged as glibc would. sshd (fortified) calls
 * __syslog_chk only; syslog is wrapped too for an unfortified build.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static void hold_if_child_line(const char *message) {
  const char *dir = getenv("JIT_HOLD_DIR");
  char path[4096];
  struct stat st;
  if (dir == NULL || strncmp(message, "User child is on pid ", 21) != 0) return;
  snprintf(path, sizeof path, "%s/hold", dir);
  for (int i = 0; i < 6000 && stat(path, &st) == 0; i++) usleep(10000);
}

static void log_held(int pri, const char *fmt, va_list ap) {
  char message[2048];
  vsnprintf(message, sizeof message, fmt, ap);
  hold_if_child_line(message);
  void (*real)(int, int, const char *, ...) = (void (*)(int, int, const char *, ...))dlsym(RTLD_NEXT, "__syslog_chk");
  real(pri, 1, "%s", message);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...) {
  va_list ap;
  (void)flag;
  va_start(ap, fmt);
  log_held(pri, fmt, ap);
  va_end(ap);
}

void syslog(int pri, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_held(pri, fmt, ap);
  va_end(ap);
}
