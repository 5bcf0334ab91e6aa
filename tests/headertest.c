/*
 * Body of the header self-containment test (libgit2 headertest). CMake generates one
 * translation unit per public header that includes the header twice (proving it needs
 * nothing included before it and that its include guard works), then this file.
 * Compiling with -std=c11 -pedantic -Wall -Wextra -Werror is the test.
 */
#ifndef RP_HEADERTEST_NAME
#    error "compile the generated headertest/ht_<name>.c units, not this file"
#endif

int main(void)
{
    return 0;
}
