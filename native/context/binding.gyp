{
  "targets": [
    {
      "target_name": "weft_context",
      "sources": ["context.cc"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-cast-function-type"]
    }
  ]
}
