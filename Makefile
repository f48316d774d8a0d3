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
# AddressSanitizer and UBSan.  The sanitized build goes to a private DESTDIR
# that the test servers load through Debian's extension_destdir (the
# installed build is not touched, so others' servers are unaffected); the
# ASan runtime is preloaded into the servers (LD_PRELOAD, via the hooks of
# test/run_all.sh), followed by tools/sanitize_preload.c, without which
# Debian's postgres hangs before main() (see there).  Reports go to $(SANITIZE_DIR)/reports; any report fails
# the target.  Needs root, like `make test`.
SANITIZE_DIR ?= /tmp/event_store_sanitize
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
.PHONY: sanitize
sanitize:
	rm -rf $(SANITIZE_DIR) && mkdir -p $(SANITIZE_DIR)/reports $(SANITIZE_DIR)/tree
	tar --exclude=.git --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - . | tar -C $(SANITIZE_DIR)/tree -xf -
	$(MAKE) -C $(SANITIZE_DIR)/tree PG_CONFIG=$(PG_CONFIG) \
		PG_CFLAGS='$(PG_CFLAGS) $(SANITIZE_FLAGS)' SHLIB_LINK='$(SANITIZE_FLAGS)'
	$(MAKE) -C $(SANITIZE_DIR)/tree PG_CONFIG=$(PG_CONFIG) install DESTDIR=$(SANITIZE_DIR)/install
	$(MAKE) -C $(SANITIZE_DIR)/tree PG_CONFIG=$(PG_CONFIG) clean
	$(CC) -O2 -Wall -shared -fPIC -o $(SANITIZE_DIR)/sanitize_preload.so tools/sanitize_preload.c -ldl
	printf "%s\n" "extension_destdir = '$(SANITIZE_DIR)/install'" \
		"dynamic_library_path = '$(SANITIZE_DIR)/install$(pkglibdir):\$$libdir'" \
		> $(SANITIZE_DIR)/server.conf
	chmod -R a+rwX $(SANITIZE_DIR) && chmod 1777 $(SANITIZE_DIR)/reports
	EVENT_STORE_SERVER_CONF=$(SANITIZE_DIR)/server.conf \
	EVENT_STORE_SERVER_ENV="LD_PRELOAD=$$(gcc -print-file-name=libasan.so):$(SANITIZE_DIR)/sanitize_preload.so \
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$(SANITIZE_DIR)/reports/asan \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SANITIZE_DIR)/reports/ubsan" \
	bash $(SANITIZE_DIR)/tree/test/run_all.sh; rc=$$?; \
	reports=$$(find $(SANITIZE_DIR)/reports -type f -size +0 | sort); \
	for f in $$reports; do echo "==== $$f"; head -60 "$$f"; done; \
	echo "sanitize: suites exit $$rc, $$(echo $$reports | wc -w) sanitizer report(s) in $(SANITIZE_DIR)/reports"; \
	[ $$rc -eq 0 ] && [ -z "$$reports" ]
