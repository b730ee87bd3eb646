#!/usr/bin/env bash
# Builds the guest programs in userland/src into userland/bin (or into the
# directory given as the first argument): each src/NAME.c is one program,
# each directory src/NAME/ is one program made of its .c files. Then packs
# the initramfs, userland/initramfs.cpio (next to the output directory).
#
# The build is reproducible: the same compiler gives the same bytes whatever
# the checkout's path, the time or the user. The binaries and the archive are
# committed, so cargo run and cargo test need no cross compiler; .ci/run
# rebuilds them and fails when the committed ones are stale.
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
for src in "$here"/src/*.c "$here"/src/*/; do
	name="$(basename "$src" .c)"
	if [[ -d $src ]]; then
		files=("$src"*.c)
	else
		files=("$src")
	fi
	"$cc" "${cflags[@]}" "-frandom-seed=$name" -o "$out/$name.tmp" "${files[@]}"
	mv "$out/$name.tmp" "$out/$name"
	echo "built $out/$name"
done

# The initramfs: a cpio archive in the "newc" format Linux unpacks at boot
# (and cleave's crates/kernel/src/fs/initramfs.rs). Written here with printf
# rather than cpio(1), which a machine with only the cross compiler lacks:
# sorted entries, inode numbers in that order, owner root, mtime 0.
archive="$(dirname "$out")/initramfs.cpio"
ino=0
# entry NAME MODE [FILE|LINK-TARGET]: one header, the name, the data.
entry() {
	local name="$1" mode="$2" data="${3:-}" size=0
	case "$mode" in
	10*) size=$(stat -c %s "$data") ;;
	12*) size=${#data} ;;
	esac
	ino=$((ino + 1))
	local namesize=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$((8#$mode))" 0 0 1 0 "$size" 0 0 0 0 "$namesize" 0
	printf '%s\0' "$name"
	head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
	case "$mode" in
	10*) cat "$data" ;;
	12*) printf '%s' "$data" ;;
	esac
	head -c $(((4 - size % 4) % 4)) /dev/zero
}
# The applets are the names in box's table (src/box/main.c).
applets="$(sed -n 's/^\t{"\([^"]*\)", [a-z_]*_main,.*/\1/p' "$here/src/box/main.c")"
{
	entry bin 40755
	for name in $(printf '%s\n' box $applets | sort); do
		if [[ $name == box ]]; then
			entry bin/box 100755 "$out/box"
		else
			entry "bin/$name" 120777 box
		fi
	done
	entry dev 40755
	entry etc 40755
	entry etc/group 100644 "$here/initramfs/etc/group"
	entry etc/motd 100644 "$here/initramfs/etc/motd"
	entry etc/passwd 100644 "$here/initramfs/etc/passwd"
	entry etc/rc 100755 "$here/initramfs/etc/rc"
	entry proc 40555
	entry sbin 40755
	entry sbin/init 100755 "$out/init"
	entry tmp 41777
	# The trailer ends the archive; Linux pads it to 512 bytes, as cpio does.
	entry TRAILER!!! 0
} >"$archive.tmp"
head -c $(((512 - $(stat -c %s "$archive.tmp") % 512) % 512)) /dev/zero >>"$archive.tmp"
mv "$archive.tmp" "$archive"
echo "packed $archive"
