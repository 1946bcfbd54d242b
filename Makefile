# mpsocks: one plain Makefile. `make demo` and `make check` install what
# they need first (`make deps`, Debian packages via apt-get).

# Where `make install` puts things. The configs stay in /etc whatever
# the PREFIX (the samples and the docs name /etc/mpsocks); Debian's
# packaging sets PREFIX=/usr UNITDIR=/lib/systemd/system.
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/mpsocks
SYSCONFDIR	?= /etc
UNITDIR	?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
DESTDIR	?=
CC	?= cc
FUZZCC	?= clang
FUZZ_RUNS	?= 20000	# per target in `make check`
FUZZ_LONG_RUNS	?= 10000000	# per target in `make fuzz`
FUZZ_JOBS	?= 1	# targets side by side in `make fuzz`

.DEFAULT_GOAL := all

B	:= build
# Both daemons: event loop, crypto, config files, JSON. Only mpsocks-local
# needs GeoIP (policy), netlink (uplinks) and http-parser (HTTP proxy).
PKGS_COMMON := libevent libevent_openssl openssl inih jansson
PKGS_LOCAL  := libmaxminddb libmnl
PKGS	:= $(PKGS_COMMON) $(PKGS_LOCAL)
LIBS_LOCAL_EXTRA := -lhttp_parser	# Debian ships no .pc for it

WARN	:= -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
	   -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
	   -Wcast-qual -Wwrite-strings
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE -Iinclude -MMD -MP $(WARN)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS_SERVER = $(shell pkg-config --libs $(PKGS_COMMON) 2>/dev/null)
LIBS_LOCAL  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(LIBS_LOCAL_EXTRA)
LIBS_ALL    = $(LIBS_LOCAL)
SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer

# The folders are the layers (docs/architecture.md). Each layer is built
# into an archive, and a binary links its own folder plus common and
# proto: the linker takes from an archive only the modules it needs, so
# mpsocks-server carries no SOCKS, HTTP or policy code.
PROTO	:= util cidr target socks5 socks4 pac http_proxy http_rewrite http_frame \
	   http_response tunnel_proto control_proto status subflow metrics \
	   reply pairing
COMMON	:= log config keyfile secfile stats mptcp relay daemon listener \
	   linger control dns dial dashboard tls pipe_pool
LOCAL	:= cli conn socks_session http_session outbound tunnel_client \
	   http_exchange tunnel_race pool \
	   monitor uplink uplink_kernel netlink config_uplink policy policy_load \
	   pair
SERVER	:= tunnel_server tunnel_target replay acl preauth add_home

layer	= $(addprefix $(1)/,$($(2)))
MODS	:= $(call layer,proto,PROTO) $(call layer,common,COMMON) \
	   $(call layer,local,LOCAL) $(call layer,server,SERVER)

UNIT	:= $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZ	:= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

obj	= $(addprefix $(B)/obj/,$(addsuffix .o,$(1)))
asanobj	= $(addprefix $(B)/asan/,$(addsuffix .o,$(1)))
fuzzobj	= $(addprefix $(B)/fuzzobj/,$(addsuffix .o,$(1)))

# One archive per layer and build flavour: $(B)/obj/libproto.a, ...
$(B)/obj/lib%.a:
	@rm -f $@
	$(AR) rcs $@ $^
$(B)/asan/lib%.a:
	@rm -f $@
	$(AR) rcs $@ $^
$(B)/fuzzobj/lib%.a:
	@rm -f $@
	$(AR) rcs $@ $^
$(B)/obj/libproto.a: $(call obj,$(call layer,proto,PROTO))
$(B)/obj/libcommon.a: $(call obj,$(call layer,common,COMMON))
$(B)/obj/liblocal.a: $(call obj,$(call layer,local,LOCAL))
$(B)/obj/libserver.a: $(call obj,$(call layer,server,SERVER))
$(B)/asan/libproto.a: $(call asanobj,$(call layer,proto,PROTO))
$(B)/asan/libcommon.a: $(call asanobj,$(call layer,common,COMMON))
$(B)/asan/liblocal.a: $(call asanobj,$(call layer,local,LOCAL))
$(B)/asan/libserver.a: $(call asanobj,$(call layer,server,SERVER))
$(B)/fuzzobj/libproto.a: $(call fuzzobj,$(call layer,proto,PROTO))
$(B)/fuzzobj/libcommon.a: $(call fuzzobj,$(call layer,common,COMMON))
$(B)/fuzzobj/liblocal.a: $(call fuzzobj,$(call layer,local,LOCAL))
$(B)/fuzzobj/libserver.a: $(call fuzzobj,$(call layer,server,SERVER))

# Link order is the layering: a binary's own folder, then common, then
# proto. A module that calls upward fails to link.
ARS_SERVER = server common proto
ARS_LOCAL  = local common proto
ARS_ALL    = local server common proto	# tests and tools
ars	= $(foreach a,$(2),$(B)/$(1)/lib$(a).a)

