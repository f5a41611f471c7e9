//! The wire protocol between runbook and a persistent bash on a host, the same for every
//! transport. runbook writes a frame per block on the shell's stdin: the script as a quoted
//! word, then `__rb_go`, an alias set up once, which evaluates the script in the shell itself at
//! top level (so `cd`, `export`, functions and `declare`d variables persist, as in a trainee's
//! terminal; a function around the script would make `declare` local), with stdin from
//! /dev/null and stderr on stdout, then prints an end marker carrying the exit status.
//! `set -m` puts every command in a process group of its own, which a timeout can kill without
//! killing the shell; a USR1 trap breaks out of the one-pass loop around the script, so the
//! shell abandons the rest of the block and stays usable.

/// Marks the start and end of a marker; never printed by well-behaved commands, and a marker
/// also carries a per-session random nonce.
pub(crate) const SEPARATOR: u8 = 0x1e;

/// The environment variable that marks every process a session starts, whatever it does
/// to leave the session: `&`, `disown`, `nohup`, `setsid`, a subshell, a double fork all keep
/// their environment, where they change the process group or the session. At the end of a
/// run (and after a timeout) runbook finds the marked processes by walking `/proc/*/environ`
/// on the host, as the session's own user, and ends them. A cgroup would be tighter, but it
/// needs systemd's delegation or root on every host (an SSH login user has neither); a
/// process group or a session id is exactly what `setsid` and `set -m` leave. A service
/// started through `systemctl` (or `pg_ctlcluster`, which hands over to systemd) is started
/// by the host's (or container's) init with init's environment, so it carries no mark and is
/// never touched. A program that clears its environment (`env -i`) escapes the mark: masking
/// it is best effort, as the manual says (docs/src/running.md, "Leftover processes").
pub(crate) const SESSION_MARK: &str = "RUNBOOK_SESSION";

/// The name of a session's own cgroup, before its mark (see [`bootstrap`]).
pub(crate) const CGROUP_PREFIX: &str = "runbook-";

/// Which block of the session started a process: its number, with `.keep` for a block marked
/// `keep-running` (whose processes are left running at the end, on purpose).
pub(crate) const BLOCK_MARK: &str = "RUNBOOK_BLOCK";

/// The block number of the session's own sweeps, never a block's.
pub(crate) const SWEEP_BLOCK: &str = "sweep";

/// The shell function that moves a session into its cgroup (see [`bootstrap`]), defined only
/// with `contain`; it undefines itself once run (see [`contain_line`]).
const CONTAIN: &str = "__rb_contain";

/// The line runbook sends, once, before the first block of a session with `contain` that may
/// start a process.
pub(crate) fn contain_line() -> String {
    format!("{CONTAIN} 2>/dev/null\n")
}

