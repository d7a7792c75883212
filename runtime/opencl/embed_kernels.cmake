# Turns ops/*.cl and common.cl into one C++ file of string literals (cmake -P, at build time), so the
# library carries its OpenCL C and needs no files at run time.
#   -DOUT=<file.cpp> -DSOURCES=<a.cl;b.cl;...>
set(body "")
set(table "")
foreach(src ${SOURCES})
  get_filename_component(name ${src} NAME_WE)
  file(READ ${src} text)
  string(APPEND body "const char k_${name}[] = R\"tandem_cl(${text})tandem_cl\";\n")
  string(APPEND table "      {\"${name}\", k_${name}},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from runtime/opencl/{ops/*.cl,common.cl} by embed_kernels.cmake; do not edit.
#include <map>
#include <string>

namespace tandem::opencl {
namespace {
${body}}  // namespace

const char* embedded_source(const std::string& name) {
  static const std::map<std::string, const char*> sources = {
${table}  };
  const auto it = sources.find(name);
  return it == sources.end() ? nullptr : it->second;
}

}  // namespace tandem::opencl
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