BINS	:= $(B)/mpsocks-server $(B)/mpsocks-local $(B)/tunnel-probe

.PHONY: all deps check check-unit check-fuzz check-integration demo bench \
	fuzz install uninstall clean layers FORCE
all: $(BINS)

$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/obj/tools/%.o: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# The dashboard page as a C string ('?' escaped: no trigraphs).
$(B)/gen/common/dashboard.c: web/dashboard.html
	@mkdir -p $(@D)
	{ echo '/* generated from web/dashboard.html by make */'; \
	  echo '#include "common/dashboard.h"'; \
	  echo 'const char dashboard_html[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' \
	      -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ';'; } >$@

$(B)/obj/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/asan/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -c -o $@ $<

$(B)/fuzzobj/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(FUZZCC) $(CFLAGS) -Wno-unknown-warning-option $(PKG_CFLAGS) \
	    -fsanitize=fuzzer-no-link,address,undefined \
	    -fno-sanitize-recover=undefined -c -o $@ $<

$(B)/mpsocks-server: $(B)/obj/server/main.o $(call ars,obj,$(ARS_SERVER))
	$(CC) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_SERVER)

$(B)/mpsocks-local: $(B)/obj/local/main.o $(call ars,obj,$(ARS_LOCAL))
	$(CC) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_LOCAL)

# Test tool: speaks the tunnel protocol with bad keys, replays, garbage.
$(B)/tunnel-probe: $(B)/obj/tools/tunnel_probe.o $(call ars,obj,$(ARS_ALL))
	$(CC) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_ALL)

# Policy match benchmark (tests/bench/policy.sh).
$(B)/policy_bench: tests/bench/policy_bench.c $(call ars,obj,$(ARS_ALL))
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_ALL)

# Test bed link emulator: one-way delay, loss and cuts per uplink, which
# this kernel's tc cannot do (no netem).
$(B)/linkem: tests/tools/linkem.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

# The daemons with ASan + UBSan, for integration tests that hunt crashes
# and leaks (MPSOCKS_BUILD=build/asan).
$(B)/asan/mpsocks-server: $(B)/asan/server/main.o $(call ars,asan,$(ARS_SERVER))
	$(CC) $(SAN) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_SERVER)

$(B)/asan/mpsocks-local: $(B)/asan/local/main.o $(call ars,asan,$(ARS_LOCAL))
	$(CC) $(SAN) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_LOCAL)

$(B)/asan/tunnel-probe: $(B)/asan/tools/tunnel_probe.o $(call ars,asan,$(ARS_ALL))
	$(CC) $(SAN) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_ALL)

$(B)/asan/tools/%.o: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -c -o $@ $<

$(B)/asan/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -c -o $@ $<

# Unit tests, built twice: plain and with ASan + UBSan. They link every
# layer's archive and take what they use.
$(B)/unit/%: tests/unit/%.c $(call ars,obj,$(ARS_ALL))
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_ALL) -lcmocka

$(B)/asan/unit/%: tests/unit/%.c $(call ars,asan,$(ARS_ALL))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_ALL) -lcmocka

# Fuzz targets: libFuzzer under clang; under gcc the same file plus a
# replay main() runs the corpus with sanitizers.
$(B)/fuzzobj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZCC) $(CFLAGS) -Wno-unknown-warning-option $(PKG_CFLAGS) \
	    -fsanitize=fuzzer-no-link,address,undefined \
	    -fno-sanitize-recover=undefined -c -o $@ $<

$(B)/fuzz/%: tests/fuzz/%.c $(call ars,fuzzobj,$(ARS_ALL))
	@mkdir -p $(@D)
	$(FUZZCC) $(CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined \
	    -o $@ $(filter %.c %.o %.a,$^) $(LIBS_ALL)

$(B)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(call ars,asan,$(ARS_ALL))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LIBS_ALL)

deps:
	@sh tests/deps.sh

# The layer rules (tests/layers.sh): includes read from the sources, no I/O
# and no globals read from the proto objects, so those must be built.
PROTO_OBJS = $(call obj,$(call layer,proto,PROTO))
layers: $(PROTO_OBJS)
	@bash tests/layers.sh

check: deps
	@$(MAKE) --no-print-directory all $(B)/linkem $(PROTO_OBJS) \
	    $(addprefix $(B)/asan/,mpsocks-server mpsocks-local tunnel-probe) \
	    $(addprefix $(B)/unit/,$(UNIT)) \
	    $(addprefix $(B)/asan/unit/,$(UNIT)) \
	    $(addprefix $(B)/fuzz/,$(FUZZ)) \
	    $(addprefix $(B)/fuzz-replay/,$(FUZZ))
	@UNIT="$(UNIT)" FUZZ="$(FUZZ)" FUZZ_RUNS=$(FUZZ_RUNS) \
	    bash tests/check.sh

demo: deps all
	@bash tests/demo.sh

