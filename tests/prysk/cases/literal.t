Annotated lines first match their own text:

  $ echo 'baz??? quux (glob)'
  baz??? quux (glob)
  $ echo 'a+b (re)'
  a+b (re)
  $ echo 'x (no-eol)'
  x (no-eol)
  $ echo 'keep (esc) here (esc)'
  keep (esc) here (esc)

Regexes Rust does not have, or counted classes:

  $ echo foobar
  foo(?=bar)bar (re)
  $ echo abab
  (ab)\1 (re)
  $ echo foo
  foo\Z (re)
  $ printf '%064d\n' 7
  \w{64} (re)
  $ echo 'lit (ab)\1 (re)'
  lit (ab)\1 (re)

Globs:

  $ echo '* \foobarbaz {10}'
  \* \\fo?bar* {10} (glob)
  $ echo 'started at 12:00:01'
  started at ??:??:?? (glob)
