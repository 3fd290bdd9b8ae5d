// The plugin interface is the header; this file makes the C target a library.
#include "dealsh_plugin.h"

uint32_t dealsh_plugin_header_abi_major(void) { return DEALSH_PLUGIN_ABI_MAJOR; }
