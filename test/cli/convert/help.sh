b4k-convert --help | grep -q -- '--dtype' && b4k-convert --version | grep -q '[0-9]'
