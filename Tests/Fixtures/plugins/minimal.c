/* A minimal dealsh plugin in C: one command, `hello`, that counts the
   deal's nodes through the host. Build:
     cc -shared -fPIC -I Sources/CDealPlugin/include -o libhello.so minimal.c
   The tests build it twice: as is, and with -DPLUGIN_ABI_MAJOR=2 (refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dealsh_plugin.h"

#ifndef PLUGIN_ABI_MAJOR
#define PLUGIN_ABI_MAJOR DEALSH_PLUGIN_ABI_MAJOR
#endif

/* hello-note: changes the session through the host (journaled, undoable). */
static char *note(const dealsh_host *host) {
  int32_t status = 0;
  char *result = host->run_command(host->context, "note \"hello from C\"", &status);
  host->free_buffer(result);
  char *bad = host->run_command(host->context, "add entity Bad-Id type=spv", &status);
  int refused = status != 0;
  host->free_buffer(bad);
  char *answer = malloc(128);
  snprintf(answer, 128, "{\"text\": \"noted; a bad change %s\", \"json\": {}}", refused ? "was refused" : "went through");
  return answer;
}

/* hello-crash: dereferences NULL (the host must survive it). */
static char *crash(void) {
  volatile int *nowhere = NULL;
  *nowhere = 42;
  return NULL;
}

/* hello-loop: runs itself through the host, forever (the host's depth limit
   stops it). */
static char *loop(const dealsh_host *host) {
  int32_t status = 0;
  char *result = host->run_command(host->context, "hello-loop", &status);
  host->free_buffer(result);
  char *answer = malloc(128);
  snprintf(answer, 128, "{\"error\": \"hello-loop: a nested call %s\"}", status ? "was refused" : "went through");
  return answer;
}

/* hello-change-fail: changes the session through the host, then fails. */
static char *change_then_fail(const dealsh_host *host) {
  int32_t status = 0;
  host->free_buffer(host->run_command(host->context, "note \"half done\"", &status));
  host->free_buffer(host->run_command(host->context, "add entity halfway type=spv", &status));
  char *answer = malloc(64);
  snprintf(answer, 64, "{\"error\": \"gave up halfway\"}");
  return answer;
}

/* hello-change-crash: changes the session through the host, then crashes. */
static char *change_then_crash(const dealsh_host *host) {
  int32_t status = 0;
  host->free_buffer(host->run_command(host->context, "add entity doomed type=spv", &status));
  return crash();
}

static char *run(const dealsh_host *host, const char *invocation) {
  if (strstr(invocation, "\"command\":\"hello-note\"") != NULL) return note(host);
  if (strstr(invocation, "\"command\":\"hello-crash\"") != NULL) return crash();
  if (strstr(invocation, "\"command\":\"hello-loop\"") != NULL) return loop(host);
  if (strstr(invocation, "\"command\":\"hello-change-fail\"") != NULL) return change_then_fail(host);
  if (strstr(invocation, "\"command\":\"hello-change-crash\"") != NULL) return change_then_crash(host);
  int32_t status = 0;
  char *result = host->run_command(host->context, "ls --json", &status);
  /* Count the nodes in {"nodes": [{"id": ...}, ...]} by their "id" keys. */
  int nodes = 0;
  for (const char *p = result; (p = strstr(p, "\"id\"")) != NULL; p += 4) nodes++;
  host->free_buffer(result);
  char *answer = malloc(128);
  snprintf(answer, 128, "{\"text\": \"hello: %d nodes\", \"json\": {\"nodes\": %d}}", nodes, nodes);
  return answer;
}

static void release(char *buffer) { free(buffer); }

static const dealsh_plugin table = {
  PLUGIN_ABI_MAJOR, DEALSH_PLUGIN_ABI_MINOR, sizeof(dealsh_plugin), "hello", "0.1.0",
  "[{\"name\": \"hello\", \"abstract\": \"count the nodes\", \"usage\": \"hello\"},"
  " {\"name\": \"hello-note\", \"abstract\": \"add a note through the host\", \"usage\": \"hello-note\"},"
  " {\"name\": \"hello-crash\", \"abstract\": \"dereference NULL\", \"usage\": \"hello-crash\"},"
  " {\"name\": \"hello-loop\", \"abstract\": \"call itself through the host\", \"usage\": \"hello-loop\"},"
  " {\"name\": \"hello-change-fail\", \"abstract\": \"change, then fail\", \"usage\": \"hello-change-fail\"},"
  " {\"name\": \"hello-change-crash\", \"abstract\": \"change, then crash\", \"usage\": \"hello-change-crash\"}]",
  run, release, NULL,
};

const dealsh_plugin *dealsh_plugin_entry_v1(const dealsh_host *host) {
  if (host->abi_major != DEALSH_PLUGIN_ABI_MAJOR || host->struct_size < sizeof(dealsh_host)) return NULL;
  return &table;
}
