{
  "targets": [
    {
      "target_name": "pgcloak_native",
      "sources": ["native/copy_kernel.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
