# rtpush — PGXS build.  `make && make install`, then see README.md.
# Also builds out of tree, one directory per PostgreSQL version, as Debian's
# pg_buildext does: make -C build-15 -f $PWD/Makefile VPATH=$PWD PG_CONFIG=...
EXTENSION   = rtpush
MODULE_big  = rtpush
OBJS        = $(patsubst $(srcdir)/%.c,%.o,$(sort $(wildcard $(srcdir)/src/*.c)))
DATA        = rtpush--0.1.sql rtpush--0.1--0.2.sql
PGFILEDESC  = "rtpush - Pusher Channels events from committed rows"

PG_CPPFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter \
              -Wno-missing-field-initializers -Wno-sign-compare \
              -Wno-cast-function-type -I$(srcdir)/src
SHLIB_LINK  = -lcurl -lcrypto -lsodium

REGRESS      = $(patsubst $(srcdir)/sql/%.sql,%,$(sort $(wildcard $(srcdir)/sql/*.sql)))
REGRESS_OPTS = --temp-config=$(srcdir)/test/regress.conf \
               --temp-instance=$(CURDIR)/tmp_check \
               --load-extension=rtpush

ISOLATION      = $(patsubst $(srcdir)/specs/%.spec,%,$(sort $(wildcard $(srcdir)/specs/*.spec)))
ISOLATION_OPTS = $(REGRESS_OPTS)

EXTRA_CLEAN = output_iso -r tmp_check results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: rebuild everything when a header changes.
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# Out of tree, the objects' directory does not exist yet (an absolute path:
# make does not look for it along VPATH, where it would find the sources').
$(OBJS): | $(CURDIR)/src
$(CURDIR)/src:
	mkdir -p $@

# `make check` here means the preloaded temp-instance regression run.
check: installcheck
