# event_store: an event store inside PostgreSQL (PGXS build)

EXTENSION = event_store
MODULE_big = event_store
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA = $(wildcard sql/event_store--*.sql)
PGFILEDESC = "event_store - an event store inside PostgreSQL"

# pg_regress inputs are sql/<behaviour>.sql (not the install scripts);
# isolation specs are specs/<behaviour>.spec.  Both compare against expected/.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(filter-out sql/event_store--%,$(wildcard sql/*.sql))))
ISOLATION = $(sort $(patsubst specs/%.spec,%,$(wildcard specs/*.spec)))

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror

# the tailing subscriber, built below the PGXS include (see there)
EXTRA_CLEAN = client/es_tail

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): src/event_store.h

.PHONY: test demo bench
# Every suite: regress + isolation, pgTAP, Perl TAP. Needs the extension
# installed (it installs it) and root or a user that can run pg_virtualenv.
test: all
	bash test/run_all.sh

demo: all
	bash tools/demo.sh

bench: all
	bash bench/run.sh

# The tailing subscriber (client/es_tail.c): a small libpq program that plain
# `make` builds next to its source; it is not installed.
PG_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
PG_LIBDIR := $(shell $(PG_CONFIG) --libdir)
all: client/es_tail

client/es_tail: client/es_tail.c
	$(CC) -O2 -g -Wall -Wextra -Werror -I$(PG_INCLUDEDIR) -o $@ $< -L$(PG_LIBDIR) -lpq
