# Package.cmake -- what `cmake --install` puts where (FHS paths under /usr and /etc), and
# CPack's DEB generator for tidegate_<version>_amd64.deb (scripts/package makes it).
include(GNUInstallDirs)

install(TARGETS tidegate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# systemd's unit directory for packages (Debian 12 is usr-merged: /usr/lib/systemd/system).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/tidegate.service
        DESTINATION lib/systemd/system)
# The example configuration the unit reads (a conffile of the package).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/tidegate.toml DESTINATION /etc/tidegate)
# Monitoring: the Grafana dashboard and provisioning, the Prometheus scrape config and
# alerting rules.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/grafana/dashboards ${PROJECT_SOURCE_DIR}/grafana/provisioning
        DESTINATION ${CMAKE_INSTALL_DATADIR}/tidegate/grafana)
install(FILES ${PROJECT_SOURCE_DIR}/grafana/prometheus.yml
              ${PROJECT_SOURCE_DIR}/grafana/tidegate-alerts.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/tidegate/prometheus)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/ARCHITECTURE.md
              ${PROJECT_SOURCE_DIR}/docs/PROTOCOL.md ${PROJECT_SOURCE_DIR}/docs/ADAPTIVE.md
              ${PROJECT_SOURCE_DIR}/docs/PERFORMANCE.md ${PROJECT_SOURCE_DIR}/docs/OPERATIONS.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Debian policy: the copyright file and a gzipped changelog in the doc directory.
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/changelog.gz
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/packaging/changelog > ${PROJECT_BINARY_DIR}/changelog.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/changelog VERBATIM)
add_custom_target(tg_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/changelog.gz)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright ${PROJECT_BINARY_DIR}/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tidegate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tidegate maintainers <maintainers@tidegate.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "WebSocket broadcast gateway for chat traffic")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "tidegate batches each room's messages over an adaptive window, encodes and\n"
  "compresses each batch once and writes the same bytes to every member; slow\n"
  "readers fall behind on their own cursor. Ships a chat page, Prometheus\n"
  "metrics, a Grafana dashboard, alerting rules and a systemd unit.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # tidegate_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)   # Depends: computed by dpkg-shlibdeps from the binary
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/conffiles)
set(CPACK_STRIP_FILES ON)
include(CPack)
