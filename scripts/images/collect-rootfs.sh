#!/bin/sh
# Assembles a minimal root filesystem under DEST (an image's only layer, distroless-style): the files named on the
# command line (directories: every file below them), every symlink on the way to them, and for each ELF file the
# shared libraries `ldd` reports. Also lays down what a container needs besides programs: the merged-/usr links of
# Debian 12, /etc/passwd and /etc/group (root, and nonroot 65532 as in distroless images), /tmp and /run.
# Runs inside an image build stage (docker/podman); see docs/adr/0012-container-images.md.
# Usage: collect-rootfs.sh DEST PATH...
set -eu
dest=$1
shift

mkdir -p "$dest/usr/bin" "$dest/usr/sbin" "$dest/usr/lib" "$dest/usr/lib64" "$dest/etc" "$dest/run" "$dest/tmp" "$dest/root"
for dir in bin sbin lib lib64; do [ -e "$dest/$dir" ] || ln -s "usr/$dir" "$dest/$dir"; done
chmod 1777 "$dest/tmp"
chmod 0700 "$dest/root"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$dest/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$dest/etc/group"
mkdir -p "$dest/home/nonroot"
chown 65532:65532 "$dest/home/nonroot"

# Puts one path into DEST as it is named: each symlink on the way as a link, the final target as a file.
put() {
  p=$1
  hops=0
  while [ -L "$p" ]; do
    hops=$((hops + 1))
    [ "$hops" -le 40 ] || { echo "collect-rootfs: symlink loop at $1" >&2; exit 1; }
    dir=$(cd "$(dirname "$p")" && pwd -P)
    link="$dir/$(basename "$p")"
    mkdir -p "$dest$dir"
    [ -L "$dest$link" ] || cp -P "$link" "$dest$link"
    target=$(readlink "$p")
    case $target in /*) p=$target ;; *) p=$dir/$target ;; esac
  done
  real=$(readlink -f "$p")
  [ -f "$real" ] || { echo "collect-rootfs: $1 is not a file" >&2; exit 1; }
  if [ ! -e "$dest$real" ]; then
    mkdir -p "$dest$(dirname "$real")"
    cp -p "$real" "$dest$real"
    # ELF files bring their shared libraries (and the dynamic loader, which ldd lists without "=>").
    if [ "$(head -c 4 "$real" | od -An -c | tr -d ' ')" = '177ELF' ]; then
      for lib in $(ldd "$real" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p'); do
        put "$lib"
      done
    fi
  fi
}

for path in "$@"; do
  if [ -d "$path" ] && [ ! -L "$path" ]; then
    for file in $(find "$path" \( -type f -o -type l \) | sort); do put "$file"; done
  else
    put "$path"
  fi
done
