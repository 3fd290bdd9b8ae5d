#!/usr/bin/env bash
# Terminal tests: drive the real dealsh in tmux as a user would (Tab
# completion, history across restarts, Ctrl-C, Ctrl-D with unsaved changes).
# Usage: Tests/Terminal/run.sh PATH/TO/dealsh
set -u
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
command -v tmux >/dev/null || { echo "tmux is missing (make test installs it)"; exit 1; }

WORK=$(mktemp -d)
export TMUX_TMPDIR="$WORK"            # a private tmux server
trap 'tmux kill-server 2>/dev/null; rm -rf "$WORK"' EXIT
STATE="$WORK/state"
mkdir -p "$STATE" "$WORK/sessions"
passed=0
failed=0
S=dealsh-test

start() {
  tmux kill-session -t $S 2>/dev/null
  tmux new-session -d -s $S -x 120 -y 40 \
    "cd '$WORK' && env -u NO_COLOR XDG_STATE_HOME='$STATE' DEALSH_SESSIONS='$WORK/sessions' HOME='$WORK' DEALSH_AUTHOR=tester '$BIN' $*; echo; echo SHELL-EXITED; sleep 60"
  wait_for "dealsh " || { echo "shell did not start"; screen; }
}
screen() { tmux capture-pane -p -t $S; }
# Waits until the screen contains a fixed string (5 s at most).
wait_for() {
  local i
  for i in $(seq 1 100); do
    screen | grep -qF -- "$1" && return 0
    sleep 0.05
  done
  return 1
}
# The last non-empty line of the screen.
last_line() { screen | sed '/^$/d' | tail -n 1; }
keys() { tmux send-keys -t $S "$@"; }
# kill -9 of the dealsh running in the pane (as a crash would end it).
kill_shell() {
  local pane dpid
  pane=$(tmux list-panes -t $S -F '#{pane_pid}')
  dpid=$(pgrep -P "$pane" -f dealsh | head -n 1)
  kill -9 "$dpid"
}
check() {
  local name="$1"; shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok - $name"
  else
    failed=$((failed + 1)); echo "not ok - $name"; echo "--- screen:"; screen; echo "---"
  fi
}
line_is() { sleep 0.2; [ "$(last_line)" = "$1" ]; }

# 1. Tab completes a command name.
start
keys 'depr' Tab
check "Tab completes a command" line_is "dealsh untitled> depreciate"
keys C-u 'sho' Tab Tab
check "Tab twice lists the candidates" wait_for "shock"
keys C-u

# 2. Tab completes a node id added at run time.
keys C-u 'add entity zeta-capital type=sponsor' Enter
wait_for "added entity 'zeta-capital'"
keys 'show zet' Tab
check "Tab completes a node id added at run time" line_is "dealsh untitled*> show zeta-capital"
keys Enter
check "the completed command runs" wait_for "zeta-capital — entity (sponsor)"

# 3. Tab completes relation names and attribute keys.
keys 'link zeta-capital par' Tab
check "Tab completes a relation" line_is "dealsh untitled*> link zeta-capital parent-of"
keys C-u 'set zeta-capital p' Tab
check "Tab completes an attribute key" line_is "dealsh untitled*> set zeta-capital pd="
keys C-u

# 4. Ctrl-C cancels a half-typed line and the shell goes on.
keys 'add entity never-added type=spv'
sleep 0.2
keys C-c
sleep 0.3
keys 'ls' Enter
check "Ctrl-C keeps the shell alive" wait_for "zeta-capital  entity  sponsor"
check "Ctrl-C discards the line" bash -c "! tmux capture-pane -p -t $S | grep -q 'added entity .never-added'"

# 5. Ctrl-D with unsaved changes asks; 'n' stays, 'y' leaves.
keys C-d
check "Ctrl-D asks about unsaved changes" wait_for "quit anyway? [y/N]"
keys 'n' Enter
sleep 0.3
keys 'deal title=still-here' Enter
check "answering no keeps the session" wait_for "title    still-here"
keys C-d
wait_for "quit anyway? [y/N]"
keys 'y' Enter
check "answering yes quits" wait_for "SHELL-EXITED"

