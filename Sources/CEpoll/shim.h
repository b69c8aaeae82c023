// Linux's epoll, which Swift's Glibc module does not expose: the libpq layer's reactor
// (Sources/Postgres/PostgresReactor.swift) waits on database sockets with it.
#include <sys/epoll.h>