bench: deps all $(B)/linkem
	@bash tests/bench/run.sh

fuzz: deps
	@$(MAKE) --no-print-directory $(addprefix $(B)/fuzz/,$(FUZZ))
	@FUZZ_LONG_RUNS=$(FUZZ_LONG_RUNS) FUZZ_JOBS=$(FUZZ_JOBS) \
	    bash tests/fuzz/long.sh

# The plain unit tests alone: no root, no network, no apt-get. The
# Debian build runs them (debian/rules, unless DEB_BUILD_OPTIONS=nocheck).
check-unit: $(addprefix $(B)/unit/,$(UNIT))
	@fail=0; for t in $(UNIT); do \
	    if CMOCKA_MESSAGE_OUTPUT=TAP $(B)/unit/$$t >$(B)/unit/$$t.log 2>&1; \
	    then echo "PASS: $$t"; \
	    else echo "FAIL: $$t"; tail -20 $(B)/unit/$$t.log; fail=1; fi; \
	done; exit $$fail

# `make install`: what the Debian packages hold (debian/rules runs it),
# for any PREFIX, DESTDIR and SYSCONFDIR (docs/deployment.md). Units and
# sample configs are written with the installed paths. A sample config
# never replaces one already there; the key files are never installed.
UNITS	:= mpsocks-server.service mpsocks-local.service
SAMPLES	:= server.conf local.conf
MAN5	:= $(wildcard man/*.5)
MAN8	:= $(wildcard man/*.8)
INST	:= $(B)/install
INSTALLED = $(addprefix $(INST)/,$(UNITS) $(SAMPLES))

# The paths the generated files hold; rewritten (and so those files
# remade) only when one changes.
$(INST)/paths: FORCE
	@mkdir -p $(@D)
	@echo 'BINDIR=$(BINDIR) SYSCONFDIR=$(SYSCONFDIR)' | \
	    cmp -s - $@ || echo 'BINDIR=$(BINDIR) SYSCONFDIR=$(SYSCONFDIR)' >$@

$(INST)/%.service: contrib/systemd/%.service.in $(INST)/paths
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    $< >$@

$(INST)/%.conf: conf/%.conf $(INST)/paths
	sed -e 's|/etc/mpsocks/|$(SYSCONFDIR)/mpsocks/|g' $< >$@

install: $(B)/mpsocks-server $(B)/mpsocks-local $(INSTALLED)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)/examples \
	    $(DESTDIR)$(SYSCONFDIR)/mpsocks
	install -m 755 $(B)/mpsocks-server $(B)/mpsocks-local \
	    $(DESTDIR)$(BINDIR)/
	install -m 644 $(addprefix $(INST)/,$(UNITS)) $(DESTDIR)$(UNITDIR)/
	install -m 644 contrib/sysusers/mpsocks.conf $(DESTDIR)$(SYSUSERSDIR)/
	install -m 644 conf/policy-example.conf $(DESTDIR)$(DOCDIR)/examples/
	$(if $(MAN5),install -d $(DESTDIR)$(MANDIR)/man5)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(MAN8),install -d $(DESTDIR)$(MANDIR)/man8)
	$(if $(MAN8),install -m 644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/)
	@for c in $(SAMPLES); do \
	    t=$(DESTDIR)$(SYSCONFDIR)/mpsocks/$$c; \
	    if [ -e "$$t" ]; then echo "kept $$t (already there)"; \
	    else echo "install -m 644 $(INST)/$$c $$t"; \
	        install -m 644 $(INST)/$$c "$$t" || exit 1; fi; \
	done
	@# a real install (no DESTDIR) also gets the user, as the packages do
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && \
	    command -v systemd-sysusers >/dev/null 2>&1; then \
	    echo "systemd-sysusers $(SYSUSERSDIR)/mpsocks.conf"; \
	    systemd-sysusers $(SYSUSERSDIR)/mpsocks.conf; \
	fi

# Removes what install added. A sample config goes only while it is
# byte for byte the sample: an edited one is kept, and so are the key
# files and the mpsocks user (as Debian keeps a system user).
uninstall: $(INSTALLED)
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,mpsocks-server mpsocks-local)
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/mpsocks.conf
	rm -f $(DESTDIR)$(DOCDIR)/examples/policy-example.conf
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	$(if $(MAN5)$(MAN8),rm -f \
	    $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))))
	@for c in $(SAMPLES); do \
	    t=$(DESTDIR)$(SYSCONFDIR)/mpsocks/$$c; \
	    [ -e "$$t" ] || continue; \
	    if cmp -s $(INST)/$$c "$$t"; then echo "rm -f $$t"; rm -f "$$t"; \
	    else echo "kept $$t (edited)"; fi; \
	done
	rmdir $(DESTDIR)$(SYSCONFDIR)/mpsocks 2>/dev/null || true

FORCE:

clean:
	rm -rf $(B)

.SECONDARY:
-include $(shell find $(B) -name '*.d' 2>/dev/null)
