# The build of one program of the disk tools (format, mountie): a static musl
# binary, everything built under O=. The including Makefile sets PROG and
# sits beside the program's sources; common/ (this folder, a symlink in the
# source tree, a copy in a package's build context) holds what they share.
#   make O=/some/dir         -> /some/dir/$(PROG)
#   make O=/some/dir test    -> builds and runs the unit tests (TAP)

SRC := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))
O ?= $(SRC)/../out
ifneq ($(patsubst /%,,$(O)),)
$(error O= must be an absolute path, not "$(O)")
endif
override O := $(abspath $(O))

CC := musl-gcc
TEST_CC ?= cc
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

# Messages are cut to fit their buffers on purpose.
WARN := -Wall -Wextra -Werror -Wno-format-truncation
COMMON := -std=gnu11 $(WARN) -D_GNU_SOURCE -ffile-prefix-map=$(SRC)=. -ffile-prefix-map=$(O)=.
# musl's headers lack <linux/...>; the kernel's UAPI headers are libc-neutral.
KERNEL_HEADERS := -idirafter /usr/include -idirafter /usr/include/$(MULTIARCH)
CFLAGS := $(COMMON) -Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables $(KERNEL_HEADERS)
LDFLAGS := -static -s -Wl,--gc-sections -Wl,--build-id=none

SRCS := $(sort $(notdir $(wildcard $(SRC)/*.c))) $(addprefix common/,$(sort $(notdir $(wildcard $(SRC)/common/*.c))))
LIB_SRCS := $(filter-out main.c,$(SRCS))
TEST_SRCS := $(sort $(patsubst $(SRC)/%,%,$(wildcard $(SRC)/tests/test_*.c))) common/tests/main.c

OBJS := $(SRCS:%.c=$(O)/obj/%.o)
LIB_TEST_OBJS := $(LIB_SRCS:%.c=$(O)/test-obj/%.o)
TEST_OBJS := $(LIB_TEST_OBJS) $(TEST_SRCS:%.c=$(O)/test-obj/%.o)

SAN = $(eval SAN := $(shell t=$$(mktemp) && echo 'int main(void){return 0;}' | \
	$(TEST_CC) -x c -fsanitize=address,undefined -o $$t - 2>/dev/null && $$t 2>/dev/null && \
	echo -fsanitize=address,undefined -fno-omit-frame-pointer; rm -f $$t))$(SAN)
TEST_CFLAGS = $(COMMON) -O1 -g $(SAN) -I$(SRC) $(KERNEL_HEADERS)

.PHONY: all test clean
all: $(O)/$(PROG)

$(O)/$(PROG): $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

$(O)/obj/%.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/unit-tests: $(TEST_OBJS)
	$(TEST_CC) $(SAN) -o $@ $^

$(O)/test-obj/%.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	$(TEST_CC) $(TEST_CFLAGS) -MMD -MP -c -o $@ $<

test: $(O)/unit-tests
	$(O)/unit-tests

clean:
	rm -rf $(O)/obj $(O)/test-obj $(O)/$(PROG) $(O)/unit-tests

-include $(OBJS:.o=.d) $(TEST_OBJS:.o=.d)
