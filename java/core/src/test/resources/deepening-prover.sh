#!/bin/sh
# A small prover for deepening tests: it hangs (makes no more progress) at a depth above 100 and finishes at 100 or
# less, keeping its state in a file between attempts. Usage: deepening-prover.sh DEPTH WORKDIR
depth=$1
dir=$2
echo "$depth" >> "$dir/state"              # the state earlier attempts left is resumed and extended
mkdir -p "$dir/proof" && touch "$dir/proof/step-$depth"   # progress, seen by the tree probe
if [ "$depth" -gt 100 ]; then
  sleep 300                                # stuck in one step: no progress from here on
fi
earlier=$(($(wc -l < "$dir/state") - 1))
echo "resumed the state of $earlier earlier attempt(s); proved at depth $depth"
