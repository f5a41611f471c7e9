Blessing a test file: the outputs that changed are rewritten in place, the rest stays.

  $ echo hello
  goodbye
  $ printf 'x\ny\n'; false
  x
  $ echo "kept $RANDOM"
  kept \d+ (re)
  new line
  $ printf 'tab\there\n'

A comment between.

  $ printf 'no newline'
  $ (exit 3)
  [2]
  $ echo ok
  ok
  $ true
  [1]
  $ printf 'a\nb\n'
  a
  c
  b
  $ printf '\033[1mbold\033[0m\n'
  $ printf 'one\ntwo\n'
  one
A comment inside the output: the lines below it are the command's too.
  three
  $ echo first
  first
  > echo second
  third
