# keel's front door. The real build is CMake (CMakeLists.txt); these targets
# install what is missing, build, and run. Quick start: `make demo`, `make test`.

BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
PREFIX      ?= /usr/local
JOBS        ?= $(shell nproc)
FUZZ_SECONDS ?= 15
CMAKE_FLAGS ?=

.PHONY: all deps build demo test check test-release test-asan fuzz fuzz-smoke install bench clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The main job on data the repo carries.
demo: build
	@scripts/demo.sh $(BUILD)/keel

# Everything: release build (every test, the long crash tests included), then
# the sanitizer build (ASan + UBSan; all but the long tests), then a short
# libFuzzer run of every fuzz target.
test: deps test-release test-asan fuzz-smoke
	@echo "make test: all suites passed"

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKEEL_SANITIZE="address;undefined" $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS) -LE long

# The developers' quick subset: release build, unit tests, e2e cases.
check: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L quick

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKEEL_FUZZ=ON \
	    -DKEEL_SANITIZE="address;undefined" -DBUILD_TESTING=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

fuzz-smoke: fuzz
	@scripts/fuzz-smoke.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench:
	@bench/all.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