/// Text sent once, right after the shell starts; `env` (`runbook.yml`'s, names checked when
/// read: letters, digits and `_`) is exported first, then a cram test's set-up
/// ([`cram_setup`]).
///
/// With `contain`, the shell gets a function, [`CONTAIN`], that a shell running as root where
/// a cgroup2 hierarchy is mounted and writable uses to move itself into a cgroup of its own,
/// `runbook-<mark>` under its current one, so that the end-of-run sweep finds every process
/// the session started, even one that emptied its environment (`env -i`). Anywhere else
/// nothing changes: the mark alone finds them. Empty cgroups of earlier sessions beside it (a
/// session replaced after a timeout, a run interrupted before its sweep) are removed first;
/// one in use is never empty. runbook calls the function before the first block that may
/// start a process, not at once: a move costs the kernel an RCU grace period (8 ms here, the
/// CPU idle meanwhile), and a session of builtins never needs it (issue 23).
pub(crate) fn bootstrap(
    nonce: &str,
    mark: &str,
    contain: bool,
    env: &[(String, String)],
    cram: Option<&str>,
    frame_file: Option<&str>,
) -> String {
    let mut exports = String::new();
    for (name, value) in env {
        exports.push_str("export ");
        exports.push_str(name);
        exports.push('=');
        push_single_quoted(&mut exports, value);
        exports.push('\n');
    }
    if let Some(setup) = cram {
        exports.push_str(setup);
    }
    let cgroup = if contain {
        format!(
            r#"{CONTAIN}() {{
unset -f {CONTAIN}
if [ "$EUID" = 0 ]; then
  __rb_m=; while read -r _ __rb_p __rb_t _; do [ "$__rb_t" = cgroup2 ] && {{ __rb_m=$__rb_p; break; }}; done < /proc/mounts
  __rb_c=; while IFS= read -r __rb_l; do case $__rb_l in 0::*) __rb_c=${{__rb_l#0::}};; esac; done < /proc/$$/cgroup
  if [ -n "$__rb_m" ] && [ -n "$__rb_c" ]; then
    __rb_g=$__rb_m${{__rb_c%/}}/{CGROUP_PREFIX}{mark}
    for __rb_l in "${{__rb_g%/*}}"/{CGROUP_PREFIX}*; do rmdir "$__rb_l" 2>/dev/null; done
    {{ mkdir "$__rb_g" && {{ echo $$ > "$__rb_g/cgroup.procs" && __rb_cg=$__rb_g/cgroup.procs || rmdir "$__rb_g"; }}; }} 2>/dev/null
  fi
  unset __rb_m __rb_p __rb_t __rb_c __rb_l __rb_g
fi
}}
"#
        )
    } else {
        String::new()
    };
    // `__rb_go` runs a block that cannot leave a process (see [`may_leave_processes`]),
    // `__rb_goc` one that may, and looks for what it left ([`LEFT_CHECK`]).
    let go = format!(
        r#"__rb_rc=124; while :; do eval "$__rb_s"; __rb_rc=$?; break; done </dev/null; printf "\036{nonce} %d\036" "$__rb_rc""#
    );
    let go_checked = format!(
        r#"__rb_rc=124; __rb_x=; while :; do eval "$__rb_s"; __rb_rc=$?; __rb_x=1; break; done </dev/null; {LEFT_CHECK}; printf "\036{nonce} %d\036" "$__rb_rc""#
    );
    let mut batch_aliases = String::new();
    for shape in BatchShape::ALL {
        batch_aliases.push_str("alias ");
        batch_aliases.push_str(shape.alias());
        batch_aliases.push('=');
        push_single_quoted(&mut batch_aliases, &batch_loop(nonce, shape));
        batch_aliases.push('\n');
    }
    // A local session's frames come in a file (see `FrameFile`): the alias reads it, then
    // runs the block as `__rb_go` does. Defined only if the shell can read the file; the ready
    // marker says whether it can, and runbook sends stdin frames otherwise.
    let file_go = match frame_file {
        Some(path) => {
            let mut alias = format!("alias {FILE_GO}=");
            push_single_quoted(&mut alias, &format!(". {}; {go}", shell_quote(path)));
            let mut checked = format!("alias {FILE_GO}{CHECKED}=");
            push_single_quoted(
                &mut checked,
                &format!(". {}; {go_checked}", shell_quote(path)),
            );
            let mut file_batch = format!("alias {FILE_BATCH_GO}=");
            push_single_quoted(&mut file_batch, &format!(". {}", shell_quote(path)));
            file_batch.push_str(&format!("; alias {MAP_BATCH}="));
            push_single_quoted(
                &mut file_batch,
                &format!("mapfile -t -d '' __rb_b < {}", shell_quote(path)),
            );
            format!(
                "if [ -r {path} ]; then {alias}; {checked}; {file_batch}; __rb_f=file; else __rb_f=stdin; fi\n",
                path = shell_quote(path)
            )
        }
        None => "__rb_f=stdin\n".to_string(),
    };
    let background = background_functions(nonce);
    exports
        + &format!(
            r#"exec 2>&1
export {SESSION_MARK}={mark} {BLOCK_MARK}=
{cgroup}set -m
set +o history 2>/dev/null
trap 'break 1000 2>/dev/null' USR1
shopt -s expand_aliases
alias __rb_go='{go}'
alias __rb_go{CHECKED}='{go_checked}'
{batch_aliases}alias __rb_go_pty='__rb_rc=124; __rb_x=; while :; do eval "$__rb_s"; __rb_rc=$?; __rb_x=1; break; done; {LEFT_CHECK}; printf "\036{nonce} %d\036" "$__rb_rc"'
{background}{file_go}IFS= read -r __rb_stat < /proc/$$/stat
__rb_stat=${{__rb_stat##*) }}
set -- $__rb_stat
printf '\036{nonce} ready %s %s %s %s\036' "$$" "$3" "$4" "$__rb_f"
set --
unset __rb_stat __rb_f
"#
        )
}

/// What a wrapper runs once a block that may have started a process has ended, before its
/// end marker: if the block left a process that writes to the session's output
/// ([`background_functions`]), the shell moves its own output to a new channel, so that the
/// process's later lines are not taken for a later block's. Only a block that ran to its
/// end (`__rb_x` set) is looked at: after a timeout, what the block started is ended anyway,
/// and bash would report the jobs the timeout killed (`[1]+ Terminated`) during the look, in
/// the block's output, where the settling otherwise takes them (see [`settle`]).
const LEFT_CHECK: &str = r#"[ -z "$__rb_x" ] || { __rb_left && __rb_move; }"#;

/// The most process ids `__rb_left` walks one by one; beyond that (a busy host, or the ids
/// wrapped around) it walks `/proc` instead.
const LEFT_RANGE: u32 = 4096;

/// The shell functions behind [`LEFT_CHECK`] (issue 20).
///
/// `__rb_left` says whether a process started since the last look (a block's `&`, a server
/// that `pg_ctl start` left running, a daemon that double-forked) still holds the session's
/// output as its stdout or stderr. A session in a cgroup of its own (see [`bootstrap`]) looks
/// at the processes its cgroup lists, which are exactly the session's, whatever else the host
/// runs: one read when the shell is alone there, read again until it stands still when it is
/// not (a process may fork and exit while it is looked at). Elsewhere, a process started
/// since the last look has a process id between
/// the last one the host had allocated then and the last one now, both read from
/// `/proc/loadavg` (its fifth field, per pid namespace: a container's own); most blocks leave
/// the first unchanged or a few ids apart, so the look costs one small read, and a block
/// that ran nothing is never walked. The session's psql is not counted: it writes to the
/// session's output on purpose, and the ids are read again once it is started. The ids are
/// read again after each walk, until they stand still (eight walks at most): a process that
/// forks and exits while it is walked (`setsid` run from a job: the job forks the daemon and
/// exits) leaves a successor with an id above the first read.
///
/// `__rb_move` makes a FIFO, tells runbook its path in a `move` marker (the last thing the
/// shell writes to the old channel: what comes after is the block's background output),
/// and opens it as its own stdout and stderr, read and write, so that the open never waits
/// for a reader: runbook starts a relay that reads the FIFO, as the session's user, and
/// removes it (see `super::transport::ShellReader`). The session's psql writes to the old
/// channel too: it is ended, and the next SQL block starts a new one. If no FIFO can be made
/// (no writable `TMPDIR`), the shell stays where it is, as before.
fn background_functions(nonce: &str) -> String {
    format!(
        r#"__rb_lp=0; {{ read -r _ _ _ _ __rb_lp < /proc/loadavg; }} 2>/dev/null
__rb_holds() {{
  [[ /proc/$1/fd/1 -ef /proc/$$/fd/1 || /proc/$1/fd/2 -ef /proc/$$/fd/1 ]] && [ "$1" != $$ ] || return 1
  [ -n "${{__rb_pp-}}" ] || return 0
  local __rb_st; {{ read -r __rb_st < /proc/$1/stat; }} 2>/dev/null || return 1
  set -- ${{__rb_st##*) }}; [ "$3" != "$__rb_pp" ]
}}
__rb_left() {{
  if [ -n "${{__rb_cg-}}" ]; then
    __rb_cs=; read -r -d '' __rb_cs < "$__rb_cg"
    [ "$__rb_cs" != $$ ] || return 1
  fi
  __rb_left_walk
}}
__rb_left_walk() {{
  local __rb_l __rb_q __rb_f __rb_t __rb_o= IFS=$' \t\n'
  if [ -n "${{__rb_cs-}}" ] && [ -n "${{__rb_cg-}}" ]; then
    for __rb_t in 1 2 3 4 5 6 7 8; do
      [ "$__rb_t" = 1 ] || {{ __rb_cs=; read -r -d '' __rb_cs < "$__rb_cg"; }}
      [ -n "$__rb_cs" ] || break
      [ "$__rb_cs" != $$ ] && [ "$__rb_cs" != "$__rb_o" ] || return 1
      for __rb_q in $__rb_cs; do __rb_holds $__rb_q && return 0; done
      __rb_o=$__rb_cs
    done
    [ -z "$__rb_cs" ] || return 1
  fi
  for __rb_t in 1 2 3 4 5 6 7 8; do
    read -r _ _ _ _ __rb_l < /proc/loadavg || return 1
    [ "$__rb_l" != "$__rb_lp" ] || return 1
    __rb_f=$__rb_lp; __rb_lp=$__rb_l
    if [ "$__rb_l" -gt "$__rb_f" ] && [ $((__rb_l - __rb_f)) -le {LEFT_RANGE} ]; then
      for ((__rb_q = __rb_f + 1; __rb_q <= __rb_l; __rb_q++)); do __rb_holds $__rb_q && return 0; done
    else
      for __rb_q in /proc/[1-9]*; do __rb_holds "${{__rb_q#/proc/}}" && return 0; done
    fi
  done
  return 1
}}
__rb_move() {{
  local __rb_d
  {{ __rb_d=$(mktemp -d "${{TMPDIR:-/tmp}}/runbook-out.XXXXXXXX") && mkfifo -m 600 "$__rb_d/o"; }} 2>/dev/null || {{ [ -z "$__rb_d" ] || rm -rf -- "$__rb_d"; return 0; }}
  if [ -n "${{__rb_pp-}}" ]; then kill -KILL -- "-$__rb_pp" 2>/dev/null; exec {{__rb_pfd}}>&-; __rb_pp=; fi
  printf '\036{nonce} move %s %s\036' "${{{BLOCK_MARK}-}}" "$__rb_d/o"
  exec 1<>"$__rb_d/o" 2>&1
  {{ read -r _ _ _ _ __rb_lp < /proc/loadavg; }} 2>/dev/null
}}
"#
    )
}

/// The marker word of [`background_functions`]'s `move` marker.
pub(crate) const MOVE_WORD: &str = "move";

/// What runbook writes to a relay's shell (see [`background_functions`]): a marker that
/// says where the relay's own output starts (a login shell may print first), then `cat` of
/// the FIFO at `path`, whose folder is removed once it is open.
pub(crate) fn relay_command(nonce: &str, path: &str) -> String {
    let folder = std::path::Path::new(path).parent().map_or_else(
        || path.to_string(),
        |folder| folder.to_string_lossy().into_owned(),
    );
    format!(
        "printf '\\036{nonce} relay\\036'; {{ rm -rf -- {folder}; exec cat; }} < {path}\n",
        folder = shell_quote(&folder),
        path = shell_quote(path),
    )
}

/// The alias that runs the frame a local session wrote to its frame file (see
/// [`frame_file_line`]).
const FILE_GO: &str = "__rb_next";

/// The alias that sources a batch a local session wrote to its frame file (see
/// [`batch_text`]).
const FILE_BATCH_GO: &str = "__rb_next_batch";

/// The alias that reads a lean batch's scripts from a local session's frame file (see
/// [`batch_text`]).
const MAP_BATCH: &str = "__rb_map";

/// What runbook writes to a gated batch waiting before its next block (see [`batch_loop`]) to
/// have it run: one byte, read by the shell with one read(2), where a frame of its own would
/// be read a byte at a time and parsed (issue 23: a run without `--keep-going` then pays
/// the round trip alone, not the frame). A digit, so that the shell tests it with `((...))`,
/// the cheapest test bash has.
pub(crate) const GO: &[u8] = b"1";

/// What runbook writes to a gated batch waiting before its next block to have it stop there:
/// the shell prints the batch's end marker and reads frames again.
pub(crate) const STOP: &[u8] = b"0";

/// The four loops a batch runs in, each an alias set once by [`bootstrap`]: gated or not (a
/// run that stops at the first failure, or `--keep-going`), and general or lean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchShape {
    /// The shell waits for [`GO`] before each block (see [`batch_loop`]).
    gated: bool,
    /// Every block is one [`is_lean`] accepts.
    lean: bool,
}

impl BatchShape {
    const ALL: [BatchShape; 4] = [
        BatchShape {
            gated: false,
            lean: false,
        },
        BatchShape {
            gated: true,
            lean: false,
        },
        BatchShape {
            gated: false,
            lean: true,
        },
        BatchShape {
            gated: true,
            lean: true,
        },
    ];

    fn alias(self) -> &'static str {
        match (self.lean, self.gated) {
            (false, false) => "__rb_batch",
            (false, true) => "__rb_batch_g",
            (true, false) => "__rb_lean",
            (true, true) => "__rb_lean_g",
        }
    }
}

/// The descriptor on which a gated lean loop reads its gate bytes: a copy of the shell's stdin
/// made for the loop's length, while stdin itself is `/dev/null` (lean blocks start no program
/// that could inherit it; a high number, out of the way of a course's own `3>` or `9<`).
const LEAN_GATE_FD: u8 = 62;

/// The loop that runs a batch's blocks (`__rb_b`), one after the other, each with its own end
/// marker, all inside one more loop that a timeout's USR1 (`break 1000`) leaves at once; then
/// the batch's own end marker, with the status of the block it left (124: the block was
/// stopped before its end marker) and how many blocks it started.
///
/// A gated loop reads one byte on stdin before each block: [`GO`] runs it, anything else (or
/// the end of stdin) leaves the batch. runbook sends the first block's byte with the frame, so
/// that every block is gated alike and the loop tests nothing else.
///
/// The general loop runs each block as `__rb_go` runs one (`__rb_goc` for one in `__rb_c`),
/// its mark from `__rb_n` exported before it. The lean loop is for a batch of blocks made of
/// builtins only ([`is_lean`]), which start no process and so need neither the mark's export
/// (the mark is still set, as each block's own `RUNBOOK_BLOCK`: numbers that follow
/// `__rb_i`), nor the look for what they left, nor the inner loop that keeps a block's own
/// `break` or `continue` inside it: a block then costs bash a third as many commands
/// (issue 23: 3000 `echo` blocks, gated, 870 million instructions before in bash, 345 to 412 after;
/// BENCHMARKS.md).
fn batch_loop(nonce: &str, shape: BatchShape) -> String {
    let gate = if shape.gated {
        "read -n 1 __rb_g && ((__rb_g)) || break; "
    } else {
        ""
    };
    if shape.lean {
        // stdin is /dev/null for the whole loop, opened once, and the gate comes on a copy of
        // the shell's stdin: a redirection per block cost bash 8 µs of the 19 a block took.
        let (gate, redirections) = if shape.gated {
            (
                format!("read -n 1 -u {LEAN_GATE_FD} __rb_g && ((__rb_g)) || break; "),
                format!("{LEAN_GATE_FD}<&0 </dev/null"),
            )
        } else {
            (String::new(), "</dev/null".to_string())
        };
        format!(
            r#"__rb_o=$__rb_i; while :; do for __rb_s in "${{__rb_b[@]}}"; do {gate}{BLOCK_MARK}=$((++__rb_i)); eval "$__rb_s"; printf "\036{nonce} %d\036" $?; done; break; done {redirections}; printf "\036{nonce} batch 124 %d\036" $((__rb_i-__rb_o)); unset __rb_b __rb_g __rb_i __rb_o"#
        )
    } else {
        format!(
            r#"__rb_rc=124; __rb_i=0; while :; do for __rb_s in "${{__rb_b[@]}}"; do {gate}__rb_i=$((__rb_i+1)); export {BLOCK_MARK}=${{__rb_n[__rb_i-1]}}; __rb_rc=124; __rb_x=; while :; do eval "$__rb_s"; __rb_rc=$?; __rb_x=1; break; done </dev/null; [ -z "${{__rb_c[__rb_i-1]-}}" ] || {{ {LEFT_CHECK}; }}; printf "\036{nonce} %d\036" "$__rb_rc"; done; __rb_rc=124; break; done; printf "\036{nonce} batch %d %d\036" "$__rb_rc" "$__rb_i"; unset __rb_b __rb_n __rb_g __rb_c"#
        )
    }
}

/// Whether a block of a batch can run in the lean loop ([`batch_loop`]): it may start no
/// process (`check` false, see [`may_leave_processes`]) and it says neither `break` nor
/// `continue` anywhere (which the general loop keeps inside the block). A lean batch's marks
/// must also be numbers that follow each other ([`batch_text`]): no `keep-running` block.
fn is_lean(script: &str, check: bool) -> bool {
    !check && !script.contains("break") && !script.contains("continue")
}

/// A batch's text (see [`batch_text`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BatchText {
    /// What to write to a local session's frame file first, when the text was made for one.
    pub(crate) file: Option<String>,
    /// What to write on the shell's stdin (after the file, if any): the whole frame, or the
    /// line that reads the file; then, for a gated batch, the first block's [`GO`].
    pub(crate) line: String,
}

