{
  "targets": [
    {
      "target_name": "hil_pty",
      "sources": ["harness/sim/pty/pty.c"],
      "libraries": ["-lutil"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
