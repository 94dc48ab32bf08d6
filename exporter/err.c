/* err.c - message strings for enum perr. */
#include "err.h"

static const char *const err_names[PE__COUNT] = {
	[PE_OK] = "success",
	[PE_NOMEM] = "out of memory",
	[PE_INVAL] = "invalid argument",
	[PE_IO] = "i/o error",
	[PE_PARSE] = "parse error",
	[PE_CONFIG] = "invalid configuration",
	[PE_TIMEOUT] = "timed out",
	[PE_TOOBIG] = "size limit exceeded",
	[PE_TLS] = "tls error",
	[PE_CONNECT] = "connection failed",
	[PE_HTTP] = "unexpected http status",
	[PE_AUTH] = "authentication failed",
	[PE_DENIED] = "permission denied",
	[PE_NOTFOUND] = "not found",
	[PE_UNAVAIL] = "unavailable",
	[PE_INTERNAL] = "internal error",
};

const char *err_str(enum perr e)
{
	if ((int)e < 0 || e >= PE__COUNT || !err_names[e])
		return "unknown error";
	return err_names[e];
}