/// The text that runs several blocks one after the other (see [`batch_loop`]). `blocks`
/// holds each one's script, mark (see [`BLOCK_MARK`]) and whether it may leave a process
/// ([`may_leave_processes`]). A `gated` batch waits for [`GO`] before each block but the
/// first, whose byte the text carries.
///
/// On stdin, and in the frame file of most batches, the scripts are set as single-quoted
/// words and the marks beside them; the loop's alias follows. A lean batch in a frame file
/// holds its scripts as they are, each ended by a NUL byte (which no bash string holds), and
/// the shell reads them with `mapfile`: parsing and unquoting 500 words cost bash about as
/// much as a sixth of the blocks' own run (issue 23, BENCHMARKS.md).
pub(crate) fn batch_text(blocks: &[(&str, &str, bool)], gated: bool, to_file: bool) -> BatchText {
    let first: Option<u64> = blocks
        .first()
        .and_then(|(_, mark, _)| mark.parse().ok())
        .filter(|first| *first > 0);
    let lean = first.is_some_and(|first| {
        blocks
            .iter()
            .zip(first..)
            .all(|((script, mark, check), number)| {
                is_lean(script, *check) && *mark == number.to_string()
            })
    });
    let shape = BatchShape { gated, lean };
    let mut run = format!("{}\n", shape.alias());
    if gated {
        run.push_str(std::str::from_utf8(GO).expect("ASCII"));
    }
    let length: usize = blocks.iter().map(|(script, _, _)| script.len() + 8).sum();
    let mut text = String::with_capacity(length + 32);
    if let Some(first) = first.filter(|_| lean && to_file) {
        if !blocks.iter().any(|(script, _, _)| script.contains('\0')) {
            for (script, _, _) in blocks {
                text.push_str(script);
                text.push('\0');
            }
            return BatchText {
                file: Some(text),
                line: format!("{MAP_BATCH}; __rb_i={}; {run}", first - 1),
            };
        }
    }
    text.push_str("__rb_b=(");
    for (script, _, _) in blocks {
        push_single_quoted(&mut text, script);
        text.push('\n');
    }
    text.push_str(")\n");
    match first {
        // The lean loop counts the marks up from the one before the first.
        Some(first) if lean => text.push_str(&format!("__rb_i={}\n", first - 1)),
        _ => {
            text.push_str("__rb_n=(");
            for (_, block, _) in blocks {
                text.push_str(block);
                text.push(' ');
            }
            text.push_str(")\n");
            // The blocks that may leave a process, by index: a sparse array, so that a batch
            // of builtins sets nothing.
            if blocks.iter().any(|(_, _, check)| *check) {
                text.push_str("__rb_c=(");
                for (index, _) in blocks.iter().enumerate().filter(|(_, block)| block.2) {
                    text.push_str(&format!("[{index}]=1 "));
                }
                text.push_str(")\n");
            }
        }
    }
    if to_file {
        BatchText {
            file: Some(text),
            line: format!("{FILE_BATCH_GO}; {run}"),
        }
    } else {
        text.push_str(&run);
        BatchText {
            file: None,
            line: text,
        }
    }
}

/// What a session whose shell reads frames from a file writes on the shell's stdin for each
/// block, once the frame ([`frame_assignments`]) is in the file: ten bytes to read one byte
/// at a time, whatever the block's length.
pub(crate) fn frame_file_line(check: bool) -> &'static str {
    if check { "__rb_nextc\n" } else { "__rb_next\n" }
}

/// What the aliases that also look for what a block left ([`LEFT_CHECK`]) add to their names.
const CHECKED: &str = "c";

/// What cram gives the shell of a test file, sent right after `env`'s exports: a fresh folder
/// `root` holding `tmp/` (the test's `TMPDIR`, `TEMP` and `TMP`) and a folder named after the
/// file, where the test starts; `TESTDIR`, `TESTFILE`, `TESTSHELL`, `CRAMTMP`; cram's clean
/// environment (`LANG=C`, `TZ=GMT`, `COLUMNS=80`...); the folder removed when the shell ends.
pub(crate) fn cram_setup(test: &crate::chapter::cram::CramTest, root: &str) -> String {
    let root_word = shell_quote(root);
    let here = shell_quote(&format!("{root}/{}", test.testfile));
    let tmp = shell_quote(&format!("{root}/tmp"));
    let mut text = format!(
        "mkdir -m 700 -p {root_word} && mkdir {tmp} {here} && cd {here} || exit 1\n\
         trap 'cd / && rm -rf {top}' EXIT\n",
        top = shell_quote(&std::path::Path::new(root).parent().map_or_else(
            || root.to_string(),
            |top| top.to_string_lossy().into_owned()
        )),
    );
    let vars: [(&str, String); 15] = [
        ("TESTDIR", test.testdir.to_string_lossy().into_owned()),
        ("TESTFILE", test.testfile.clone()),
        ("TESTSHELL", "/bin/bash".into()),
        ("CRAMTMP", root.into()),
        ("PRYSK_TEMP", root.into()),
        ("TMPDIR", format!("{root}/tmp")),
        ("TEMP", format!("{root}/tmp")),
        ("TMP", format!("{root}/tmp")),
        ("LANG", "C".into()),
        ("LC_ALL", "C".into()),
        ("LANGUAGE", "C".into()),
        ("TZ", "GMT".into()),
        ("CDPATH", String::new()),
        ("COLUMNS", "80".into()),
        ("GREP_OPTIONS", String::new()),
    ];
    for (name, value) in vars {
        text.push_str("export ");
        text.push_str(name);
        text.push('=');
        push_single_quoted(&mut text, &value);
        text.push('\n');
    }
    text
}

/// The frame that runs one block: the script as one single-quoted word, then `__rb_go`, the
/// alias the bootstrap defines. bash parses its stdin one byte per read(2) (it must not read
/// past a command that might read stdin itself), so the frame carries nothing but the script:
/// a quoted word is the cheapest thing to parse, where a heredoc would cost a pipe and a
/// byte-by-byte `read` on top.
///
/// `block` (the block's number in the session, see [`BLOCK_MARK`]) is exported before the
/// script runs, so that what the block starts can be told from what earlier blocks started.
pub(crate) fn frame(script: &str, block: &str, check: bool) -> String {
    let mut text = frame_assignments(script, block);
    text.push_str(if check { "__rb_goc\n" } else { "__rb_go\n" });
    text
}

