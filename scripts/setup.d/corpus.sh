# corpus.sh -- sourced by scripts/setup.sh: the texts tidegate-bots --corpus reads for
# realistic chat messages (bots/bench --corpus): Debian's fortunes-min, whose
# /usr/share/games/fortunes/fortunes holds short texts separated by lines of "%".
ensure_debs fortunes-min || true
