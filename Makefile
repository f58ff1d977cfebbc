# rtpush — PGXS build.  `make && make install`, then see README.md.
# Also builds out of tree, one directory per PostgreSQL version, as Debian's
# pg_buildext does: make -C build-15 -f $PWD/Makefile VPATH=$PWD PG_CONFIG=...
EXTENSION   = rtpush
MODULE_big  = rtpush
OBJS        = $(patsubst $(srcdir)/%.c,%.o,$(sort $(wildcard $(srcdir)/src/*.c)))
DATA        = rtpush--0.1.sql rtpush--0.1--0.2.sql rtpush--0.2--0.3.sql rtpush--0.3--0.4.sql rtpush--0.4--0.5.sql rtpush--0.5--0.6.sql rtpush--0.6--0.7.sql rtpush--0.7--0.8.sql \
              $(TELEMEDICINE)
# rtpush_telemedicine, the telemedicine event catalogue (an extension of its
# own that requires rtpush): its control file and scripts install with
# rtpush's, into the same share/extension directory.
TELEMEDICINE = extensions/rtpush_telemedicine/rtpush_telemedicine.control \
               extensions/rtpush_telemedicine/rtpush_telemedicine--1.0.sql
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

# TAP tests (test/t) for `make prove_installcheck`, below.  Not TAP_TESTS:
# with it PGXS's installcheck would run them too, after pg_regress.
PROVE_TESTS = test/t/*.pl
PROVE_FLAGS = -I test/t

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

# The other suites, one at a time (test/run runs them all and totals them):
#   make prove_installcheck  TAP tests (test/t; PROVE_TESTS=test/t/011_update.pl
#                            for one), PGXS's recipe: prove with its
#                            PostgreSQL::Test modules, as a user who may initdb
#   make unit                C unit tests and fuzz smoke runs (test/unit)
#   make e2e                 end to end: a throwaway PostgreSQL, soketi,
#                            pusher-js (test/e2e; test/node's modules)
# All but unit use the installed build (make install first), like installcheck.
.PHONY: prove_installcheck unit e2e
prove_installcheck:
	$(prove_installcheck)
unit:
	$(MAKE) -C $(srcdir)/test/unit check PG_CONFIG=$(PG_CONFIG)
e2e:
	cd $(srcdir) && RTPUSH_ROOT=$(abspath $(srcdir)) node --test --test-concurrency=1 test/e2e/
