# RpSanitizers.cmake: sanitizer builds (STYLE.md section 8).
# RP_SANITIZE=ON compiles and links everything with ASan + UBSan; RP_FUZZ=ON (clang only)
# instruments everything for libFuzzer, whose targets then link -fsanitize=fuzzer.

option(RP_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(RP_FUZZ "Build fuzz targets with libFuzzer (clang only)" OFF)

set(RP_SANITIZE_FLAGS
    -fsanitize=address,undefined
    -fno-sanitize-recover=all
    -fno-omit-frame-pointer
    -g
    -O1)

if(RP_SANITIZE)
    add_compile_options(${RP_SANITIZE_FLAGS})
    add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()

if(RP_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
        message(FATAL_ERROR "RP_FUZZ=ON needs clang (configure with CC=clang)")
    endif()
    # Instrument the library for coverage without pulling in libFuzzer's main();
    # the fuzz targets themselves add -fsanitize=fuzzer (see rp_add_fuzzer).
    set(RP_FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g -O1)
    add_compile_options(-fsanitize=fuzzer-no-link ${RP_FUZZ_FLAGS})
    add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
