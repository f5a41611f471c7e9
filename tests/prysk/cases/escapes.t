What prysk -i writes for lines that are not printable:

  $ printf 'a\tb\n'
  a\tb (esc)
  $ printf '\342\200\213zero width\n'
  \u200bzero width (esc)
  $ printf 'no\302\240break\n'
  no\xa0break (esc)
  $ printf 'bad \377 byte\n'
  bad \xff byte (esc)
  $ printf 'back\\slash \001\n'
  back\\slash \x01 (esc)
  $ printf '\001'
  \x01 (no-eol) (esc)

What a cram user may write by hand, as Python reads it:

  $ printf '\001\007\047\n'
  \001\a\' (esc)
  $ printf '\033[0m\n'
  \033[0m (esc)
  $ printf 'tab\there\n'
  tab\x09here (esc)
  $ printf 'caf\303\251\n'
  caf\xc3\xa9 (esc)
