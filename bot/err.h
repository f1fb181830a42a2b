/* err.h - the error context that travels up from low layers to the one place that logs it. */
#ifndef ACKBOT_ERR_H
#define ACKBOT_ERR_H

#include <stdarg.h>

enum ack_code {
	ACK_OK = 0,
	ACK_ENOMEM = -1,	/* allocation failed */
	ACK_EINVAL = -2,	/* bad input: the caller's or the user's */
	ACK_EIO = -3,		/* a file or the store failed */
	ACK_ENOENT = -4,	/* no such thing */
	ACK_ETEMP = -5,		/* transient: try again later */
	ACK_ELIMIT = -6,	/* a resource limit was hit (PCRE2 match limit, size cap) */
	ACK_EDUP = -7,		/* already there */
};

struct ack_err {
	int code;
	char msg[256];
};

/* Fills err (if not NULL) and returns code, so callers can `return ack_fail(err, ...)`. */
int ack_fail(struct ack_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ack_vfail(struct ack_err *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void ack_err_clear(struct ack_err *err);

#endif
