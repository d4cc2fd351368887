#!/bin/sh
# Measures `deploysafe deploy` on the sample app: N releases (default 10), each a new signed
# commit; prints the wall time of each run and the median time of each stage.
set -eu
N=${1:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/setup.sh"
i=0
while [ "$i" -lt "$N" ]; do
  i=$((i + 1))
  printf 'replicas: %s\nmessage: run %s\n' "$i" "$i" >values-prod.yaml
  git commit -q -a -S"$DEV" -m "run $i" && git push -q origin main
  start=$(date +%s%N)
  "$DEPLOYSAFE" deploy prod --trust-on-first-use --format json >"$WORK/record-$i.json" 2>/dev/null
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000000 ))" >>"$WORK/wall.txt"
done
python3 - "$WORK" "$N" <<'PY'
import json, statistics, sys
work, n = sys.argv[1], int(sys.argv[2])
wall = [int(x) for x in open(f"{work}/wall.txt")]
stages = {}
rest = []
for i in range(1, n + 1):
    doc = json.load(open(f"{work}/record-{i}.json"))
    for s in doc["stages"]:
        stages.setdefault(s["name"], []).append(s["seconds"] * 1000)
    stages.setdefault("release", []).append(doc["release_seconds"] * 1000)
    rest.append(wall[i - 1] - sum(s["seconds"] * 1000 for s in doc["stages"]) - doc["release_seconds"] * 1000)
print(f"{n} deploys of the sample chart (5 objects, 2 test stages)")
print(f"wall time per deploy (process start to exit): median {statistics.median(wall):.0f} ms, "
      f"min {min(wall)} ms, max {max(wall)} ms")
for name, ms in stages.items():
    print(f"  {name:<7} median {statistics.median(ms):6.1f} ms")
print(f"  other   median {statistics.median(rest):6.1f} ms (start-up, imports, reading the "
      "environment repository)")
PY