# 6. History persists across restarts (in the XDG state folder).
check "history file written (libedit format)" grep -qF 'deal\040title=still-here' "$STATE/dealsh/history"
start
keys Up
check "Up recalls the previous session's last command" line_is "dealsh untitled> deal title=still-here"
keys C-u C-d
check "Ctrl-D on a clean session quits without asking" wait_for "SHELL-EXITED"

# 7. The prompt shows the session name and '*' once changed; save clears it.
start
keys 'add entity acme type=sponsor' Enter
wait_for "added entity 'acme'"
keys 'save acme' Enter
check "save names the file" wait_for "saved '$WORK/sessions/acme.deal'"
check "prompt shows the saved session's name" line_is "dealsh acme>"
keys 'quit' Enter
wait_for "SHELL-EXITED"

# 8. Opening a saved session from the command line.
start "$WORK/sessions/acme.deal"
keys 'ls' Enter
check "dealsh FILE.deal opens the session" wait_for "acme  entity  sponsor"
check "the opened line follows the banner" bash -c "tmux capture-pane -p -t $S | sed -n 1,2p | grep -q \"^opened '$WORK/sessions/acme.deal'\""
keys 'quit' Enter
wait_for "SHELL-EXITED"

# 8b. --copy (what 'make run' does): an untitled copy, and a plain save refuses.
start --copy "$WORK/sessions/acme.deal"
check "--copy says so under the banner" wait_for "opened a copy of '$WORK/sessions/acme.deal'"
check "the prompt says (copy)" line_is "dealsh acme (copy)>"
keys 'save' Enter
check "a plain save of a copy refuses" wait_for "error: save: this session is a copy of"
keys 'quit' Enter
wait_for "SHELL-EXITED"

# 8c. Tab completes values: after '=' (libedit breaks words there unless
# told not to), a flag's value, node ids after a shorthand.
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
start --copy "$REPO/Sessions/neocloud-abl.deal"
keys 'set fleet cooling=l' Tab
check "Tab completes an enum value after '='" line_is "dealsh neocloud-abl (copy)> set fleet cooling=liquid"
keys C-u 'set fleet cooling=' Tab Tab
check "Tab Tab lists the values, not the keys" wait_for "cooling=air"
check "... both of them" bash -c "tmux capture-pane -p -t $S | grep -q 'cooling=liquid' && ! tmux capture-pane -p -t $S | grep -q 'cooling=life'"
keys C-u 'set ddtl amort=bu' Tab
check "Tab completes a facility's amortization" line_is "dealsh neocloud-abl (copy)> set ddtl amort=bullet"
keys C-u 'depreciate fleet method=dd' Tab
check "Tab completes a plugin option's value" line_is "dealsh neocloud-abl (copy)> depreciate fleet method=ddb"
keys C-u 'waterfall --chart l' Tab
check "Tab completes a flag's value" line_is "dealsh neocloud-abl (copy)> waterfall --chart ltv"
keys C-u 'waterfall --facility d' Tab
check "Tab completes a facility id after --facility" line_is "dealsh neocloud-abl (copy)> waterfall --facility ddtl"
keys C-u 'add contract l2 type=lease tenant=hy' Tab
check "Tab completes an entity id after tenant=" line_is "dealsh neocloud-abl (copy)> add contract l2 type=lease tenant=hyper"
keys C-u 'scenario save mild spot=-10%' Enter
wait_for "saved scenario 'mild'"
keys 'waterfall scenario=mi' Tab
check "Tab completes a scenario name" line_is "dealsh neocloud-abl (copy)*> waterfall scenario=mild"
keys C-u 'quit --force' Enter
wait_for "SHELL-EXITED"

# 8d. Answering no to a question is not an error.
start
keys 'add entity keep type=spv' Enter
wait_for "added entity 'keep'"
keys "open $WORK/sessions/acme.deal" Enter
check "open asks about unsaved changes" wait_for "continue? [y/N]"
keys 'n' Enter
check "answering no says nothing was done" wait_for "not done: the session is unchanged"
check "... and it is not an error" bash -c "! tmux capture-pane -p -t $S | grep -q '^error:'"
keys 'quit --force' Enter
wait_for "SHELL-EXITED"

