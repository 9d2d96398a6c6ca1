/*
 * sdnotify.c -- systemd's readiness protocol without libsystemd: one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (Type=notify units).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "main/main.h"

bool main_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return false;
	size_t len = strlen(path);
	if (len >= sizeof sa.sun_path)
		return false;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@') /* an abstract socket */
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
	return n == (ssize_t)strlen(state);
}
