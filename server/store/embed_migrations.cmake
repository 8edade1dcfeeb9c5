# Writes OUT: a C file holding every migration in FILES (sorted NNN_name.sql)
# as const data, so the schema travels inside the binary. Invoked with cmake -P
# by each store backend (sqlite/backend.cmake, postgres/library.cmake), which
# names its header (HEADER), its table's element type (TYPE) and the table
# (TABLE).
set(body "/* Generated from ${HEADER}'s migrations by embed_migrations.cmake; do not edit. */\n")
string(APPEND body "#include \"${HEADER}\"\n\n")
set(table "")
set(count 0)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME_WE)
  string(REGEX MATCH "^[0-9]+" num "${name}")
  if(num STREQUAL "")
    message(FATAL_ERROR "migration ${f}: name must start with its number")
  endif()
  math(EXPR num "${num} + 0")
  # Two files with one number would leave one of them unapplied forever.
  if(DEFINED seen_${num})
    message(FATAL_ERROR "store migrations ${seen_${num}} and ${name}.sql share number ${num}: "
                        "renumber the newer one to the next free number")
  endif()
  set(seen_${num} "${name}.sql")
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "static const unsigned char mig_${count}[] = {${hex} 0};\n")
  string(APPEND table "    {${num}, \"${name}\", (const char *)mig_${count}},\n")
  math(EXPR count "${count} + 1")
endforeach()
string(APPEND body "\nconst struct ${TYPE} ${TABLE}[] = {\n${table}    {0, 0, 0},\n};\n")
file(WRITE ${OUT}.tmp "${body}")
file(RENAME ${OUT}.tmp ${OUT})
