# The PostgreSQL backend's foundation (docs/store.md), included by
# server/CMakeLists.txt: connection handling and the retrying transaction
# helper, its own schema migrations (migrations/NNN_name.sql, embedded like
# the SQLite backend's), and the scheduler election. A library of its own,
# pfs_pg, until the store's ops table lets posfleetd choose the backend at
# run time; its tests (tests/unit/test_pg_*.c, tests/integration/test_pg_*.sh)
# run against a real PostgreSQL 15 started by tests/pg/pg.sh.
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq>=13)
file(GLOB PFS_PG_MIGRATIONS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/migrations/*.sql)
list(SORT PFS_PG_MIGRATIONS)
set(PFS_PG_MIGRATIONS_C ${CMAKE_CURRENT_BINARY_DIR}/pg_migrations.c)
add_custom_command(OUTPUT ${PFS_PG_MIGRATIONS_C}
  COMMAND ${CMAKE_COMMAND} -DOUT=${PFS_PG_MIGRATIONS_C}
    -DHEADER=store/postgres/pg_migrations.h -DTYPE=pfs_pg_migration -DTABLE=pfs_pg_migrations
    "-DFILES=${PFS_PG_MIGRATIONS}"
    -P ${CMAKE_CURRENT_LIST_DIR}/../embed_migrations.cmake
  DEPENDS ${PFS_PG_MIGRATIONS} ${CMAKE_CURRENT_LIST_DIR}/../embed_migrations.cmake
  COMMENT "Embedding PostgreSQL store migrations" VERBATIM)
file(GLOB PFS_PG_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.c)
add_library(pfs_pg STATIC ${PFS_PG_SOURCES} ${PFS_PG_MIGRATIONS_C})
target_include_directories(pfs_pg PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(pfs_pg PRIVATE pf_warnings PUBLIC pf_proto PkgConfig::PQ PkgConfig::SODIUM)
# The store files (pg_lifecycle.c...) load and save what the domain rules of
# posfleetd's core decide (lifecycle/) and write its audit text
# (store/record_json.h).
if(TARGET pfs_core)
  target_link_libraries(pfs_pg PUBLIC pfs_core)
endif()
