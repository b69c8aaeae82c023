// Linux's epoll, which Swift's Glibc module does not expose: the libpq layer's reactor
// (Sources/Postgres/PostgresReactor.swift) waits on database sockets with it.
#ifndef __linux__
#error "LockCloud runs on Linux only: its PostgreSQL reactor waits on sockets with epoll."
#endif
#include <sys/epoll.h>
