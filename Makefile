# Thin wrapper around CMake. `make demo` and `make check` do all set-up on Debian 12.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
RELEASE_BUILD ?= build-release
CLANG_BUILD ?= build-clang
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 30

# Exact Debian 12 packages Parley needs to build, test, run the demo and benchmark.
DEB_PACKAGES = build-essential cmake pkg-config clang libclang-rt-14-dev clang-format \
  libsodium-dev libjansson-dev libmicrohttpd-dev libsqlite3-dev libpq-dev \
  libcurl4-openssl-dev libcmocka-dev sqlite3 curl python3 postgresql nginx-light wrk \
  python3-aiosmtpd python3-cryptography openssl

.PHONY: all deps build check check-large check-asan check-fuzz check-builds demo bench format soak clean

all: build

deps:
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEB_PACKAGES) 2>/dev/null | \
	  awk '$$4 != "installed" {print $$1}'; \
	  for p in $(DEB_PACKAGES); do dpkg-query -W $$p >/dev/null 2>&1 || echo $$p; done); \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$$(echo $$missing | tr -d ' ')" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ $$(id -u) = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Web app: node and npm (Debian's, unless a node is already installed), Debian's chromium
# for the browser tests, and the locked npm packages (npm ci, no install scripts).
.PHONY: web-deps
deps: web-deps
web-deps:
	@need=; for c in node:nodejs npm:npm chromium:chromium; do \
	  command -v $${c%%:*} >/dev/null 2>&1 || need="$$need $${c#*:}"; done; \
	if [ -n "$$need" ]; then \
	  echo "installing:$$need"; SUDO=$$( [ $$(id -u) = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$need >/dev/null; \
	fi
	@if [ ! -f web/node_modules/.ci-stamp ] || [ web/package-lock.json -nt web/node_modules/.ci-stamp ]; then \
	  cd web && npm ci --ignore-scripts --no-audit --no-fund && touch node_modules/.ci-stamp; fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

check: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The evidence test at its full size (a 2 GiB package, kill -9 of parleyd mid-upload and
# mid-download, peak RSS at 100 MiB and at the full size) on SQLite, then at 512 MiB on
# PostgreSQL (PARLEY_EVIDENCE_PG_MIB=0 skips it: CI does, for its 30 minutes); `make
# check` runs both at 32 and 160 MiB.
check-large: deps build
	cd $(BUILD) && PARLEY_EVIDENCE_MIB=$${PARLEY_EVIDENCE_MIB:-2048} PARLEY_EVIDENCE_SMALL_MIB=100 \
	  ctest --output-on-failure -R '^integration/test_evidence$$'
	if [ "$${PARLEY_EVIDENCE_PG_MIB:-512}" != 0 ]; then cd $(BUILD) && \
	  PARLEY_EVIDENCE_MIB=$${PARLEY_EVIDENCE_PG_MIB:-512} PARLEY_EVIDENCE_SMALL_MIB=100 \
	  ctest --output-on-failure -R '^integration-pg/test_evidence$$'; fi

# The whole suite under ASan + UBSan, but for (CI's 30 minutes) the browser tests of the
# page's screens, whose C side the integration tests already drive, and the PostgreSQL
# runs of lifecycle, stream, directory, abuse and messages: the PostgreSQL store's code
# runs under the sanitizers in integration-pg/test_evidence, test_treaty and
# hostile/postgresql. ASAN_ALL=1 runs every test.
ASAN_SKIP = ^(web/(a11y|browser|officers|inbox_scale|parley_web|evidence)|integration-pg/test_(lifecycle|stream|directory|abuse|messages))$$
check-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DPARLEY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) \
	  $(if $(ASAN_ALL),,-E '$(ASAN_SKIP)')

# Warning-free (-Werror) as Release (-O3, GCC) and with clang: builds only, no tests.
check-builds: deps
	cmake -S . -B $(RELEASE_BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(RELEASE_BUILD) -j $(JOBS)
	cmake -S . -B $(CLANG_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(CLANG_BUILD) -j $(JOBS)

check-fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DPARLEY_FUZZ=ON -DPARLEY_SANITIZE=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	for f in $(FUZZ_BUILD)/fuzz_*; do \
	  n=$$(basename $$f | sed 's/^fuzz_//'); mkdir -p $(FUZZ_BUILD)/corpus-$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus-$$n tests/fuzz/corpus/$$n || exit 1; \
	done

demo: deps build
	./scripts/demo.sh $(BUILD)

bench: deps build
	./bench/run.sh $(BUILD)
	./bench/pg_bench.sh $(BUILD)
	OUT=BENCHMARKS.md ./bench/web_bench.sh $(BUILD)
	OUT=BENCHMARKS.md ./bench/evidence_bench.sh $(BUILD) # BENCH_EVIDENCE_MIB, default 1024

# Steady mixed load for SOAK_SECONDS (default 180); memory must not grow.
soak: deps build
	PARLEYD=$(BUILD)/parleyd PARLEY=$(BUILD)/parley PARLEY_SRC=$(CURDIR) bash tests/soak/soak.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(RELEASE_BUILD) $(CLANG_BUILD)
