# A Debian package of everything `cmake --install` installs:
#   cpack -G DEB --config build/CPackConfig.cmake   (or: cmake --build build --target package)
# /etc/fastfork.conf is a conffile; postinst builds the module with DKMS
# and creates the group fastfork; prerm runs `fastforkctl disable` and
# removes the DKMS module.  Included from the top-level CMakeLists.txt.
set(_ff_deb "${CMAKE_BINARY_DIR}/debian")
foreach(_ff_f conffiles postinst prerm)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/debian/${_ff_f}.in"
                 "${_ff_deb}/${_ff_f}" @ONLY)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fastfork)
set(CPACK_PACKAGE_VENDOR "fastfork")
set(CPACK_PACKAGE_CONTACT "fastfork maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.36), dkms")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "linux-headers-amd64")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "mokutil")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "libfastfork.so (a preloaded fork shim), fastfork.ko as DKMS sources,\nfastforkctl, and their configuration.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${_ff_deb}/conffiles;${_ff_deb}/postinst;${_ff_deb}/prerm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