/// Whether a block may leave a process running: `false` only for one made of nothing but
/// bash builtins and assignments (`echo`, `cd`, `export`...) with no substitution, pipe,
/// `&`, subshell or group, which cannot start one. Any doubt (a word not on the list, a
/// quote hiding a `;`) answers `true`: the check then costs a look, never a miss. The look
/// ([`LEFT_CHECK`]) costs about 40 µs a block, which a block that starts a program does not
/// notice, and a block of builtins would (issue 23).
pub(crate) fn may_leave_processes(script: &str) -> bool {
    const BUILTINS: &[&str] = &[
        "echo",
        "printf",
        "cd",
        "pwd",
        "export",
        "unset",
        "true",
        "false",
        ":",
        "set",
        "shopt",
        "declare",
        "typeset",
        "local",
        "readonly",
        "let",
        "test",
        "[",
        "[[",
        "alias",
        "unalias",
        "umask",
        "return",
        "exit",
        "break",
        "continue",
        "shift",
        "type",
        "hash",
        "read",
        "mapfile",
        "readarray",
        "kill",
        "jobs",
        "disown",
        "dirs",
        "pushd",
        "popd",
        "wait",
    ];
    if script.contains(['(', '`', '|', '&', '{', '\\']) {
        return true;
    }
    script
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|piece| !piece.is_empty() && !piece.starts_with('#'))
        .any(|piece| {
            let mut words = piece.split_whitespace();
            // Assignments before a command (`A=1 echo`) or alone start nothing.
            let command = words.find(|word| !is_assignment(word));
            command.is_some_and(|word| !BUILTINS.contains(&word))
        })
}

/// `NAME=value`, as a shell reads an assignment word.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// What a frame sets before the block runs: the script as one single-quoted word, and the
/// block's number exported. On stdin it is followed by `__rb_go` ([`frame`]); in a local
/// session's frame file, the alias that reads the file runs the block ([`frame_file_line`]).
pub(crate) fn frame_assignments(script: &str, block: &str) -> String {
    let mut text = String::with_capacity(script.len() + 48);
    text.push_str("__rb_s=");
    push_single_quoted(&mut text, script);
    text.push_str("\nexport ");
    text.push_str(BLOCK_MARK);
    text.push('=');
    text.push_str(block);
    text.push('\n');
    text
}

/// The block mark of a psql session's psql (see [`sql_frame`]): it lives as long as the
/// session, so neither a block's sweep nor the end-of-run sweep counts it as left over; it
/// ends when the session's shell does (end of input).
pub(crate) const PSQL_BLOCK: &str = "psql";

/// The shell function, defined once per psql session, that types SQL into the session's psql:
/// it starts psql (with the arguments it is given) reading from a FIFO the shell holds open,
/// its output and errors on the session's own output, unless one is running; then writes the
/// block's input (`$__rb_q`) to it. The shell prints no end marker for the block: psql does,
/// after the block's last statement (see [`sql_frame`]). When psql ends (`\q`, a lost
/// server, a connection refused at the start), the subshell around it prints the end marker
/// with psql's exit status instead, and the next block starts a new psql.
fn sql_function(nonce: &str) -> String {
    format!(
        r#"__rb_sql() {{
  local __rb_try
  for __rb_try in 1 2; do
    if [ -z "${{__rb_pp-}}" ] || ! kill -0 "$__rb_pp" 2>/dev/null; then
      [ -z "${{__rb_pfd-}}" ] || exec {{__rb_pfd}}>&-
      __rb_pf=$(mktemp -u "${{TMPDIR:-/tmp}}/runbook-psql.XXXXXXXX") && mkfifo -m 600 "$__rb_pf" || {{ printf '{nonce} 125'; return; }}
      {{ export {BLOCK_MARK}={PSQL_BLOCK}; psql "$@" <"$__rb_pf"; printf '{nonce} %d' $?; }} 2>&1 &
      __rb_pp=$!
      disown "$__rb_pp"
      exec {{__rb_pfd}}>"$__rb_pf"
      rm -f "$__rb_pf"
      {{ read -r _ _ _ _ __rb_lp < /proc/loadavg; }} 2>/dev/null
    fi
    trap : PIPE
    printf '%s' "$__rb_q" >&"$__rb_pfd" 2>/dev/null && {{ trap - PIPE; return; }}
    trap - PIPE
    __rb_pp=
  done
  printf '{nonce} 125'
}}
"#
    )
}

/// The frame that types one SQL block into the session's psql (see [`sql_function`], sent
/// with the session's first SQL block as `define`). The input resets psql's
/// `LAST_ERROR_SQLSTATE`, holds the block's SQL as written, then has psql print the end
/// marker with that variable: `00000` when no statement failed. psql runs every statement
/// of the block in turn, an error included, as it does for a trainee typing them (a failed
/// statement inside a transaction makes the following ones fail until `ROLLBACK`).
/// `\echo` writes to psql's standard output whatever `\o` says, so the marker always comes.
pub(crate) fn sql_frame(
    sql: &str,
    psql_args: &[String],
    block: &str,
    nonce: &str,
    define: bool,
) -> String {
    let mut input = String::with_capacity(sql.len() + 96);
    input.push_str("\\set LAST_ERROR_SQLSTATE 00000\n");
    input.push_str(sql);
    if !sql.ends_with('\n') {
        input.push('\n');
    }
    input.push_str("\\echo -n '\\036");
    input.push_str(nonce);
    input.push_str(" sql' :LAST_ERROR_SQLSTATE'\\036'\n");
    let mut text = if define {
        sql_function(nonce)
    } else {
        String::new()
    };
    text.push_str("__rb_q=");
    push_single_quoted(&mut text, &input);
    text.push_str("\nexport ");
    text.push_str(BLOCK_MARK);
    text.push('=');
    text.push_str(block);
    text.push_str("\n__rb_sql");
    for arg in psql_args {
        text.push(' ');
        text.push_str(&shell_quote(arg));
    }
    text.push('\n');
    text
}

/// A script, run inside the session as its own user, that ends the processes the session
/// marked (see [`SESSION_MARK`]) and prints each one it found as `leftover PID COMMAND`.
/// `block`: only those of that block (after a timeout); `None`: all but those of
/// `keep-running` blocks (at the end of the run). TERM first, KILL what is left after `grace`.
/// The sweep itself runs unmarked (`env -u`), so it never finds itself.
///
/// One look at `/proc` is not enough: a process may fork after it (`setsid`, a double fork
/// that has not happened yet when the block ends) and a TERM handler may start a child. So
/// the sweep looks again after each round, until [`SWEEP_QUIET_LOOKS`] looks in a row find
/// nothing marked; only the first [`SWEEP_TERM_ROUNDS`] rounds send TERM (with `grace` to
/// obey), later ones KILL at once, so a handler that keeps starting children cannot keep the
/// sweep going. [`SWEEP_MAX_ROUNDS`] bounds it whatever happens.
///
/// At the end of the run (`block` is `None`), a session in a cgroup of its own (see
/// [`bootstrap`]) also has every process of that cgroup but its shell swept, marked or not:
/// the sweep first moves itself out of it, so that neither it nor the commands it runs are
/// taken for leftovers. A process there without the mark has no block either, so even a
/// `keep-running` block's process that emptied its environment is ended. The shell and what
/// `keep-running` blocks left then move back to the cgroup the shell came from, and the
/// session's cgroup is removed.
pub(crate) fn sweep_script(mark: &str, block: Option<&str>, grace: std::time::Duration) -> String {
    let wanted = match block {
        Some(block) => format!("[ \"$b\" = {} ] || continue", shell_quote(block)),
        None => format!("case \"$b\" in *.keep|sweep|{PSQL_BLOCK}) continue;; esac"),
    };
    let contained = block.is_none();
    let tenths = (grace.as_millis() / 100).clamp(1, 600);
    format!(
        r#"env -u {SESSION_MARK} -u {BLOCK_MARK} sh -c '
dir=""
if [ {contained} = true ]; then
  cg=""
  while IFS= read -r l; do case "$l" in 0::*) cg=${{l#0::}};; esac; done < /proc/$PPID/cgroup
  case "$cg" in */{CGROUP_PREFIX}{mark})
    while read -r d m t o; do [ "$t" = cgroup2 ] && {{ dir=$m$cg; break; }}; done < /proc/mounts
    up=${{dir%/*}}
    echo $$ > "$up/cgroup.procs" 2>/dev/null || dir=""
  esac
fi
finish() {{
  if [ -n "$dir" ]; then
    for p in $(cat "$dir/cgroup.procs"); do echo $p > "$up/cgroup.procs"; done
    rmdir "$dir"
  fi 2>/dev/null
  exit 0
}}
contained() {{
  [ -n "$dir" ] || return 0
  for p in $(cat "$dir/cgroup.procs" 2>/dev/null); do [ "$p" = "$PPID" ] || echo "/proc/$p/environ"; done
}}
reported=" "
round=0
quiet=0
while [ $round -lt {SWEEP_MAX_ROUNDS} ]; do
  found=" "
  for f in $(grep -l -z -x "{SESSION_MARK}={mark}" /proc/[0-9]*/environ 2>/dev/null) $(contained); do
    p=${{f#/proc/}}; p=${{p%/environ}}
    case "$found" in *" $p "*) continue;; esac
    b=$(grep -z "^{BLOCK_MARK}=" "$f" 2>/dev/null | tr -d "\0"); b=${{b#{BLOCK_MARK}=}}
    {wanted}
    c=$(tr "\0" " " < /proc/$p/cmdline 2>/dev/null)
    [ -n "$c" ] || continue
    case "$reported" in *" $p "*) ;; *) echo "leftover $p $c"; reported="$reported$p ";; esac
    found="$found$p "
  done
  if [ "$found" = " " ]; then
    quiet=$((quiet+1))
    [ $quiet -lt {SWEEP_QUIET_LOOKS} ] || finish
    sleep {SWEEP_QUIET_GAP}
    continue
  fi
  quiet=0
  round=$((round+1))
  if [ $round -gt {SWEEP_TERM_ROUNDS} ]; then
    kill -KILL $found 2>/dev/null
    sleep 0.05
    continue
  fi
  kill -TERM $found 2>/dev/null
  i=0
  while [ $i -lt {tenths} ]; do
    alive=""
    for p in $found; do
      s=$(cat /proc/$p/stat 2>/dev/null) || continue
      case "${{s##*) }}" in Z*) ;; *) alive="$alive $p";; esac
    done
    [ -n "$alive" ] || break
    sleep 0.1; i=$((i+1))
  done
  [ -z "$alive" ] || kill -KILL $alive 2>/dev/null
done
finish
'
"#
    )
}

