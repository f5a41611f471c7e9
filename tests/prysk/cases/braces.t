Templates of other tools in output:

  $ echo '{{ }}'
  {{ }}
  $ echo '{{.State.Status}}'
  {{.State.Status}}
  $ echo 'host: {{ ansible_host }}'
  host: {{ ansible_host }}
