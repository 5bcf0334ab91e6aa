# RpWarnings.cmake: the warning set every rapporteur target is compiled with
# (git config.mak.dev plus STYLE.md section 9). rp_target_warnings(<target>) applies it;
# RP_WERROR (default ON) turns warnings into errors.

option(RP_WERROR "Treat compiler warnings as errors" ON)

set(RP_WARNING_FLAGS
    -Wall
    -Wextra
    -Wpedantic
    -Wshadow
    -Wstrict-prototypes
    -Wmissing-prototypes
    -Wold-style-definition
    -Wvla
    -Wwrite-strings
    -Wpointer-arith
    -Wformat=2
    -Wundef
    -Wcast-align)

if(RP_WERROR)
    list(APPEND RP_WARNING_FLAGS -Werror)
endif()

# Add the house warning set to <target>'s own sources (not to its dependents).
function(rp_target_warnings target)
    target_compile_options(${target} PRIVATE ${RP_WARNING_FLAGS})
endfunction()