/// Looks in a row that must find no marked process before a sweep ends (see
/// [`sweep_script`]): a second look, [`SWEEP_QUIET_GAP`] later, catches a child forked while
/// `/proc` was read.
pub(crate) const SWEEP_QUIET_LOOKS: u32 = 2;
/// Seconds between two quiet looks of a sweep. A child forked while `/proc` was read exists as
/// soon as its parent's fork returns, and the second look lists `/proc` again only once the
/// first is over, so any gap finds it, none included; the gap was 50 ms, then 10 ms, which
/// every run paid once at its end (a fifth of prysk's whole time on 3000 short commands at
/// 50 ms, issue 23).
pub(crate) const SWEEP_QUIET_GAP: &str = "0";
/// Rounds of a sweep that send TERM and wait for `--grace`; later rounds KILL at once.
pub(crate) const SWEEP_TERM_ROUNDS: u32 = 2;
/// The most rounds a sweep makes.
pub(crate) const SWEEP_MAX_ROUNDS: u32 = 50;

/// The frame that runs one block under a pseudo-terminal (see [`pty_script`]): like
/// [`frame`], but the wrapper keeps the shell's own stdin, which carries the typed answers.
pub(crate) fn pty_frame(script: &str, block: &str, nonce: &str) -> String {
    let mut text = String::from("__rb_s=");
    push_single_quoted(&mut text, &pty_script(script, nonce));
    text.push_str("\nexport ");
    text.push_str(BLOCK_MARK);
    text.push('=');
    text.push_str(block);
    text.push_str("\n__rb_go_pty\n");
    text
}

/// The terminal a `pty` block runs in: its size and type, fixed so that output does not
/// depend on the machine runbook runs on.
pub(crate) const PTY_COLUMNS: u16 = 120;
pub(crate) const PTY_ROWS: u16 = 40;
pub(crate) const PTY_TERM: &str = "xterm";

/// Variables of the shell that a nested bash sets for itself, or that the terminal decides:
/// they are not carried into or out of a `pty` block.
const NOT_CARRIED: &str = "BASH*|SHLVL|PPID|UID|EUID|SHELLOPTS|BASHOPTS|RANDOM|SRANDOM|SECONDS|\
LINENO|HISTCMD|PIPESTATUS|FUNCNAME|GROUPS|DIRSTACK|COLUMNS|LINES|TERM|_|__rb_*|EPOCHSECONDS|\
EPOCHREALTIME|OPTIND|COMP_WORDBREAKS|PWD|OLDPWD";

/// Shell text that writes the shell's state (variables, functions, aliases, directory) as a
/// script that recreates it, to the file named by `$1`-like `target`.
fn state_dump(target: &str) -> String {
    format!(
        r#"{{ mapfile -t __rb_all < <(compgen -v); __rb_v=()
for __rb_n in "${{__rb_all[@]}}"; do case $__rb_n in {NOT_CARRIED}) ;; *) __rb_v+=("$__rb_n");; esac; done
declare -p "${{__rb_v[@]}}"; declare -f; alias -p; printf 'cd -- %q
' "$PWD"; }} > {target} 2>/dev/null </dev/null
"#
    )
}

/// The leftovers a [`sweep_script`] printed: (pid, command line).
pub(crate) fn parse_sweep(output: &[u8]) -> Vec<(u32, String)> {
    String::from_utf8_lossy(output)
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("leftover ")?;
            let (pid, command) = rest.split_once(' ')?;
            Some((pid.parse().ok()?, command.trim_end().to_string()))
        })
        .collect()
}

/// The wrapper that runs `script` under a pseudo-terminal inside the persistent shell.
///
/// util-linux `script` makes the terminal (every Debian host has it: `bsdutils` is essential),
/// so nothing is installed on the host and every transport works the same way. The block
/// runs in a bash under `script`, started from the shell's state (variables, functions,
/// aliases, directory, dumped to a file), whose state at the end is loaded back, so `cd` and
/// variables carry over as for any block. `script` reads its input from a FIFO; the shell
/// itself reads the answers runbook types from its stdin, one line each
/// (`NONCE type ANSWER`), and writes them to the FIFO with a carriage return (the Enter key).
/// Reading them in the shell rather than letting `script` read the shell's stdin means that
/// no byte meant for the shell is ever eaten by the program, nor an answer typed too late
/// run as a command: those lines are shell comments, so one that comes after the block (an
/// answer typed as the program ended) is read by the shell as nothing. When `script` ends,
/// a marker (`ended`) tells runbook, which answers `# NONCE end`: the shell stops reading,
/// loads the state back and ends the block. The subshell around `script` traps TERM, so
/// that on a timeout it ends only once `script` has ended the program (bash runs a trap
/// after its foreground command). The shell reads with a short timeout and stops
/// on its own once `script` is gone, which is how a block stopped by a timeout ends: the
/// USR1 that abandons other blocks at once is a no-op meanwhile, so that the block ends only
/// once the program is gone, and its FIFO is removed.
pub(crate) fn pty_script(script: &str, nonce: &str) -> String {
    let mut quoted = String::new();
    push_single_quoted(&mut quoted, script);
    format!(
        r#"if [ -n "${{__rb_pd-}}" ]; then exec {{__rb_pw}}>&- 2>/dev/null; rm -rf -- "$__rb_pd"; fi </dev/null
if ! {{ __rb_pd=$(mktemp -d "${{TMPDIR:-/tmp}}/runbook-pty.XXXXXX") && mkfifo -m 600 "$__rb_pd/in"; }} </dev/null; then
  echo "runbook: cannot make the pty block's FIFO in ${{TMPDIR:-/tmp}}"; (exit 70)
elif ! command -v script >/dev/null; then
  echo "runbook: a pty block needs util-linux's \`script\` on the host (Debian: bsdutils)"; rm -rf -- "$__rb_pd"; unset __rb_pd; (exit 127)
else
exec {{__rb_pw}}<>"$__rb_pd/in"
{dump_before}{{ printf '__rb_pd=%q\n' "$__rb_pd"
  printf '%s\n' '. "$__rb_pd/vars" 2>/dev/null' 'shopt -s expand_aliases' \
    'export TERM={PTY_TERM} LESS="${{LESS:--FRX}}" MORE="${{MORE:--e}}"' 'stty cols {PTY_COLUMNS} rows {PTY_ROWS} -onlcr echo 2>/dev/null'
  printf '__rb_s=%s\n' {quoted_twice}
  printf '%s\n' 'eval "$__rb_s"' '__rb_rc=$?'
  printf '%s' {after_dump}
  printf '%s\n' 'exit $__rb_rc'; }} > "$__rb_pd/state" </dev/null
{{ trap 'exit 143' TERM; exec {{__rb_pw}}>&-; SHELL=/bin/bash script -qefc ". '$__rb_pd/state'" /dev/null <"$__rb_pd/in"
  printf '\036{nonce} ended %d\036' "$?"; }} </dev/null &
__rb_tp=$!; __rb_pa=; trap : USR1
while :; do
  if IFS= read -r -t 0.2 __rb_l; then
    __rb_l=$__rb_pa$__rb_l; __rb_pa=
    case $__rb_l in
      '# {nonce} end') break;;
      '# {nonce} type '*) printf '%s\r' "${{__rb_l#'# {nonce} type '}}" >&"$__rb_pw";;
    esac
  elif [ $? -gt 128 ]; then
    __rb_pa=$__rb_pa$__rb_l
    [ -z "$__rb_pa" ] && ! kill -0 "$__rb_tp" 2>/dev/null && break
  else
    break
  fi
done 2>/dev/null
wait "$__rb_tp" 2>/dev/null; __rb_prc=$?; trap 'break 1000 2>/dev/null' USR1
exec {{__rb_pw}}>&-
. "$__rb_pd/after" 2>/dev/null </dev/null
rm -rf -- "$__rb_pd" </dev/null; unset __rb_pd __rb_pw __rb_tp __rb_pa __rb_l
(exit $__rb_prc)
fi
"#,
        dump_before = state_dump("\"$__rb_pd/vars\""),
        quoted_twice = shell_quote(&quoted),
        after_dump = shell_quote(&state_dump("\"$__rb_pd/after\"")),
    )
}

/// The line that types `answer` into the running `pty` block.
pub(crate) fn typed_line(nonce: &str, answer: &str) -> String {
    format!("# {nonce} type {answer}\n")
}

/// The line that tells a `pty` block's wrapper its program has ended.
pub(crate) fn pty_end_line(nonce: &str) -> String {
    format!("# {nonce} end\n")
}

