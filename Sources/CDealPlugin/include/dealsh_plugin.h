/*
 * dealsh_plugin.h — the plugin interface of dealsh, version 1.
 *
 * A plugin is a shared library exporting one symbol, dealsh_plugin_entry_v1.
 * The host calls it once with its host table; the plugin checks the host's
 * ABI and returns its plugin table (or NULL to refuse). Everything crossing
 * the boundary is a C type: integers, function pointers and NUL-terminated
 * UTF-8 strings, most of them JSON documents.
 *
 * Ownership: a buffer belongs to the side that allocated it, and only that
 * side frees it. Strings the host returns (graph_json, run_command) are freed
 * by the plugin with host->free_buffer; strings a plugin returns from run are
 * freed by the host with plugin->free_buffer. Strings passed as arguments are
 * borrowed for the duration of the call. The plugin table and the strings it
 * points to (name, version, commands_json) must live until unload.
 *
 * Versions: abi_major changes only when a table changes incompatibly (the
 * entry symbol then changes name too: dealsh_plugin_entry_v2); new functions
 * are appended at the end of a table, raise abi_minor and struct_size, and
 * must be checked for with struct_size before use.
 */
#ifndef DEALSH_PLUGIN_H
#define DEALSH_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DEALSH_PLUGIN_ABI_MAJOR 1
#define DEALSH_PLUGIN_ABI_MINOR 0

/* What the host offers a plugin. `context` is passed back on every call. */
typedef struct dealsh_host {
  uint32_t abi_major;   /* DEALSH_PLUGIN_ABI_MAJOR of the host */
  uint32_t abi_minor;
  uint32_t struct_size; /* sizeof(dealsh_host) as the host built it */
  void *context;

  /* The session as a .deal document (SessionCodec JSON: "deal", "nodes",
     "edges", "scenarios", ...). Free with free_buffer. */
  char *(*graph_json)(void *context);

  /* Runs a command line as if typed and returns its --json result. A command
     that changes the session is validated, journaled and undoable like a
     typed one. *status is 0 on success; else 1 and the result is
     {"error": MESSAGE}. Free the result with free_buffer. */
  char *(*run_command)(void *context, const char *line, int32_t *status);

  /* Prints a line (progress, warnings) on the shell's error stream. */
  void (*print)(void *context, const char *line);

  /* 1 if the user pressed Ctrl-C since the command started. */
  int32_t (*cancelled)(void *context);

  /* Frees a buffer the host returned. */
  void (*free_buffer)(char *buffer);
} dealsh_host;

/* What a plugin gives the host. */
typedef struct dealsh_plugin {
  uint32_t abi_major;   /* must equal the host's */
  uint32_t abi_minor;
  uint32_t struct_size; /* sizeof(dealsh_plugin) as the plugin built it */
  const char *name;     /* e.g. "headroom" */
  const char *version;  /* e.g. "1.0.0" */

  /* The commands, a JSON array:
     [{"name", "abstract", "usage", "discussion", "examples": [...],
       "options": [{"name", "value", "help", "values": [...]}],
       "flags": [{"name", "help"}]}]
     The host builds help, Tab completion and option checking from it. */
  const char *commands_json;

  /* Runs a command. invocation_json:
     {"command", "positionals": [...], "options": {KEY: VALUE},
      "flags": {NAME: VALUE}, "json": bool,
      "terminal": {"width", "color", "interactive"}}
     Returns {"text": TEXT, "json": VALUE} or {"error": MESSAGE, "hint": HINT},
     allocated by the plugin and freed by the host with free_buffer. */
  char *(*run)(const dealsh_host *host, const char *invocation_json);

  /* Frees a buffer the plugin returned. */
  void (*free_buffer)(char *buffer);

  /* Called once before the library is closed (may be NULL). */
  void (*unload)(void);
} dealsh_plugin;

/* The entry point, looked up by name. Returns NULL to refuse the host. */
typedef const dealsh_plugin *(*dealsh_plugin_entry_v1_fn)(const dealsh_host *host);
const dealsh_plugin *dealsh_plugin_entry_v1(const dealsh_host *host);

#ifdef __cplusplus
}
#endif

#endif
