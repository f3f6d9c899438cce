# qinglang — top-level driver.  CMake does the building; this file gives the
# four commands people type.  See README.md.
#
#   make          build ./build/qinglang (release)
#   make run      install dependencies, build, scan examples/, moderate examples/posts.txt
#   make test     install dependencies, build with ASan+UBSan, run CTest
#   make bench    build, generate the benchmark corpus, measure vs ripgrep,
#                 and the moderation engine vs mint-filter
#   make bench-server  the HTTP service under wrk (docs/bench-server.md)
#   make bench-gateway the LLM gateway's added latency (docs/gateway.md)

JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
BUILD  ?= build
ASAN   ?= build-asan

.PHONY: all build deps run test bench bench-server bench-gateway lint clean

all: build

deps:
	@sh scripts/install-deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: deps build
	@echo "== qinglang scan examples/ =="
	@./$(BUILD)/qinglang scan --stats examples/; rc=$$?; \
	  if [ $$rc -gt 1 ]; then exit $$rc; fi
	@echo "== qinglang scan --moderate --lines examples/posts.txt =="
	@./$(BUILD)/qinglang scan --moderate --lines examples/posts.txt; rc=$$?; \
	  if [ $$rc -gt 1 ]; then exit $$rc; fi

test: deps lint
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DQL_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	@cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

bench: deps build
	@sh bench/run.sh $(BUILD)
	@sh bench/moderate.sh $(BUILD)

bench-server: deps build
	@sh bench/server.sh $(BUILD)

bench-gateway: deps build
	@sh bench/gateway.sh $(BUILD)

lint:
	@sh scripts/lint.sh

clean:
	rm -rf $(BUILD) $(ASAN)