/// Appends `text` as one single-quoted shell word (`'` written as `'\''`).
fn push_single_quoted(out: &mut String, text: &str) {
    out.push('\'');
    for piece in text.split_inclusive('\'') {
        match piece.strip_suffix('\'') {
            Some(before) => {
                out.push_str(before);
                out.push_str("'\\''");
            }
            None => out.push_str(piece),
        }
    }
    out.push('\'');
}

/// Sent after a block was stopped by signals: bash reports the jobs it saw killed ("[1]+
/// Terminated ...") on its stderr once the next foreground command ends, which would land in
/// the next block's output. One throw-away command with stderr discarded takes those reports;
/// then a marker says the shell is ready again.
pub(crate) fn settle(nonce: &str) -> String {
    format!("{{ sh -c :; jobs; }} >/dev/null 2>&1; printf '\\036{nonce} 0\\036'\n")
}

/// A shell script (POSIX sh, run beside the session) that signals everything the session's
/// shell started: USR1 to the shell so it abandons the block, then `signal` to every process
/// group in the shell's session except the groups of the shell and its ancestors.
pub(crate) fn kill_script(shell_pid: u32, session_id: u32, signal: &str) -> String {
    format!(
        r#"shell={shell_pid}; sid={session_id}
kill -USR1 "$shell" 2>/dev/null
skip=" "; p=$shell
while [ -n "$p" ] && [ "$p" -gt 1 ]; do
  read -r s 2>/dev/null < /proc/$p/stat || break
  s=${{s##*) }}; set -- $s
  [ "$4" = "$sid" ] || break
  skip="$skip$3 "; p=$2
done
groups=" "
for d in /proc/[0-9]*; do
  read -r s 2>/dev/null < "$d/stat" || continue
  s=${{s##*) }}; set -- $s
  [ "$4" = "$sid" ] || continue
  case "$skip" in *" $3 "*) continue;; esac
  case "$groups" in *" $3 "*) ;; *) groups="$groups$3 ";; esac
done
for g in $groups; do kill -s {signal} -- "-$g" 2>/dev/null; done
echo "signalled:$groups"
"#
    )
}

/// A script that ends the whole shell session (the shell included), and what its blocks
/// started that left the session (marked with `mark`, see [`SESSION_MARK`]), but for
/// `keep-running` blocks'. Run beside the session, as the login user.
pub(crate) fn end_session_script(shell_pid: u32, session_id: u32, mark: &str) -> String {
    format!(
        r#"{kill}kill -KILL "{shell_pid}" 2>/dev/null
for f in $(grep -l -z -x "{SESSION_MARK}={mark}" /proc/[0-9]*/environ 2>/dev/null); do
  grep -q -z -x "{BLOCK_MARK}=.*\.keep" "$f" 2>/dev/null && continue
  p=${{f#/proc/}}; kill -KILL "${{p%/environ}}" 2>/dev/null
done
true
"#,
        kill = kill_script(shell_pid, session_id, "KILL")
    )
}

/// Quotes `text` for a POSIX shell.
pub(crate) fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+%".contains(&b))
    {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 2);
    push_single_quoted(&mut out, text);
    out
}

/// How a `file=` block changes its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum FileWrite {
    /// The file becomes the block's content.
    #[default]
    Replace,
    /// The block's content is added at the end of the file (created if missing), unless the
    /// file already holds it as whole lines: a chapter run twice adds it once (`append`).
    Append,
}

/// The path of a `file=` block as shell text: `~/x` means the session user's home, as in a
/// terminal; anything else is quoted as is.
fn file_target(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", shell_quote(rest)),
        None => shell_quote(path),
    }
}

/// A shell condition, true when the file `$__rb_f` holds `content` as whole lines (the file's
/// text and the content compared between line ends, so `X=1` is not found in `X=10`).
fn file_holds_condition(content: &str) -> String {
    let lines = content.trim_end_matches('\n');
    let mut condition = String::from("case \"\n$(cat -- \"$__rb_f\" 2>/dev/null)\n\" in *");
    // The content, quoted, between newlines: inside double quotes `case` takes it literally.
    condition.push('\'');
    condition.push('\n');
    condition.push('\'');
    push_single_quoted(&mut condition, lines);
    condition.push('\'');
    condition.push('\n');
    condition.push('\'');
    condition.push_str("*) true ;; *) false ;; esac");
    condition
}

/// The script that writes a `file=` block's content on its host.
pub(crate) fn write_file_script(
    path: &str,
    content: &str,
    mode: Option<u32>,
    owner: Option<&str>,
    how: FileWrite,
) -> String {
    let mut script = format!(
        "__rb_f={}\nmkdir -p -- \"$(dirname -- \"$__rb_f\")\" &&\n",
        file_target(path)
    );
    match how {
        FileWrite::Replace => {
            script.push_str("printf '%s' ");
            push_single_quoted(&mut script, content);
            script.push_str(" > \"$__rb_f\"");
        }
        FileWrite::Append => {
            // A last line without its newline would run into the first added one.
            script.push_str("{ ");
            script.push_str(&file_holds_condition(content));
            script.push_str(
                " || { { [ ! -s \"$__rb_f\" ] || [ -z \"$(tail -c 1 -- \"$__rb_f\")\" ] || printf '\\n'; } && printf '%s' ",
            );
            push_single_quoted(&mut script, content);
            script.push_str("; } >> \"$__rb_f\"; }");
        }
    }
    if let Some(mode) = mode {
        script.push_str(&format!(" && chmod {mode:o} \"$__rb_f\""));
    }
    if let Some(owner) = owner {
        script.push_str(&format!(" && chown {} \"$__rb_f\"", shell_quote(owner)));
    }
    // The session user's login startup file: what it sets is what the course's next commands
    // as that user expect (a course adds `export ...` to `~/.profile`, then logs in). A new
    // login would read it; the persistent session, opened before, reads it now. A failure in
    // it is shown, and does not undo the write.
    script.push_str(
        "\n__rb_st=$?\nif [ \"$__rb_st\" = 0 ]; then case $__rb_f in \"$HOME/.profile\"|\"$HOME/.bash_profile\"|\"$HOME/.bash_login\"|\"$HOME/.bashrc\") . \"$__rb_f\" || : ;; esac; fi\nunset __rb_f; (exit $__rb_st)\n",
    );
    script
}

/// The read-only script that prints what a `file=` block wrote, for reading it back: the
/// whole file, or for an appended block its content when the file holds it (the whole file
/// otherwise, so that a difference shows what is there instead).
pub(crate) fn read_file_script(path: &str, content: &str, how: FileWrite) -> String {
    let target = file_target(path);
    match how {
        FileWrite::Replace => format!("cat -- {target}\n"),
        FileWrite::Append => {
            let mut script = format!("__rb_f={target}\nif ");
            script.push_str(&file_holds_condition(content));
            script.push_str("; then printf '%s' ");
            push_single_quoted(&mut script, content);
            script.push_str(
                "; else cat -- \"$__rb_f\"; fi\n__rb_st=$?; unset __rb_f; (exit $__rb_st)\n",
            );
            script
        }
    }
}

/// What the scanner found in the shell's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Marker {
    /// End of a block, with its exit status.
    Done(i32),
    /// The shell is up: its pid, process group and session, and whether it reads frames from
    /// the frame file it was given.
    Ready {
        pid: u32,
        pgid: u32,
        sid: u32,
        file: bool,
    },
    /// The program of a `pty` block ended (the block itself has not yet).
    PtyEnded,
    /// A batch is over: all its blocks ran, or it was left (a timeout's USR1, `break 2` in a
    /// block). `code`: the status of the block it left; `started`: how many of its blocks
    /// started.
    BatchEnd { code: i32, started: usize },
}

/// Accumulates a block's output, keeping at most `cap` bytes (the tail), and finds the marker.
/// It also notes when each line ended, for the recording of the block (asciicast).
#[derive(Debug)]
pub(crate) struct OutputBuffer {
    data: Vec<u8>,
    needle: Vec<u8>,
    cap: usize,
    /// Where the next marker search starts in `data`.
    search_from: usize,
    /// Bytes dropped from the front (the output was longer than `cap`).
    dropped: u64,
    started: std::time::Instant,
    /// Milliseconds from the start to the arrival of each newline in `data`, in order.
    newline_times: std::collections::VecDeque<u32>,
}

/// The output kept holds at most one line for this many bytes of `--max-output` (131,072
/// lines for the default 1 MiB): see [`OutputBuffer::finish`].
pub(crate) const BYTES_PER_LINE_KEPT: usize = 8;

/// What a block printed, as [`OutputBuffer::finish`] hands it over.
#[derive(Debug, Clone, Default)]
pub(crate) struct Captured {
    /// The last `cap` bytes of the output.
    pub(crate) output: Vec<u8>,
    /// Earlier bytes were dropped.
    pub(crate) truncated: bool,
    pub(crate) total_bytes: u64,
    /// When each newline of `output` arrived, in milliseconds from the block's start.
    pub(crate) newline_times: Vec<u32>,
}

impl OutputBuffer {
    pub(crate) fn new(nonce: &str, cap: usize) -> Self {
        let mut needle = vec![SEPARATOR];
        needle.extend_from_slice(nonce.as_bytes());
        needle.push(b' ');
        OutputBuffer {
            data: Vec::new(),
            needle,
            cap: cap.max(1024),
            search_from: 0,
            dropped: 0,
            started: std::time::Instant::now(),
            newline_times: std::collections::VecDeque::new(),
        }
    }