# 9. Crash recovery: kill -9 loses none of the changes.
start
keys 'add entity r1 type=spv' Enter
wait_for "added entity 'r1'"
keys 'add entity r2 type=spv' Enter
wait_for "added entity 'r2'"
keys 'set r1 pd=2%' Enter
wait_for "set r1: pd=2%"
keys 'undo' Enter
wait_for "undone: set r1 pd=2%"
keys 'add entity r3 type=sponsor name="Third one"' Enter
wait_for "added entity 'r3'"
kill_shell
check "kill -9 ends the shell" wait_for "SHELL-EXITED"
check "the journal survived" bash -c "ls '$STATE/dealsh/recovery/' | grep -q journal"
start
check "the next start says changes can be recovered" wait_for "5 unsaved changes from a session that ended"
keys 'recover' Enter
check "recover restores 5 of 5 changes" wait_for "recovered 5 of 5 changes"
keys 'ls' Enter
check "the recovered session has every change" wait_for "r3  entity  sponsor  Third one"
keys 'show r1' Enter
check "the undone change stays undone" wait_for "pd         0%     default"
keys 'recover' Enter
check "nothing left to recover" wait_for "nothing to recover"
keys 'quit --force' Enter
wait_for "SHELL-EXITED"

# 9b. An undo past the last save, then kill -9: recovery gives back exactly
# the killed shell's state (units 100, life 48), not a replay's guess.
start
keys 'add asset f type=gpu model=H100 units=100 unit_cost=30k' Enter
wait_for "added asset 'f'"
keys 'save r1' Enter
wait_for "saved '$WORK/sessions/r1.deal'"
keys 'set f units=200' Enter
wait_for "set f: units=200"
keys 'undo' Enter
wait_for "undone: set f units=200"
keys 'undo' Enter
wait_for "undone: add asset f"
keys 'redo' Enter
wait_for "redone: add asset f"
keys 'set f life=48' Enter
wait_for "set f: life=48"
kill_shell
wait_for "SHELL-EXITED"
start
keys 'recover' Enter
check "recover restores all 5 changes, checked" wait_for "recovered 5 of 5 changes on"
keys 'show f' Enter
check "the recovered fleet has 100 units, as the killed shell had" wait_for "units         100 "
check "... and life 48" wait_for "life          48 months"
keys 'quit --force' Enter
wait_for "SHELL-EXITED"

# 9. A long Monte Carlo shows a progress bar; Ctrl-C cancels it and the
#    shell goes on with the session as it was.
cp "$(dirname "$0")/../../Sessions/miner-double-leverage.deal" "$WORK/sessions/"
start miner-double-leverage
keys 'shock mc paths=5000000' Enter
check "a long run shows a progress bar" wait_for "(Ctrl-C cancels)"
keys C-c
check "Ctrl-C cancels the run" wait_for "error: shock: shock mc cancelled after"
keys 'ls facility' Enter
check "the shell goes on after a cancelled run" wait_for "gpuloan  facility  term"
keys 'quit' Enter
wait_for "SHELL-EXITED"

# 10. Colour only on a terminal, and never with NO_COLOR.
start_with() {  # start_with ENV-ASSIGNMENTS ARGS...
  local envs="$1"; shift
  tmux kill-session -t $S 2>/dev/null
  tmux new-session -d -s $S -x 120 -y 40 \
    "cd '$WORK' && env -u NO_COLOR $envs XDG_STATE_HOME='$STATE' DEALSH_SESSIONS='$WORK/sessions' HOME='$WORK' '$BIN' $*; echo; echo SHELL-EXITED; sleep 60"
  wait_for "dealsh " || { echo "shell did not start"; screen; }
}
escapes() { tmux capture-pane -e -p -t $S | grep -c $'\e\[[0-9;]*m' || true; }
start_with "" miner-double-leverage
keys 'shock grid spot=0%..-60%:4 metric=min_dscr' Enter
wait_for "min_dscr by spot"
check "a terminal shows the heat map in colour" test "$(escapes)" -gt 0
keys 'quit' Enter
wait_for "SHELL-EXITED"
start_with "NO_COLOR=1" miner-double-leverage
keys 'shock grid spot=0%..-60%:4 metric=min_dscr' Enter
wait_for "min_dscr by spot"
check "NO_COLOR: no colour escapes at all" test "$(escapes)" -eq 0
keys 'quit' Enter
wait_for "SHELL-EXITED"

echo "terminal: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
