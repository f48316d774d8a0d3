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

$(OBJS): src/event_store.h src/events.h

.PHONY: test demo bench soak
# Every suite: regress + isolation, pgTAP, Perl TAP. Needs the extension
# installed (it installs it) and root or a user that can run pg_virtualenv.
test: all
	bash test/run_all.sh

demo: all
	bash tools/demo.sh

bench: all
	bash bench/run.sh

# The soak (bench/soak.sh): everything at once for SOAK_SECONDS (default
# 600), then every invariant checked.  Not part of `make test`.
soak: all
	bash bench/soak.sh

# The tailing subscriber (client/es_tail*.c): a small libpq program that plain
# `make` builds next to its source and `make install` puts into PostgreSQL's
# bindir, next to pg_recvlogical.
PG_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
PG_LIBDIR := $(shell $(PG_CONFIG) --libdir)
all: client/es_tail

ES_TAIL_SRCS = $(wildcard client/es_tail*.c)
client/es_tail: $(ES_TAIL_SRCS) client/es_tail.h
	$(CC) -O2 -g -Wall -Wextra -Werror -I$(PG_INCLUDEDIR) -o $@ $(ES_TAIL_SRCS) -L$(PG_LIBDIR) -lpq

.PHONY: install-es-tail uninstall-es-tail
install: install-es-tail
install-es-tail: client/es_tail
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) client/es_tail '$(DESTDIR)$(bindir)/es_tail'

uninstall: uninstall-es-tail
uninstall-es-tail:
	rm -f '$(DESTDIR)$(bindir)/es_tail'

# Every suite again, on servers that run the extension built with
# AddressSanitizer and UBSan, installed into a private DESTDIR (nothing
# system-wide): tools/sanitize.sh says how.  SANITIZE_DIR=/some/dir picks
# its directory (default: a new one under /tmp).  Needs root, like `make test`.
.PHONY: sanitize
sanitize:
	PG_CONFIG='$(PG_CONFIG)' PG_CFLAGS='$(PG_CFLAGS)' CC='$(CC)' bash tools/sanitize.sh
