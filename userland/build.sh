#!/usr/bin/env bash
# Builds every guest program in userland/src (one C file each) into
# userland/bin, or into the directory given as the first argument.
#
# The build is reproducible: the same compiler gives the same bytes whatever
# the checkout's path, the time or the user. The binaries are committed, so
# cargo run and cargo test need no cross compiler; .ci/run rebuilds them and
# fails when the committed ones are stale.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/bin}"
cc="${CC_RISCV64:-riscv64-linux-gnu-gcc}"

if ! command -v "$cc" >/dev/null; then
	echo "userland/build.sh: $cc not found (apt-get install gcc-riscv64-linux-gnu)" >&2
	exit 1
fi

# Nothing from the environment may reach the output: no locale, no clock,
# no checkout path, no random symbol names, no build id.
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=0
cflags=(
	-static -O2 -std=gnu11 -Wall -Wextra -Werror
	"-ffile-prefix-map=$here=/cleave/userland"
	-Wl,--build-id=none -s
)

mkdir -p "$out"
for src in "$here"/src/*.c; do
	name="$(basename "$src" .c)"
	"$cc" "${cflags[@]}" "-frandom-seed=$name" -o "$out/$name.tmp" "$src"
	mv "$out/$name.tmp" "$out/$name"
	echo "built $out/$name"
done
