#!/usr/bin/env bash
# Fetches Debian's generic amd64 kernel (the one `linux-image-amd64` depends
# on) into a cache directory for the VM runner, without installing it:
#   DIR/version              the kernel release, e.g. 6.1.0-56-amd64
#   DIR/vmlinux              the uncompressed kernel (boots ~3x faster under TCG)
#   DIR/lib/modules/VERSION  the modules, with depmod run
# Usage: fetch-kernel.sh [DIR]   (default: target/vm-kernel of this workspace)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../../target/vm-kernel}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
[ -n "$pkg" ] || { echo "fetch-kernel: cannot tell which kernel linux-image-amd64 depends on" >&2; exit 1; }
version=${pkg#linux-image-}

if [ -f "$dir/version" ] && [ "$(cat "$dir/version")" = "$version" ] && [ -f "$dir/vmlinux" ] \
    && [ -f "$dir/lib/modules/$version/modules.dep" ]; then
    echo "fetch-kernel: $version already in $dir"
    exit 0
fi

echo "fetch-kernel: fetching $pkg into $dir"
work=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
deb=$(ls "$work"/*.deb)
dpkg-deb -x "$deb" "$work/root"

# bzImage → vmlinux: the payload is an xz stream inside the bzImage.
python3 - "$work/root/boot/vmlinuz-$version" "$work/vmlinux" <<'PY'
import lzma, sys
data = open(sys.argv[1], 'rb').read()
start = data.find(b'\xfd7zXZ\x00')
if start < 0:
    sys.exit("fetch-kernel: no xz payload in " + sys.argv[1])
out = lzma.LZMADecompressor().decompress(data[start:])
if out[:4] != b'\x7fELF':
    sys.exit("fetch-kernel: the xz payload is not an ELF kernel")
open(sys.argv[2], 'wb').write(out)
PY

rm -rf "$dir/lib" "$dir/vmlinux" "$dir/version"
mkdir -p "$dir/lib/modules"
mv "$work/root/lib/modules/$version" "$dir/lib/modules/$version"
cp "$work/root/boot/config-$version" "$dir/config"
depmod -b "$dir" "$version"
mv "$work/vmlinux" "$dir/vmlinux"
echo "$version" > "$dir/version"
echo "fetch-kernel: $version ready in $dir"
