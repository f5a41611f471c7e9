An expected line that is not UTF-8 (Latin-1):

  $ printf 'caf\351\n'
  café
  $ printf 'na\357ve \351t\351\n'
  naïve été
