/* err.c - filling struct ack_err. */
#include "err.h"

#include <stdio.h>

int
ack_vfail(struct ack_err *err, int code, const char *fmt, va_list ap)
{
	if (err != NULL) {
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return code;
}

int
ack_fail(struct ack_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ack_vfail(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void
ack_err_clear(struct ack_err *err)
{
	if (err != NULL) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
