#!/usr/bin/env bash
# Prints the leadership group's workbook as LibreOffice would, and checks that the ledger
# reads on paper: page 1 of the ledger carries every column header, and the ledger takes
# at most one page per 25 rows. Starts a real server (the debug binary) on a fresh SQLite
# database, with a few long progress reports so that wrapped text is part of the check.
#
#   bash tests/render/ledger-pdf.sh [output folder]
#
# The PDF and the first pages as PNG stay in the output folder (a temporary one when
# none is given) for a person to look at.
set -euo pipefail

cd "$(dirname "$0")/../.."
binary=${ECOPLAN_BINARY:-${CARGO_TARGET_DIR:-target}/debug/ecoplan}
[ -x "$binary" ] || { echo "build first: $binary is missing" >&2; exit 1; }

if ! command -v soffice >/dev/null || ! command -v pdftotext >/dev/null \
    || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
    echo "installing LibreOffice Calc, the Noto CJK fonts and poppler"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        libreoffice-calc-nogui fonts-noto-cjk poppler-utils >/dev/null
fi

work=$(mktemp -d)
out=${1:-$work/out}
mkdir -p "$out"
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work/db" "$work/storage" "$work/profile"
}
trap cleanup EXIT
mkdir -p "$work/db"

export DATABASE_URL="sqlite://$work/db/ecoplan.db?mode=rwc"
export ECOPLAN_STORAGE_DIR="$work/storage" ECOPLAN_LOG=warn
"$binary" seed >/dev/null
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
ECOPLAN_PASSWORD=$password "$binary" user add --username office --role leadership \
    --display-name 規劃辦 >/dev/null
ECOPLAN_PASSWORD=$password "$binary" user add --username environment --role department \
    --department ecology-environment --display-name 生態環境局填報員 >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$binary" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 60); do
    curl -fs "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.5
done

graphql() { # token query variables-json
    python3 - "$base/graphql" "$1" "$2" "$3" <<'PY'
import json, sys, urllib.request
url, token, query, variables = sys.argv[1:5]
headers = {"content-type": "application/json"}
if token:
    headers["authorization"] = "Bearer " + token
body = json.dumps({"query": query, "variables": json.loads(variables)}).encode()
reply = json.load(urllib.request.urlopen(urllib.request.Request(url, body, headers)))
if reply.get("errors"):
    sys.exit("GraphQL refused: %s" % reply["errors"])
print(json.dumps(reply["data"]))
PY
}
login() {
    graphql "" 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }' \
        "{\"u\": \"$1\", \"p\": \"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["login"]["token"])'
}
office=$(login office)
environment=$(login environment)

# Long reports on the department's first tasks, some submitted: the ledger's widest text.
tasks=$(graphql "$environment" \
    '{ tasks(first: 12, filter: { departmentCode: "ecology-environment" }) { edges { node { id subtasks { id } } } } }' '{}' \
    | python3 -c 'import json,sys; print(" ".join(e["node"]["id"] for e in json.load(sys.stdin)["tasks"]["edges"] if not e["node"]["subtasks"]))')
work_done="已完成年度工作方案的分解落實，組織召開專題推進會議三次，對各縣（市、區）進展情況開展督導檢查，形成問題清單並逐項整改；下一步將繼續加強調度，確保按期完成目標任務。"
n=0
for task in $tasks; do
    n=$((n + 1))
    saved=$(graphql "$environment" \
        'mutation($input: ProgressReportInput!) { saveProgressReport(input: $input) { id version } }' \
        "{\"input\": {\"taskId\": \"$task\", \"period\": \"2022-Q2\", \"status\": \"IN_PROGRESS\", \"workDone\": \"$work_done\"}}")
    if [ $((n % 2)) -eq 0 ]; then
        read -r id version < <(echo "$saved" | python3 -c 'import json,sys; r=json.load(sys.stdin)["saveProgressReport"]; print(r["id"], r["version"])')
        graphql "$environment" 'mutation($id: ID!, $v: Int!) { submit(id: $id, version: $v) { __typename } }' \
            "{\"id\": \"$id\", \"v\": $version}" >/dev/null
    fi
done

curl -fsS -H "authorization: Bearer $office" -o "$out/ledger.xlsx" "$base/export/plan.xlsx?period=2022-Q2"
rows=$(curl -fsS -H "authorization: Bearer $office" "$base/export/plan.csv" | tail -n +2 | wc -l)

started=$(date +%s)
soffice --headless -env:UserInstallation="file://$work/profile" \
    --convert-to pdf --outdir "$out" "$out/ledger.xlsx" >/dev/null 2>&1
echo "LibreOffice took $(( $(date +%s) - started )) s"

python3 - "$out/ledger.pdf" "$rows" <<'PY'
import math, subprocess, sys
pdf, rows = sys.argv[1], int(sys.argv[2])
headers = ["章節序號", "章節", "任務編號", "任務名稱", "牽頭單位", "完成時限", "任務狀態",
           "最新進展狀態", "審核狀態", "報送", "最新填報期間", "最新填報日期", "最新工作進展",
           "佐證材料數", "待審核數"]
text = subprocess.run(["pdftotext", "-layout", pdf, "-"], check=True,
                      capture_output=True, text=True).stdout
pages = text.split("\f")
if pages and not pages[-1].strip():
    pages.pop()
# The page header names the sheet on every page (工作台賬 or 概覽 or 指標, then the period).
def sheet_of(page):
    head = page.strip().splitlines()[0] if page.strip() else ""
    for name in ("工作台賬", "概覽", "指標"):
        if name in head:
            return name
    return None
ledger = [number for number, page in enumerate(pages, 1) if sheet_of(page) == "工作台賬"]
if not ledger:
    sys.exit("no page of the PDF is a page of the ledger")
first = pages[ledger[0] - 1]
missing = [name for name in headers if name not in first]
if missing:
    sys.exit("page 1 of the ledger lacks the headers %s" % missing)
allowed = math.ceil(rows / 25)
print("the ledger: %d rows on %d pages (at most %d), PDF pages %d-%d of %d"
      % (rows, len(ledger), allowed, ledger[0], ledger[-1], len(pages)))
if len(ledger) > allowed:
    sys.exit("the ledger takes %d pages for %d rows: more than one page per 25 rows"
             % (len(ledger), rows))
import re
for number in ledger:
    page = pages[number - 1]
    if "任務名稱" not in page:
        sys.exit("page %d of the PDF has no header row" % number)
    if not re.search(r"第\s*\d+\s*頁\s*共\s*\d+\s*頁", page):
        sys.exit("page %d of the PDF has no page number" % number)
print("ok: every ledger page has the header row and a page number")
PY

pdftoppm -png -r 60 -f 1 -l 3 "$out/ledger.pdf" "$out/page"
echo "PDF and pages: $out"
