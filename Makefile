# LockCloud's two commands (see README): `make run` and `make test`.
# Both install what is missing first (Debian packages, the Python test tools) and start their
# own PostgreSQL unless DATABASE_URL is given.
.PHONY: run test bench faults deps build build-release clean-data

# Where `make run` keeps its development database (ignored by git, reused between runs).
DEV_PGDATA ?= $(CURDIR)/.data/postgres
DEV_PGPORT ?= 55432

run: deps build
	@scripts/run-dev.sh

test:
	@scripts/test.sh

# Throughput and latency against PostgreSQL's own limit (release build; see README, Performance).
bench:
	@scripts/bench.sh

# The fault suite: database restarts, SIGTERM and many instances under load (see README).
faults:
	@scripts/faults.sh

deps:
	@scripts/install-deps.sh

build:
	swift build

build-release:
	swift build -c release

# Stops the development database and deletes its data.
clean-data:
	@scripts/pg.sh purge "$(DEV_PGDATA)"