    /// Adds bytes; returns the marker if it is now complete, with the bytes after it.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Option<(Marker, Vec<u8>)> {
        let newlines = chunk.iter().filter(|&&byte| byte == b'\n').count();
        if newlines > 0 {
            let now = u32::try_from(self.started.elapsed().as_millis()).unwrap_or(u32::MAX);
            self.newline_times
                .extend(std::iter::repeat_n(now, newlines));
        }
        self.data.extend_from_slice(chunk);
        let found = self.find_marker();
        if found.is_none() {
            self.trim();
        }
        found
    }

    fn find_marker(&mut self) -> Option<(Marker, Vec<u8>)> {
        let start = self.search_from;
        let relative = find(&self.data[start..], &self.needle);
        let Some(relative) = relative else {
            self.search_from = self.data.len().saturating_sub(self.needle.len());
            return None;
        };
        let begin = start + relative;
        let payload_start = begin + self.needle.len();
        let end = self.data[payload_start..]
            .iter()
            .position(|&b| b == SEPARATOR)?
            + payload_start;
        let payload = String::from_utf8_lossy(&self.data[payload_start..end]).into_owned();
        let marker = parse_payload(&payload)?;
        let rest = self.data[end + 1..].to_vec();
        self.data.truncate(begin);
        Some((marker, rest))
    }

    /// Keeps memory bounded: once the buffer holds twice the cap, drop the oldest bytes.
    fn trim(&mut self) {
        if self.data.len() <= self.cap.saturating_mul(2) {
            return;
        }
        let excess = self.data.len() - self.cap;
        // Never cut into a marker that may be arriving.
        let excess = excess.min(self.search_from);
        self.drop_front(excess);
        self.search_from -= excess;
    }

    fn drop_front(&mut self, count: usize) {
        let newlines = self.data[..count]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count();
        self.newline_times
            .drain(..newlines.min(self.newline_times.len()));
        self.data.drain(..count);
        self.dropped += count as u64;
    }

    /// The captured output: the last `cap` bytes, whether earlier bytes were dropped, and when
    /// its lines ended.
    pub(crate) fn finish(mut self) -> Captured {
        let total_bytes = self.dropped + self.data.len() as u64;
        if self.data.len() > self.cap {
            self.drop_front(self.data.len() - self.cap);
        }
        // Each line costs every stage after this one (matching, the diff, the reports) far
        // more than its bytes: a flood of one-letter lines keeps only its last lines too.
        let most_lines = self.cap / BYTES_PER_LINE_KEPT;
        let lines = self.data.iter().filter(|&&byte| byte == b'\n').count();
        if lines > most_lines {
            let cut = self
                .data
                .iter()
                .enumerate()
                .filter(|(_, byte)| **byte == b'\n')
                .nth(lines - most_lines - 1)
                .map_or(0, |(at, _)| at + 1);
            self.drop_front(cut);
        }
        // Newlines that came after the end marker are not part of the output.
        let kept = self.data.iter().filter(|&&byte| byte == b'\n').count();
        self.newline_times.truncate(kept);
        Captured {
            output: self.data,
            truncated: self.dropped > 0,
            total_bytes,
            newline_times: self.newline_times.into(),
        }
    }

    /// How many bytes of output have come so far, dropped ones included: where an answer
    /// typed now sits in the output.
    pub(crate) fn position(&self) -> u64 {
        self.dropped + self.data.len() as u64
    }

    /// The output since the last newline, or since `since` (a [`Self::position`]) if that
    /// is later: the line a program is asking its question on.
    pub(crate) fn current_line(&self, since: u64) -> &[u8] {
        let from = usize::try_from(since.saturating_sub(self.dropped)).unwrap_or(usize::MAX);
        let from = from.min(self.data.len());
        let line_start = self.data[from..]
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(from, |newline| from + newline + 1);
        &self.data[line_start..]
    }

    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.data.len()
    }
}

fn parse_payload(payload: &str) -> Option<Marker> {
    let mut words = payload.split(' ');
    match words.next()? {
        "ready" => {
            let pid = words.next()?.parse().ok()?;
            let pgid = words.next()?.parse().ok()?;
            let sid = words.next()?.parse().ok()?;
            let file = words.next() == Some("file");
            Some(Marker::Ready {
                pid,
                pgid,
                sid,
                file,
            })
        }
        "ended" => Some(Marker::PtyEnded),
        "batch" => {
            let code = words.next()?.parse().ok()?;
            let started = words.next()?.parse().ok()?;
            Some(Marker::BatchEnd { code, started })
        }
        // psql's end of a SQL block: the SQLSTATE of its last error, `00000` for none.
        "sql" => match words.next()? {
            "00000" => Some(Marker::Done(0)),
            _ => Some(Marker::Done(1)),
        },
        code => code.parse().ok().map(Marker::Done),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut offset = 0;
    while let Some(position) = haystack[offset..].iter().position(|&b| b == first) {
        let start = offset + position;
        if haystack.len() - start < needle.len() {
            return None;
        }
        if &haystack[start..start + needle.len()] == needle {
            return Some(start);
        }
        offset = start + 1;
    }
    None
}

/// Random hex strings for markers and heredoc terminators.
pub(crate) mod rand_nonce {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};

    static COUNTER: AtomicU64 = AtomicU64::new(0);

    /// 128 bits from the clock, the process id, a counter and the OS's randomness.
    pub(crate) fn nonce() -> String {
        let mut seed = [0u8; 16];
        let from_os = std::fs::File::open("/dev/urandom")
            .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut seed));
        if from_os.is_err() {
            let time = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            seed[..8].copy_from_slice(&(time as u64).to_le_bytes());
            seed[8..12].copy_from_slice(&std::process::id().to_le_bytes());
        }
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        seed[12..]
            .iter_mut()
            .zip(count.to_le_bytes())
            .for_each(|(byte, extra)| *byte ^= extra);
        seed.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_marker_split_across_chunks() {
        let mut buffer = OutputBuffer::new("abc", 4096);
        assert!(buffer.push(b"hello\n\x1eab").is_none());
        let (marker, rest) = buffer.push(b"c 3\x1etrailing").expect("marker");
        assert_eq!(marker, Marker::Done(3));
        assert_eq!(rest, b"trailing");
        let Captured {
            output,
            truncated,
            total_bytes: total,
            ..
        } = buffer.finish();
        assert_eq!(output, b"hello\n");
        assert!(!truncated);
        assert_eq!(total, 6);
    }

    #[test]
    fn ready_marker() {
        let mut buffer = OutputBuffer::new("n", 4096);
        let (marker, _) = buffer
            .push(b"\x1en ready 10 10 10 file\x1e")
            .expect("marker");
        assert_eq!(
            marker,
            Marker::Ready {
                pid: 10,
                pgid: 10,
                sid: 10,
                file: true,
            }
        );
    }

    #[test]
    fn keeps_the_tail_of_long_output() {
        let mut buffer = OutputBuffer::new("n", 1024);
        for index in 0..10_000u32 {
            assert!(buffer.push(format!("line {index}\n").as_bytes()).is_none());
            assert!(buffer.buffered() <= 2048 + 16);
        }
        let (marker, _) = buffer.push(b"\x1en 0\x1e").expect("marker");
        assert_eq!(marker, Marker::Done(0));
        let Captured {
            output,
            truncated,
            total_bytes: total,
            ..
        } = buffer.finish();
        assert!(truncated);
        assert_eq!(output.len(), 1024);
        assert!(output.ends_with(b"line 9999\n"));
        assert_eq!(
            total,
            (0..10_000u32)
                .map(|i| format!("line {i}\n").len() as u64)
                .sum::<u64>()
        );
    }

    /// Issue 24: a megabyte of one-letter lines is half a million lines, each costing far
    /// more than its two bytes downstream; only the last lines are kept.
    #[test]
    fn keeps_at_most_one_line_per_eight_bytes_of_the_cap() {
        let mut buffer = OutputBuffer::new("n", 1024);
        for _ in 0..1000 {
            assert!(buffer.push(b"y\n").is_none());
        }
        buffer.push(b"last\n\x1en 0\x1e").expect("marker");
        let captured = buffer.finish();
        assert!(captured.truncated);
        assert_eq!(captured.total_bytes, 2005);
        let lines = captured
            .output
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count();
        assert_eq!(lines, 1024 / BYTES_PER_LINE_KEPT);
        assert!(captured.output.starts_with(b"y\n"));
        assert!(captured.output.ends_with(b"y\nlast\n"));
        assert_eq!(captured.newline_times.len(), lines);
    }

    #[test]
    fn the_frame_file_line_is_the_alias_the_bootstrap_defines() {
        assert_eq!(frame_file_line(false), format!("{FILE_GO}\n"));
        assert_eq!(frame_file_line(true), format!("{FILE_GO}{CHECKED}\n"));
        let with = bootstrap("n", "m", false, &[], None, Some("/proc/1/fd/9"));
        assert!(with.contains(&format!("alias {FILE_GO}='. /proc/1/fd/9; __rb_rc=124;")));
        assert!(with.contains(&format!(
            "alias {FILE_GO}{CHECKED}='. /proc/1/fd/9; __rb_rc=124;"
        )));
        assert!(!bootstrap("n", "m", false, &[], None, None).contains(FILE_GO));
    }

    #[test]
    fn only_a_block_of_builtins_is_known_to_leave_no_process() {
        for script in [
            "echo line 1",
            "cd /tmp; export A=1\n# a comment\nB=2\necho \"$A $B\" > out",
            "A=1 printf '%s ' x",
            "",
        ] {
            assert!(!may_leave_processes(script), "{script}");
        }
        for script in [
            "pg_ctl start",
            "echo x; sleep 1",
            "sleep 9 &",
            "echo $(date)",
            "echo `date`",
            "echo a | cat",
            "( cd /; ls )",
            "{ echo; }",
            "f",
            "eval x",
            ". ./env",
            "exec sleep 1",
            "trap 'sleep 1' EXIT",
            "echo a \\\nb",
            "A=$(date)",
        ] {
            assert!(may_leave_processes(script), "{script}");
        }
    }

    #[test]
    fn a_batch_frame_holds_each_script_quoted_and_its_mark() {
        // A `keep-running` block's mark: the general loop.
        assert_eq!(
            batch_text(
                &[("echo 'a'", "1", false), ("b", "2.keep", false)],
                false,
                false
            )
            .line,
            "__rb_b=('echo '\\''a'\\'''\n'b'\n)\n__rb_n=(1 2.keep )\n__rb_batch\n"
        );
        // A block that may leave a process: the general loop, which looks after it.
        let general = batch_text(&[("echo a", "1", false), ("b", "2", true)], true, false);
        assert_eq!(
            general.line,
            "__rb_b=('echo a'\n'b'\n)\n__rb_n=(1 2 )\n__rb_c=([1]=1 )\n__rb_batch_g\n1"
        );
        let general = batch_text(&[("echo a", "1", false), ("b", "2", true)], true, true);
        assert_eq!(
            general.file.as_deref(),
            Some("__rb_b=('echo a'\n'b'\n)\n__rb_n=(1 2 )\n__rb_c=([1]=1 )\n")
        );
        assert_eq!(general.line, format!("{FILE_BATCH_GO}; __rb_batch_g\n1"));
        // Builtins only, marks that follow each other: the lean loop, counting from 6.
        let lean = [("echo a", "7", false), ("cd /", "8", false)];
        assert_eq!(
            batch_text(&lean, true, false).line,
            "__rb_b=('echo a'\n'cd /'\n)\n__rb_i=6\n__rb_lean_g\n1"
        );
        let in_file = batch_text(&lean, false, true);
        assert_eq!(in_file.file.as_deref(), Some("echo a\0cd /\0"));
        assert_eq!(in_file.line, format!("{MAP_BATCH}; __rb_i=6; __rb_lean\n"));
        // A script holding a NUL byte cannot be NUL-separated: quoted words in the file.
        let nul = batch_text(&[("echo a\0", "7", false)], false, true);
        assert_eq!(
            nul.file.as_deref(),
            Some("__rb_b=('echo a\0'\n)\n__rb_i=6\n")
        );
        assert_eq!(nul.line, format!("{FILE_BATCH_GO}; __rb_lean\n"));
        // Marks that skip one, a block's own `break`, a first mark of 0: the general loop.
        for blocks in [
            [("echo a", "7", false), ("cd /", "9", false)],
            [("echo a", "7", false), ("break", "8", false)],
            [("echo a", "0", false), ("cd /", "1", false)],
        ] {
            assert!(
                batch_text(&blocks, false, false)
                    .line
                    .ends_with("\n__rb_batch\n")
            );
        }
        let with = bootstrap("n", "m", false, &[], None, Some("/proc/1/fd/9"));
        for shape in BatchShape::ALL {
            assert!(with.contains(&format!("alias {}='", shape.alias())));
        }
        assert!(with.contains(&format!("alias {FILE_BATCH_GO}='. /proc/1/fd/9'")));
        assert!(with.contains(&format!(
            "alias {MAP_BATCH}='mapfile -t -d '\\'''\\'' __rb_b < /proc/1/fd/9'"
        )));
        let mut buffer = OutputBuffer::new("n", 4096);
        let (marker, _) = buffer.push(b"\x1en batch 143 2\x1e").expect("marker");
        assert_eq!(
            marker,
            Marker::BatchEnd {
                code: 143,
                started: 2
            }
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/etc/default/etcd"), "/etc/default/etcd");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(rand_nonce::nonce(), rand_nonce::nonce());
        assert_eq!(rand_nonce::nonce().len(), 32);
    }
}

