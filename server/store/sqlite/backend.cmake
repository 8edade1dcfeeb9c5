# The SQLite store backend, always built (included by server/CMakeLists.txt).
# Its sources are this folder's *.c; here it adds the schema migrations
# (migrations/NNN_name.sql), embedded into a generated C file so an installed
# posfleetd does not need the source tree, and the library it links.
file(GLOB PFS_STORE_MIGRATIONS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/migrations/*.sql)
list(SORT PFS_STORE_MIGRATIONS)
set(PFS_STORE_MIGRATIONS_C ${CMAKE_CURRENT_BINARY_DIR}/store_migrations.c)
add_custom_command(OUTPUT ${PFS_STORE_MIGRATIONS_C}
  COMMAND ${CMAKE_COMMAND} -DOUT=${PFS_STORE_MIGRATIONS_C}
    -DHEADER=store/sqlite/store_migrations.h -DTYPE=pfs_migration -DTABLE=pfs_migrations
    "-DFILES=${PFS_STORE_MIGRATIONS}"
    -P ${CMAKE_CURRENT_LIST_DIR}/../embed_migrations.cmake
  DEPENDS ${PFS_STORE_MIGRATIONS} ${CMAKE_CURRENT_LIST_DIR}/../embed_migrations.cmake
  COMMENT "Embedding store migrations" VERBATIM)
list(APPEND PFS_STORE_SOURCES ${PFS_STORE_MIGRATIONS_C})
list(APPEND PFS_STORE_LIBS PkgConfig::SQLITE)
