b4k-convert -o x.b4k nonexistent.pt; rc=$?; [ ! -e x.b4k ] || exit 9; exit $rc
