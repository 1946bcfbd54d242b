# mpsocks: one plain Makefile. `make demo` and `make check` install what
# they need first (`make deps`, Debian packages via apt-get).

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
DESTDIR	?=
CC	?= cc
FUZZCC	?= clang
FUZZ_RUNS	?= 20000	# per target in `make check`
FUZZ_SECONDS	?= 300	# per target in `make fuzz`

B	:= build
PKGS	:= libevent openssl inih jansson libmaxminddb libmnl
LIBS_EXTRA := -lhttp_parser	# Debian ships no .pc for it

WARN	:= -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
	   -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
	   -Wcast-qual -Wwrite-strings
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE -Iinclude -MMD -MP $(WARN)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer

# Pure modules: no sockets. Unit tests and fuzzers link only these.
PURE	:= util log target socks5 socks4 pac http_proxy http_response tunnel_proto \
	   metrics stats status control_proto subflow \
	   replay acl keyfile config config_uplink netlink policy policy_load
# Socket modules shared by both daemons.
NET	:= mptcp relay daemon listener linger control dashboard dns
SERVER	:= main_server tunnel_server
LOCAL	:= main_local tunnel_client frontend http_session track route \
	   uplink uplink_kernel

UNIT	:= $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZ	:= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

obj	= $(addprefix $(B)/obj/,$(addsuffix .o,$(1)))
asanobj	= $(addprefix $(B)/asan/,$(addsuffix .o,$(1)))

BINS	:= $(B)/mpsocks-server $(B)/mpsocks-local $(B)/tunnel-probe

.PHONY: all deps check check-unit check-fuzz check-integration demo bench \
	fuzz install clean
all: $(BINS)

$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/obj/%.o: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# The dashboard page as a C string ('?' escaped: no trigraphs).
$(B)/gen/dashboard.c: web/dashboard.html
	@mkdir -p $(@D)
	{ echo '/* generated from web/dashboard.html by make */'; \
	  echo '#include "dashboard.h"'; \
	  echo 'const char dashboard_html[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' \
	      -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ';'; } >$@

$(B)/obj/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/asan/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -c -o $@ $<

$(B)/mpsocks-server: $(call obj,$(SERVER) $(NET) $(PURE))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LIBS_EXTRA)

$(B)/mpsocks-local: $(call obj,$(LOCAL) $(NET) $(PURE))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LIBS_EXTRA)

# Test tool: speaks the tunnel protocol with bad keys, replays, garbage.
$(B)/tunnel-probe: $(call obj,tunnel_probe $(PURE))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LIBS_EXTRA)

# Policy match benchmark (tests/bench/policy.sh): pure modules only.
$(B)/policy_bench: tests/bench/policy_bench.c $(call obj,$(PURE))
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) $(LIBS_EXTRA)

# Test bed link emulator: one-way delay, loss and cuts per uplink, which
# this kernel's tc cannot do (no netem).
$(B)/linkem: tests/tools/linkem.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

# The daemons with ASan + UBSan, for integration tests that hunt crashes
# and leaks (MPSOCKS_BUILD=build/asan).
$(B)/asan/mpsocks-server: $(call asanobj,$(SERVER) $(NET) $(PURE))
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LIBS_EXTRA)

$(B)/asan/mpsocks-local: $(call asanobj,$(LOCAL) $(NET) $(PURE))
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LIBS_EXTRA)

$(B)/asan/tunnel-probe: $(call asanobj,tunnel_probe $(PURE))
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LIBS_EXTRA)

$(B)/asan/%.o: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -c -o $@ $<

# Unit tests, built twice: plain and with ASan + UBSan.
$(B)/asan/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -c -o $@ $<

$(B)/unit/%: tests/unit/%.c $(call obj,$(PURE))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) $(LIBS_EXTRA) -lcmocka

$(B)/asan/unit/%: tests/unit/%.c $(call asanobj,$(PURE))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) $(LIBS_EXTRA) -lcmocka

# The relay's test runs it over loopback sockets: it needs its socket modules.
$(B)/unit/test_relay: $(call obj,relay mptcp)
$(B)/asan/unit/test_relay: $(call asanobj,relay mptcp)

# Fuzz targets: libFuzzer under clang; under gcc the same file plus a
# replay main() runs the corpus with sanitizers.
$(B)/fuzzobj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZCC) $(CFLAGS) -Wno-unknown-warning-option $(PKG_CFLAGS) \
	    -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(B)/fuzz/%: tests/fuzz/%.c $(addprefix $(B)/fuzzobj/,$(addsuffix .o,$(PURE)))
	@mkdir -p $(@D)
	$(FUZZCC) $(CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) $(LIBS_EXTRA)

$(B)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(call asanobj,$(PURE))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) $(LIBS_EXTRA)

deps:
	@sh tests/deps.sh

check: deps
	@$(MAKE) --no-print-directory all $(B)/linkem \
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
	@for f in $(FUZZ); do \
	    mkdir -p $(B)/fuzz-corpus/$$f; \
	    $(B)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) \
	        -dict=tests/fuzz/$$f.dict $(B)/fuzz-corpus/$$f \
	        tests/fuzz/corpus/$$f || exit 1; \
	done

install: $(B)/mpsocks-server $(B)/mpsocks-local
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(B)/mpsocks-server $(B)/mpsocks-local \
	    $(DESTDIR)$(BINDIR)/

clean:
	rm -rf $(B)

.SECONDARY:
-include $(shell find $(B) -name '*.d' 2>/dev/null)
