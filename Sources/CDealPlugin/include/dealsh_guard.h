/*
 * dealsh_guard.h — host side only (not part of the plugin interface): calls
 * into a plugin with its faults contained. A plugin that dereferences NULL,
 * divides by zero, aborts or overflows its stack returns to the host with the
 * signal's number instead of taking the shell (and unsaved work) with it.
 */
#ifndef DEALSH_GUARD_H
#define DEALSH_GUARD_H

#include "dealsh_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Calls plugin->run(host, invocation). On a fault inside the call (SIGSEGV,
   SIGBUS, SIGFPE, SIGILL, SIGABRT) returns NULL with *fault set to the
   signal's number; otherwise *fault is 0. Calls may nest (a plugin calling
   the host calling a plugin); each returns to its own caller. */
char *dealsh_guarded_run(const dealsh_plugin *plugin, const dealsh_host *host, const char *invocation, int32_t *fault);

#ifdef __cplusplus
}
#endif

#endif
