{
  "targets": [
    {
      "target_name": "weft_shm",
      "sources": ["shm.cc"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-cast-function-type"],
      "ldflags": ["-Wl,-z,nodelete"]
    }
  ]
}