#[cfg(test)]
mod quoting_tests {
    use super::*;

    #[test]
    fn single_quoted_words_survive_any_text() {
        let script = "echo 'it''s' \"$HOME\" \\ \n`x` $'\\n'\n";
        let word = shell_quote(script);
        let output = crate::sys::std_command("sh")
            .arg("-c")
            .arg(format!("printf '%s' {word}"))
            .output()
            .expect("sh runs");
        assert_eq!(String::from_utf8_lossy(&output.stdout), script);
    }

    /// Runs `script` in bash with `HOME` at `home`; returns its exit status.
    fn run_in(home: &std::path::Path, script: &str) -> (i32, String) {
        let output = crate::sys::std_command("bash")
            .arg("-c")
            .arg(script)
            .env("HOME", home)
            .current_dir(home)
            .output()
            .expect("bash runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    #[test]
    fn replacing_a_file_writes_the_content_under_home() {
        let home = tempfile::tempdir().expect("tempdir");
        std::fs::write(home.path().join(".profile"), "old\n").expect("write");
        let script = write_file_script(
            "~/.profile",
            "it's new\n",
            Some(0o600),
            None,
            FileWrite::Replace,
        );
        assert_eq!(run_in(home.path(), &script).0, 0);
        let written = home.path().join(".profile");
        assert_eq!(
            std::fs::read_to_string(&written).expect("read"),
            "it's new\n"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&written)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o600);
    }

    #[test]
    fn appending_adds_the_content_once_after_a_complete_last_line() {
        let home = tempfile::tempdir().expect("tempdir");
        let profile = home.path().join(".profile");
        // The last line has no newline: the added text must start on a line of its own.
        std::fs::write(&profile, "PATH=/bin\nexport PATRONICTL_CONFIG_FILE=/etc/x0")
            .expect("write");
        let content = "export PATRONICTL_CONFIG_FILE=/etc/x\n";
        let script = write_file_script("~/.profile", content, None, None, FileWrite::Append);
        assert_eq!(run_in(home.path(), &script).0, 0);
        // Run again (the chapter run twice): the file already holds the line, as a whole
        // line, so nothing is added; `/etc/x0` above did not count as holding it.
        assert_eq!(run_in(home.path(), &script).0, 0);
        assert_eq!(
            std::fs::read_to_string(&profile).expect("read"),
            "PATH=/bin\nexport PATRONICTL_CONFIG_FILE=/etc/x0\nexport PATRONICTL_CONFIG_FILE=/etc/x\n"
        );
    }

    #[test]
    fn appending_creates_a_missing_file_and_its_folder_and_keeps_quotes() {
        let home = tempfile::tempdir().expect("tempdir");
        let content = "a='$HOME' \"b\"\n\nlast\n";
        let script = write_file_script("~/new/dir/f", content, None, None, FileWrite::Append);
        assert_eq!(run_in(home.path(), &script).0, 0);
        assert_eq!(run_in(home.path(), &script).0, 0);
        assert_eq!(
            std::fs::read_to_string(home.path().join("new/dir/f")).expect("read"),
            content
        );
    }

    #[test]
    fn reading_back_an_appended_block_prints_it_when_the_file_holds_it_and_the_file_when_not() {
        let home = tempfile::tempdir().expect("tempdir");
        let profile = home.path().join(".profile");
        std::fs::write(&profile, "first\nexport A=1\nlast\n").expect("write");
        let held = read_file_script("~/.profile", "export A=1\n", FileWrite::Append);
        assert_eq!(run_in(home.path(), &held), (0, "export A=1\n".to_string()));
        let missing = read_file_script("~/.profile", "export A=2\n", FileWrite::Append);
        assert_eq!(
            run_in(home.path(), &missing),
            (0, "first\nexport A=1\nlast\n".to_string())
        );
        // A replaced file is read back whole, `~/` meaning home there too.
        let whole = read_file_script("~/.profile", "", FileWrite::Replace);
        assert_eq!(run_in(home.path(), &whole).1, "first\nexport A=1\nlast\n");
        assert_ne!(
            run_in(
                home.path(),
                &read_file_script("~/none", "", FileWrite::Replace)
            )
            .0,
            0
        );
    }

    #[test]
    fn writing_the_session_user_s_startup_file_reads_it_into_the_session() {
        let home = tempfile::tempdir().expect("tempdir");
        let write = write_file_script(
            "~/.profile",
            "export COURSE_CONFIG=/etc/patroni/15-main.yml\n",
            None,
            None,
            FileWrite::Append,
        );
        let (status, out) = run_in(home.path(), &format!("{write}echo \"[$COURSE_CONFIG]\""));
        assert_eq!((status, out.as_str()), (0, "[/etc/patroni/15-main.yml]\n"));
        // Any other file is only written.
        let other = write_file_script(
            "~/notes.sh",
            "export OTHER=1\n",
            None,
            None,
            FileWrite::Replace,
        );
        let (status, out) = run_in(home.path(), &format!("{other}echo \"[${{OTHER:-}}]\""));
        assert_eq!((status, out.as_str()), (0, "[]\n"));
    }
}
