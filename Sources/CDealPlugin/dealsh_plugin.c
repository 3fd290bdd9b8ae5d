// The plugin interface is the header; this file makes the C target a library
// and holds the host's fault guard for calls into plugins (dealsh_guard.h).
#define _GNU_SOURCE
#include "dealsh_plugin.h"
#include "dealsh_guard.h"

#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

uint32_t dealsh_plugin_header_abi_major(void) { return DEALSH_PLUGIN_ABI_MAJOR; }

static const int guarded_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define GUARDED_COUNT (sizeof(guarded_signals) / sizeof(guarded_signals[0]))

/* The innermost guarded call of this thread, and the signal that ended it. */
static __thread sigjmp_buf *guard_target = NULL;
static __thread volatile sig_atomic_t guard_fault = 0;

static void guard_handler(int sig) {
  if (guard_target != NULL) {
    guard_fault = sig;
    siglongjmp(*guard_target, 1);
  }
  /* A fault outside any guarded call: die as the signal would. */
  signal(sig, SIG_DFL);
  raise(sig);
}

/* A stack of its own for the handler, so a plugin that overflows its stack
   can still be returned from. One per thread, kept for the thread's life. */
static void ensure_alternate_stack(void) {
  static __thread int done = 0;
  if (done) return;
  done = 1;
  stack_t current;
  if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return; /* one is set already */
  size_t size = 1 << 16;
  void *mem = malloc(size);
  if (mem == NULL) return;
  stack_t ss;
  memset(&ss, 0, sizeof ss);
  ss.ss_sp = mem;
  ss.ss_size = size;
  if (sigaltstack(&ss, NULL) != 0) free(mem);
}

char *dealsh_guarded_run(const dealsh_plugin *plugin, const dealsh_host *host, const char *invocation, int32_t *fault) {
  ensure_alternate_stack();
  struct sigaction ours, previous[GUARDED_COUNT];
  memset(&ours, 0, sizeof ours);
  ours.sa_handler = guard_handler;
  ours.sa_flags = SA_ONSTACK | SA_NODEFER;
  sigemptyset(&ours.sa_mask);
  for (size_t i = 0; i < GUARDED_COUNT; i++) sigaction(guarded_signals[i], &ours, &previous[i]);

  sigjmp_buf here;
  sigjmp_buf *outer = guard_target;
  char *volatile answer = NULL;
  if (sigsetjmp(here, 1) == 0) {
    guard_target = &here;
    answer = plugin->run(host, invocation);
    *fault = 0;
  } else {
    answer = NULL;
    *fault = (int32_t)guard_fault;
  }
  guard_target = outer;
  for (size_t i = 0; i < GUARDED_COUNT; i++) sigaction(guarded_signals[i], &previous[i], NULL);
  return answer;
}
