/* clock.c - the one place that reads clocks: wall and monotonic seconds as doubles, deadlines, sleeping. */
#include "clock.h"

#include <errno.h>
#include <math.h>

static double clock_read(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_wall(void)
{
	return clock_read(CLOCK_REALTIME);
}

double clock_mono(void)
{
	return clock_read(CLOCK_MONOTONIC);
}

struct timespec clock_abs(double mono)
{
	struct timespec ts;

	ts.tv_sec = (time_t)mono;
	ts.tv_nsec = (long)((mono - (double)ts.tv_sec) * 1e9);
	return ts;
}

void clock_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

void clock_sleep(double secs)
{
	if (!(secs > 0))
		return;
	struct timespec ts = {(time_t)secs, (long)((secs - floor(secs)) * 1e9)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
