"""prysk's verdict on each command of a folder of .t files, for tests/prysk.rs.

The files run through prysk's own runner (prysk.test.runtests, in the temporary folder and
environment that `prysk --shell=/bin/bash` sets up); each command is then judged, with prysk's
own matchers (prysk.diff), on its own part of the file: its line, its expected output and the
prose after it, against the same part of what prysk recorded.

Prints JSON: [{"file": "test.t", "line": 3, "status": "passed" | "failed" | "skipped"}, ...]
(line: the command's 1-based line in its file). Exits 3 when prysk 0.20 is not installed.
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

try:
    from importlib import metadata

    from prysk.diff import esc, glob, regex, unified_diff
    from prysk.test import runtests

    VERSION = metadata.version("prysk")
except ImportError as error:
    print(f"prysk is not installed ({error}): run scripts/setup-test-machine", file=sys.stderr)
    sys.exit(3)

if not VERSION.startswith("0.20."):
    print(f"prysk {VERSION} is installed, the test needs 0.20: run scripts/setup-test-machine",
          file=sys.stderr)
    sys.exit(3)

COMMAND = b"  $ "


def command_lines(lines):
    return [index for index, line in enumerate(lines) if line.startswith(COMMAND)]


def parts(lines, starts):
    ends = starts[1:] + [len(lines)]
    return [lines[start:end] for start, end in zip(starts, ends)]


def main(folder):
    # What prysk's command line sets up before running (prysk.cli: _setup).
    tmpdir = Path(tempfile.mkdtemp("", "prysk-tests-"))
    os.environ["PRYSK_TEMP"] = str(tmpdir)
    os.mkdir(tmpdir / "tmp")
    for name in ("TMPDIR", "TEMP", "TMP"):
        os.environ[name] = str(tmpdir / "tmp")
    verdicts = []
    for path, test in runtests([Path(folder)], tmpdir, ["/bin/bash"]):
        refout, postout, _ = test()
        if refout is None:
            continue  # an empty file: nothing to run
        starts = command_lines(refout)
        if postout is None:
            statuses = ["skipped"] * len(starts)  # the file exited 80
        else:
            expected = parts(refout, starts)
            recorded = parts(postout, command_lines(postout))
            if len(expected) != len(recorded):
                raise SystemExit(f"{path}: {len(expected)} commands, {len(recorded)} recorded")
            statuses = [
                "passed"
                if not list(unified_diff(want, got, matchers=[esc, glob, regex]))
                else "failed"
                for want, got in zip(expected, recorded)
            ]
        for start, status in zip(starts, statuses):
            verdicts.append({"file": path.name, "line": start + 1, "status": status})
    shutil.rmtree(tmpdir, ignore_errors=True)
    json.dump(verdicts, sys.stdout, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
