How cram reads a file: blank output lines, exit statuses, continuations, lines that look
like prompts, globs with backslashes, the test's own folder.

  $ printf 'a\n\n'; false
  a
  
  [1]
  $ printf '# root\nuser@host:~$ ls\n'
  # root
  user@host:~$ ls
  $ cat <<EOF
  > heredoc line
  > EOF
  heredoc line
  $ (exit 3)
  [3]

A backslash before an ordinary character is itself in a glob; `\*` is a star.

  $ echo 'C:\data\file*'
  C:\d* (glob)
  $ echo 'C:\data\file*'
  C:\data\file\* (glob)
  $ echo 'x\y'
  x\y (glob)
  $ pwd
  */prysk-tests*/structure.t (glob)
  $ echo "$TESTFILE" "$TMPDIR/t"
  structure.t $TMPDIR/t
