Colours and carriage returns, as cram compares them (the bytes as printed):

  $ printf '\033[1;32mok\033[0m\n'
  \x1b[1;32mok\x1b[0m (esc)
  $ printf 'dos line\r\n'
  dos line\r (esc)
  $ printf '10%%\r50%%\r100%%\n'
  10%\r (no-eol) (esc)
  50%\r (no-eol) (esc)
  100%
  $ printf '\033]0;title\007done\n'
  \x1b]0;title\x07done (esc)

A pattern on an escaped line sees the escaped form:

  $ printf '\033[31mred\033[0m\n'
  .*red.* (re)
